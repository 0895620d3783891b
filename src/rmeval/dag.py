"""What the workflow asks of a run's configuration, answered once per name.

``workflow/rules/common.smk`` composes the config with the user's overrides and builds one :class:`Plan`; the
rules' input, params, threads and resources call it. The rules own the paths (each pattern typed once, chained
through ``rules.<name>.output``); this module only decides which of them a job needs and fills their
``{shard}`` wildcard. Cheap to import (``rmeval.config`` imports hydra and omegaconf inside its functions): the
Snakefile imports it at every dry run.

Sharded outputs: a rule whose job may be split (score, compare, sample) ends its output's name with ``{shard}``:
empty for the whole job (``{rm}.parquet``) or ``/shard-<i>-of-<K>`` (``{rm}/shard-0-of-3.parquet``); a merge
rule joins the K shard files into the unsharded file (with K = 1 the one job writes it, and no merge runs).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rmeval.config import (ConfigError, available, available_rms, compose, compose_benchmark, fingerprint,
                           is_ensemble_target, is_pairwise_target, job_resources, needs_build, rm_node, rm_target,
                           sample_shards, score_shards, without_job_keys)

#: the ``{shard}`` wildcard: "" (the whole job) or "/shard-<i>-of-<K>"
SHARD_RE = r"(/shard-\d+-of-\d+)?"
_SHARD = re.compile(r"/shard-(\d+)-of-(\d+)")

#: the resources a job asks of Snakemake (what the SLURM executor plugin reads), from ``rmeval.config.job_resources``
RESOURCE_KEYS = ("mem_mb", "runtime", "gpu", "gpu_model", "slurm_partition", "slurm_extra")

#: RM kinds: one score per text, a comparisons table (pairwise judges), or a combination of other RMs' scores
POINTWISE, PAIRWISE, ENSEMBLE = "pointwise", "pairwise", "ensemble"
#: what an RM's evaluation reads: its scores or its comparisons
SCORES, COMPARISONS = "scores", "comparisons"


# ------------------------------------------------------------------------------------------- paths and arguments
def shard_suffix(index: int, count: int) -> str:
    """The ``{shard}`` value of shard ``index`` of ``count``: "" when there is one."""
    return "" if count == 1 else f"/shard-{index}-of-{count}"


def shard_files(pattern: str, count: int) -> list[str]:
    """An output pattern's files for ``count`` shards (its ``{shard}`` filled, its other wildcards left in)."""
    return [pattern.replace("{shard}", shard_suffix(i, count)) for i in range(count)]


def unsharded(pattern: str) -> str:
    """The pattern of the one file a sharded output's shards merge into (the job's own output when K = 1)."""
    return shard_files(pattern, 1)[0]


def shard_arg(suffix: str) -> str:
    """The entry point's ``++io.shard=<i> ++io.shards=<K>`` for a ``{shard}`` value; "" for the whole job."""
    m = _SHARD.fullmatch(suffix)
    return f"++io.shard={m[1]} ++io.shards={m[2]}" if m else ""


def shard_param(wildcards, output) -> str:
    """A sharded rule's ``shard`` param (:func:`shard_arg` of ``{shard}``). It takes ``output``, so Snakemake counts
    it as derived from the output path and leaves it out of the params rerun trigger (a shard is no config)."""
    return shard_arg(wildcards.shard)


def hydra_list(paths: Iterable[Any]) -> str:
    """Paths as one Hydra list value: ``[a,b,c]``."""
    return "[" + ",".join(str(p) for p in paths) + "]"


def io_arg(key: str, value: Any) -> str:
    """``++io.<key>=<value>`` (shell-quoted), or "" when there is no value (e.g. an empty named input)."""
    return f"++io.{key}={shlex.quote(str(value))}" if value else ""


def alternation(names: Iterable[str]) -> str:
    """A wildcard constraint matching exactly these names (none: a regex that matches nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


def python_command(deployment_methods: Iterable[Any], executable: str) -> str:
    """The interpreter jobs run: the one running Snakemake (the project's environment), so a job never picks up
    another ``python``; under ``--sdm conda``, the rule's conda environment's own."""
    return "python" if any("conda" in str(m).lower() for m in deployment_methods) else shlex.quote(executable)


def figure_outputs(figures: Iterable[Any], folder: str, report: Callable[..., Any]) -> dict[str, Any]:
    """A plots rule's outputs: each figure's PNG (through Snakemake's ``report`` flag: in the report, with its
    caption and category) and PDF, as ``<folder>/<stem>.png|.pdf`` (figures: ``rmeval.plots.figures``)."""
    outputs = {}
    for fig in figures:
        png = f"{folder}/{fig.stem}.png"
        outputs[f"{fig.stem}_png"] = report(png, caption=f"../report/{fig.caption}", category=fig.category)
        outputs[f"{fig.stem}_pdf"] = f"{folder}/{fig.stem}.pdf"
    return outputs


def untracked(value: str) -> Callable[..., str]:
    """A params function giving ``value`` that Snakemake's params rerun trigger ignores: a params function that
    takes ``input`` counts as derived from the input files, which are tracked themselves."""

    def param(wildcards, input):
        return value

    return param


# ------------------------------------------------------------------------------------------- the run
class Plan:
    """The run's composed config as the rules see it: the listed benchmarks and RMs, each name's config composed
    and validated once, and every decision an input or params function needs. ``cfg``: ``rmeval.config.compose(
    overrides)``; ``cores``: a local run's ``--cores`` (None on a cluster); ``python``: :func:`python_command`."""

    def __init__(self, cfg: Any, overrides: Sequence[str], cores: int | None = None, python: str = "python"):
        self.cfg = cfg
        self.overrides = list(overrides)
        self.cores = cores
        self.python = python
        self.benchmarks = [str(n) for n in cfg.benchmarks.names]
        # `--config benchmark=<name>` (one benchmark, as before benchmark lists existed) runs just that one,
        # unless a list is given too
        one = [o.split("=", 1)[1] for o in self.overrides if o.startswith("benchmark=")]
        if one and not any(o.startswith(("benchmarks=", "benchmarks.names=")) for o in self.overrides):
            self.benchmarks = [one[-1]]
        self.rms = [str(n) for n in cfg.rms.names]
        self.all_rms = available_rms()
        self._cache: dict[tuple, Any] = {}

    def _once(self, key: tuple, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def validate(self) -> None:
        """Compose every listed benchmark and RM, and every construction's prompts, policies and judge, so a typo
        fails the dry run with one line."""
        for name in self.benchmarks:
            self.benchmark(name)
            spec = self.construction(name)
            if spec is not None:
                self.group("prompts", spec["prompts"])
                for node in [self.group("judge", spec["judge"]), *(self.group("policy", p) for p in spec["policies"])]:
                    self._asks(node)
        for name in self.rms:
            self._asks(self.rm(name))
            if self.kind(name) == ENSEMBLE:
                self.members(name)

    # ----------------------------------------------------------------------- names
    def names_re(self, group: str) -> str:
        """The wildcard constraint of a config group's names (every YAML in ``conf/<group>/``)."""
        return alternation(n for n in available(group) if not (group == "benchmark" and n == "all"))

    def stage(self, module: str) -> Callable[..., str]:
        """The params function of a rule's command: ``<python> -m rmeval.stages.<module> <the user's overrides>``,
        left out of the params rerun trigger (:func:`untracked`): each rule's ``fp`` param hashes the config its
        output depends on, upstream jobs' included, so a changed override reruns exactly the affected jobs."""
        return untracked(" ".join([self.python, "-m", f"rmeval.stages.{module}", *map(shlex.quote, self.overrides)]))

    # ----------------------------------------------------------------------- configs
    def benchmark_config(self, name: str) -> Any:
        """``conf/benchmark/<name>.yaml`` with the user's overrides, validated."""
        return self._once(("benchmark_config", name), lambda: compose_benchmark(name, self.overrides))

    def benchmark(self, name: str) -> Any:
        """The benchmark object of ``conf/benchmark/<name>.yaml``."""
        from rmeval.benchmarks import build_benchmark

        return self._once(("benchmark", name), lambda: build_benchmark(self.benchmark_config(name)))

    def rm(self, name: str) -> Any:
        """One RM's validated node (the YAML itself unless an override touches ``rm.*``)."""
        return self._once(("rm", name), lambda: rm_node(self.cfg, name, self.overrides))

    def group(self, group: str, name: str) -> Any:
        """``conf/<group>/<name>.yaml`` (a prompt set, policy or judge) with the user's overrides, validated."""
        return self._once((group, name), lambda: compose([*self.overrides, f"{group}={name}"])[group])

    # ----------------------------------------------------------------------- RMs
    def kind(self, rm: str) -> str:
        """POINTWISE, PAIRWISE or ENSEMBLE, from the YAML's ``_target_`` alone (no composition), so the DAG stays
        fast however many RM YAMLs ``conf/rm/`` holds."""

        def read() -> str:
            target = rm_target(rm)
            return PAIRWISE if is_pairwise_target(target) else ENSEMBLE if is_ensemble_target(target) else POINTWISE

        return self._once(("kind", rm), read)

    def artifact(self, rm: str) -> str:
        """What the RM's evaluation reads: COMPARISONS for a pairwise judge, else SCORES."""
        return COMPARISONS if self.kind(rm) == PAIRWISE else SCORES

    def kind_re(self, kind: str) -> str:
        """The constraint of the ``{rm}`` wildcard for RMs of one kind (every RM YAML)."""
        return alternation(n for n in self.all_rms if self.kind(n) == kind)

    def listed(self, artifact: str) -> list[str]:
        """The listed RMs whose evaluation reads ``artifact``."""
        return [n for n in self.rms if self.artifact(n) == artifact]

    def rm_shards(self, rm: str) -> int:
        """How many score (or compare) jobs one (benchmark, RM) is split into."""
        return score_shards(self.rm(rm))

    def sharded_re(self, kind: str) -> str:
        """The listed RMs of one kind whose jobs are split (a merge rule joins their shards)."""
        return alternation(n for n in self.rms if self.kind(n) == kind and self.rm_shards(n) > 1)

    def members(self, rm: str) -> list[str]:
        """An ensemble's member RMs; each must have per-text scores."""
        members = [str(m) for m in self.rm(rm).members]
        if judge := next((m for m in members if self.kind(m) == PAIRWISE), None):
            raise ConfigError(f"conf/rm/{rm}.yaml: field 'members': {judge} is a pairwise judge (no per-text scores)")
        return members

    def models(self, group: str, name: str) -> list[str]:
        """The RMs whose model folder a job of this RM, policy or judge needs first: the RM itself when its YAML
        has ``build:``; the ``requires_model`` of a policy or judge."""
        if group == "rm":
            return [name] if needs_build(self.rm(name)) else []
        needed = self.group(group, name).get("requires_model")
        return [str(needed)] if needed else []

    def downstream_args(self, rm: str, result: str, texts: Any, cache_dir: str) -> str:
        """The downstream job reads an RM's scores; a pairwise judge's job also runs knockout comparisons (its
        comparisons, the texts, its generation cache and the RM's config)."""
        if self.artifact(rm) == COMPARISONS:
            return f"++io.comparisons={result} ++io.texts={texts} ++io.cache_dir={cache_dir} rm={rm}"
        return f"++io.scores={result}"

    # ----------------------------------------------------------------------- benchmarks
    def has_downstream(self, name: str) -> bool:
        """Best-of-N, correlation and the full set of plots need per-response judge scores."""
        return bool(self.cfg.downstream.enabled) and self.benchmark(name).has_judge_scores

    @property
    def pool_benchmarks(self) -> list[str]:
        """The listed benchmarks with a downstream stage."""
        return [b for b in self.benchmarks if self.has_downstream(b)]

    def pool_re(self, pool: bool) -> str:
        """The ``{benchmark}`` constraint of the benchmarks with (``pool``) or without a downstream stage."""
        return alternation(b for b in available("benchmark") if b != "all" and (b in self.pool_benchmarks) == pool)

    def has_significance(self, name: str) -> bool:
        """Paired tests between RMs: when the benchmark supports them and more than one RM is listed."""
        return getattr(self.benchmark(name), "supports_significance", True) and len(self.rms) > 1

    def raw_input(self, name: str, made_by: Mapping[str, str]) -> str | list:
        """Where the data job reads a benchmark's raw files: the user's own copy (which must exist), nothing (the
        hub: the job reads it through ``datasets``), or the output of the rule that makes it, from ``made_by``
        (source kind -> that rule's output pattern)."""
        from rmeval.benchmarks.base import CONSTRUCTED, HUB, LOCAL

        bench = self.benchmark(name)
        source = bench.source()
        if source.kind == HUB:
            return []
        if source.kind == LOCAL:
            if source.path is None or not Path(source.path).exists():
                where = f"{source.path} does not exist" if source.path else "no local copy is set"
                raise ConfigError(f"conf/benchmark/{name}.yaml: field 'root': {where}: {bench.missing_source_hint()}")
            return source.path
        if source.kind not in made_by:
            raise ConfigError(f"conf/benchmark/{name}.yaml: source kind {source.kind!r}: no rule makes it "
                              f"(known: local, hub, {', '.join(made_by)})")
        fields = {"benchmark": name}
        if source.kind == CONSTRUCTED:
            fields["prompts"] = source.spec["prompts"]
        return made_by[source.kind].format(**fields)

    def construction(self, name: str) -> Mapping | None:
        """A constructed benchmark's ``construct:`` settings (prompt set, policies, judge, rules); else None."""
        from rmeval.benchmarks.base import CONSTRUCTED

        source = self.benchmark(name).source()
        return source.spec if source.kind == CONSTRUCTED else None

    def construction_for(self, prompts: str) -> Mapping:
        """The construction of the listed benchmark built on this prompt set."""
        for name in self.benchmarks:
            spec = self.construction(name)
            if spec is not None and spec["prompts"] == prompts:
                return spec
        raise ConfigError(f"conf/prompts/{prompts}.yaml: no listed benchmark (benchmarks.names={self.benchmarks}) "
                          "is constructed from it")

    def policy_shards(self, policy: str) -> int:
        """How many sample jobs one (prompt set, policy) is split into."""
        return sample_shards(self.group("policy", policy))

    def sharded_policies_re(self) -> str:
        """The policies of the listed constructions whose sampling is split (a merge rule joins their shards)."""
        policies = {p for b in self.benchmarks if self.construction(b) for p in self.construction(b)["policies"]}
        return alternation(sorted(p for p in policies if self.policy_shards(p) > 1))

    # ----------------------------------------------------------------------- fingerprints (params that rerun jobs)
    # A job's `fp` hashes every config its output is a function of: its own and, through the files it reads, each
    # upstream job's. So after a change, a job whose upstream job failed or was killed stays out of date (and asks
    # for that job again) instead of keeping the previous config's result.
    def _policy(self, prompts: str, policy: str) -> list:  # resources and shards change no sample
        builds = [self.rm(m).get("build") for m in self.models("policy", policy)]
        return [self.group("prompts", prompts), without_job_keys(self.group("policy", policy)), *builds]

    def _judged(self, prompts: str, judge: str) -> list:
        samples = [n for p in self.construction_for(prompts)["policies"] for n in self._policy(prompts, p)]
        return [*samples, self.group("judge", judge), *(self.rm(m).get("build") for m in self.models("judge", judge))]

    def _source(self, benchmark: str) -> list:
        spec = self.construction(benchmark)
        made = self._judged(spec["prompts"], spec["judge"]) if spec is not None else []
        return [self.benchmark(benchmark).source().spec, *made]

    def _data(self, benchmark: str) -> str:
        return self._once(("data_fp", benchmark),
                          lambda: fingerprint(self.benchmark_config(benchmark), *self._source(benchmark)))

    def _rm(self, rm: str) -> str:  # resources and shard count change no score; an ensemble's members do
        members = self.members(rm) if self.kind(rm) == ENSEMBLE else []
        return self._once(("rm_fp", rm), lambda: fingerprint(without_job_keys(self.rm(rm)), *map(self._rm, members)))

    def settings_fp(self, *sections: str) -> Callable[[Any], str]:
        """The ``fp`` of a job reading results: its config sections (e.g. ``metrics``) and the results it reads, of
        its ``{rm}`` (else every listed RM) on its ``{benchmark}`` (else on every listed benchmark)."""

        def fp(wildcards) -> str:
            benchmark, rm = getattr(wildcards, "benchmark", None), getattr(wildcards, "rm", None)
            data = map(self._data, [benchmark] if benchmark else self.benchmarks)
            return fingerprint(*(self.cfg[s] for s in sections), *data, *map(self._rm, [rm] if rm else self.rms))

        return fp

    def data_fp(self, wildcards) -> str:
        return self._data(wildcards.benchmark)

    def source_fp(self, wildcards) -> str:
        """The settings that make a benchmark's raw files (its download, fixture or construction)."""
        return fingerprint(*self._source(wildcards.benchmark))

    def rm_fp(self, wildcards) -> str:  # an RM's results on a benchmark: scores or comparisons, shards, merge
        return fingerprint(self._data(wildcards.benchmark), self._rm(wildcards.rm))

    def model_fp(self, wildcards) -> str:
        return fingerprint(self.rm(wildcards.model).get("build"))

    def prompts_fp(self, wildcards) -> str:
        return fingerprint(self.group("prompts", wildcards.prompts))

    def policy_fp(self, wildcards) -> str:
        return fingerprint(*self._policy(wildcards.prompts, wildcards.policy))

    def judge_fp(self, wildcards) -> str:
        return fingerprint(*self._judged(wildcards.prompts, wildcards.judge))

    # ----------------------------------------------------------------------- threads and resources
    def _job_node(self, job: str, wildcards) -> Any:
        if job == "downstream":  # a pairwise judge runs its knockout comparisons there; a pointwise RM reads scores
            return self.rm(wildcards.rm) if self.kind(wildcards.rm) == PAIRWISE else {}
        if job == "rm":
            return self.rm(wildcards.rm)
        return self.group(job, getattr(wildcards, job))

    def _asks(self, node: Any) -> dict[str, Any]:
        """What a job running this node asks for (``job_resources`` at the run's per-GPU memory)."""
        return job_resources(node, self.cores, self.cfg.gpu_memory_gb)

    def threads(self, job: str) -> Callable[[Any], int]:
        """A rule's ``threads:`` for jobs running an RM (``rm``), a ``policy``, a ``judge`` or the ``downstream``
        stage, from the YAML's ``resources:`` node (a local model claims all of a local run's cores)."""

        def threads(wildcards) -> int:
            return self._asks(self._job_node(job, wildcards))["threads"]

        return threads

    def asks(self, job: str) -> Callable[..., str]:
        """An untracked params function for a rule's message: what the job asks for ("1 GPU, 40,000 MB, 120 min"),
        so ``snakemake -n`` shows each job's GPUs and memory."""

        def text(wildcards, input) -> str:
            r = self._asks(self._job_node(job, wildcards))
            where = f"{r['gpu']} GPU" if r.get("gpu") else f"{r['threads']} CPU thread(s)"
            return f"{where}, {r['mem_mb']:,} MB, {r['runtime']} min"

        return text

    def resources(self, job: str) -> dict[str, Callable[[Any], Any]]:
        """A rule's ``resources:`` (one function per key of RESOURCE_KEYS; None: Snakemake drops it)."""

        def one(key: str) -> Callable[[Any], Any]:
            def value(wildcards):
                return self._asks(self._job_node(job, wildcards)).get(key)

            value.__name__ = f"{key}_of_job"
            return value

        return {key: one(key) for key in RESOURCE_KEYS}
