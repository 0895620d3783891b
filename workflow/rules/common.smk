# Config composition, helpers and input functions. Rules themselves hold no logic.
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from rmeval.config import (
    ENSEMBLE_RM_TARGETS,
    PAIRWISE_RM_TARGETS,
    ConfigError,
    available,
    available_rms,
    compose,
    compose_benchmark,
    rm_node,
    fingerprint,
    job_resources,
    rm_target,
    sample_shards,
    score_shards,
    user_overrides,
    without_job_keys,
)

# Entry points compose the same conf/ as this file, wherever the working directory (--directory) is.
os.environ.setdefault("RMEVAL_CONF_DIR", str(Path(workflow.basedir) / "conf"))

# The user's Hydra overrides: every `--config key=value` (and every key of a --configfile), plus the raw list in
# --config overrides='[a=1,b=2]'. A key that matches nothing fails the composition below with one line.
OVERRIDES = user_overrides(config)
# Handed to every entry point verbatim. It is a global rather than a param on purpose: a param would rerun
# every job when any override changes; the per-rule `fp` params below rerun exactly the affected ones.
OVERRIDE_ARGS = " ".join(shlex.quote(o) for o in OVERRIDES)
# The interpreter that runs Snakemake (the project's environment), so jobs never pick up another `python`;
# under --sdm conda, the rule's conda environment's own python.
_SDM = {str(m).lower() for m in getattr(getattr(workflow, "deployment_settings", None), "deployment_method", ()) or ()}
PY = "python" if any("conda" in m for m in _SDM) else shlex.quote(sys.executable)
# `snakemake --lint` flags PY and OVERRIDE_ARGS as "variables from outside of the rule": both are deliberate
# (see above); every knob that changes a job's result is tracked through that rule's `fp` param instead.
# Each rule names environment.yml (the pip route's mirror) as its conda env, used with --sdm conda.
CONDA_ENV = "../../environment.yml"

try:
    CFG = compose(OVERRIDES)
except ConfigError as err:
    raise WorkflowError(str(err))

BENCHMARKS = [str(n) for n in CFG.benchmarks.names]
# `--config benchmark=<name>` (one benchmark, as before benchmark lists existed) runs just that benchmark,
# unless a list is given too.
_ONE = [o.split("=", 1)[1] for o in OVERRIDES if o.startswith("benchmark=")]
if _ONE and not any(o.startswith(("benchmarks=", "benchmarks.names=")) for o in OVERRIDES):
    BENCHMARKS = [_ONE[-1]]
ALL_BENCHMARKS = available("benchmark")
RMS = [str(n) for n in CFG.rms.names]
ALL_RMS = available_rms()
try:  # a local run's --cores (a job with a local model claims them all); on a cluster each job is its own machine
    _CORES = workflow.cores if workflow.local_exec else None
except Exception:  # no --cores (e.g. `snakemake --report`): nothing runs, any value will do
    _CORES = None
_RM_CFGS = {}
_BENCH = {}
_BENCH_CFGS = {}


wildcard_constraints:
    benchmark="|".join(re.escape(n) for n in ALL_BENCHMARKS if n != "all"),
    prompts="|".join(re.escape(n) for n in available("prompts")),
    policy="|".join(re.escape(n) for n in available("policy")),
    judge="|".join(re.escape(n) for n in available("judge")),
    rm="|".join(re.escape(n) for n in ALL_RMS),


def bench_config(name):
    """conf/benchmark/<name>.yaml composed with the user's overrides, validated; cached."""
    if name not in _BENCH_CFGS:
        try:
            _BENCH_CFGS[name] = compose_benchmark(name, OVERRIDES)
        except ConfigError as err:
            raise WorkflowError(str(err))
    return _BENCH_CFGS[name]


def bench(name):
    """The benchmark object of conf/benchmark/<name>.yaml (the user's overrides applied), validated; cached."""
    if name not in _BENCH:
        try:
            from rmeval.benchmarks import build_benchmark

            _BENCH[name] = build_benchmark(bench_config(name))
        except ConfigError as err:
            raise WorkflowError(str(err))
    return _BENCH[name]


# Validate every listed benchmark at DAG build, so a typo fails the dry run.
for _name in BENCHMARKS:
    bench(_name)


def has_downstream(name):
    """Best-of-N, correlation and the full set of plots need per-response judge scores."""
    return bool(CFG.downstream.enabled) and bench(name).has_judge_scores


POOL_BENCHMARKS = [b for b in BENCHMARKS if has_downstream(b)]


def rm_config(name):
    """The composed config of one RM (with the user's overrides), validated; cached per name."""
    if name not in _RM_CFGS:
        try:
            _RM_CFGS[name] = rm_node(CFG, name, OVERRIDES)  # the YAML itself unless an override touches rm.*
        except ConfigError as err:
            raise WorkflowError(str(err))
    return _RM_CFGS[name]


# Validate every listed RM at DAG build, so a typo fails the dry run.
for _name in RMS:
    rm_config(_name)



_TARGETS = {}


def rm_family(name):
    """An RM's `_target_`, read once per name straight from its YAML (no composition)."""
    if name not in _TARGETS:
        try:
            _TARGETS[name] = rm_target(name)
        except ConfigError as err:
            raise WorkflowError(str(err))
    return _TARGETS[name]


def is_pairwise(name):
    """Pairwise generative judges write comparisons, not scores (DESIGN.md). Read from the YAML's _target_ (no
    composition), so the DAG stays fast however many RM YAMLs conf/rm/ holds."""
    return rm_family(name) in PAIRWISE_RM_TARGETS


def _alternation(names):
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


def is_ensemble(name):
    """Ensembles combine other RMs' score files (rmeval.stages.ensemble): no model, no score job of their own."""
    return rm_family(name) in ENSEMBLE_RM_TARGETS


POINTWISE_RE = _alternation([n for n in ALL_RMS if not is_pairwise(n) and not is_ensemble(n)])
PAIRWISE_RE = _alternation([n for n in ALL_RMS if is_pairwise(n)])
ENSEMBLE_RE = _alternation([n for n in ALL_RMS if is_ensemble(n)])


def ensemble_inputs(wildcards):
    members = [str(m) for m in rm_config(wildcards.rm).members]
    bad = [m for m in members if is_pairwise(m)]
    if bad:
        raise WorkflowError(f"conf/rm/{wildcards.rm}.yaml: field 'members': {bad[0]} is a pairwise judge (no per-text scores)")
    return {"texts": f"results/data/{wildcards.benchmark}/texts.parquet",
            "members": [f"results/scores/{wildcards.benchmark}/{m}.parquet" for m in members]}


def members_override(wildcards, input):
    return hydra_list(input.members)


def result_file(benchmark, rm):
    if is_pairwise(rm):
        return f"results/scores/{benchmark}/{rm}.comparisons.parquet"
    return f"results/scores/{benchmark}/{rm}.parquet"


def has_significance(name):
    return getattr(bench(name), "supports_significance", True)


def significance_inputs(wildcards):
    return {
        "items_file": f"results/data/{wildcards.benchmark}/items.parquet",
        "scores": [result_file(wildcards.benchmark, rm) for rm in RMS if not is_pairwise(rm)],
        "comparisons": [result_file(wildcards.benchmark, rm) for rm in RMS if is_pairwise(rm)],
    }


def scores_override(wildcards, input):
    return hydra_list(input.scores)


def comparisons_override(wildcards, input):
    return hydra_list(input.comparisons)


def significance_arg(wildcards, input):
    return f"++io.significance={input.significance}" if "significance" in input.keys() else ""
# Pointwise RMs pick their best-of-N candidate by score; pairwise judges by a knockout (more judge calls).
DOWNSTREAM_RMS = list(RMS)
METRICS_ONLY_PLOTS = ["leaderboard", "scenario_heatmap"]


def benchmark_targets(name):
    targets = [f"results/leaderboard/{name}.csv", f"results/leaderboard/{name}.md"]
    if has_significance(name) and len(RMS) > 1:
        targets += [f"results/significance/{name}.csv"]
    if has_downstream(name):
        targets += [f"results/correlation/{name}.csv"]
        targets += [f"results/plots/{name}/{plot}.png" for plot in PLOT_NAMES]
    else:
        targets += [f"results/plots/{name}/{plot}.png" for plot in METRICS_ONLY_PLOTS]
    return targets


def all_targets():
    """rule all: every configured benchmark's results, then the cross-benchmark leaderboard and correlation."""
    targets = [t for name in BENCHMARKS for t in benchmark_targets(name)]
    targets += ["results/leaderboard/all.csv", "results/leaderboard/all.md"]
    if POOL_BENCHMARKS:
        targets += ["results/correlation/all.csv", "results/plots/all/correlation_heatmap.png"]
    return targets


def raw_benchmark_input(wildcards):
    """Where the data stage reads the raw benchmark: a generated fixture, a constructed set, a download, the
    user's own folder (which must exist), or nothing (the hub, read by the job through `datasets`)."""
    b = bench(wildcards.benchmark)
    root = b.source()
    if root is None:
        return []
    if b.made_by is None and not Path(root).exists():
        raise WorkflowError(f"benchmark {b.name}: {root} does not exist: {b.missing_source_hint()}")
    return root


def raw_root_arg(wildcards, input):
    root = bench(wildcards.benchmark).source()
    return f"++io.root={shlex.quote(str(root))}" if root is not None else ""


def data_fp(wildcards):
    return fingerprint(bench_config(wildcards.benchmark))


def fixture_fp(wildcards):
    return fingerprint(getattr(bench(wildcards.benchmark), "fixture", None))


def download_fp(wildcards):
    return fingerprint(getattr(bench(wildcards.benchmark), "download", None))


def score_inputs(wildcards):
    inputs = {"texts": f"results/data/{wildcards.benchmark}/texts.parquet"}
    if rm_config(wildcards.rm).get("build") is not None:
        inputs["model"] = f"resources/models/{wildcards.rm}"
    return inputs


def compare_inputs(wildcards):
    return {"items_file": f"results/data/{wildcards.benchmark}/items.parquet", **score_inputs(wildcards)}


def score_fp(wildcards):
    return fingerprint(without_job_keys(rm_config(wildcards.rm)))  # resources and shard count change no score


# ------------------------------------------------------------------ job resources and score shards
# Every rule that runs a model takes `threads:` and `resources:` (mem_mb, runtime, gpu, gpu_model, slurm_partition,
# slurm_extra: what the SLURM executor plugin reads) from the RM, policy or judge YAML's `resources:` node
# (rmeval.config.job_resources). A job with a local model claims all of Snakemake's cores, so `--cores 8` on a
# 2-core machine runs one at a time.
RESOURCE_KEYS = ("mem_mb", "runtime", "gpu", "gpu_model", "slurm_partition", "slurm_extra")


def _resource_functions(node_of):
    """{resource: function of the job's wildcards} for a rule's `resources: **...` (None: Snakemake drops it)."""

    def one(key):
        def value(wildcards):
            return job_resources(node_of(wildcards), _CORES).get(key)

        value.__name__ = f"{key}_of_job"
        return value

    return {key: one(key) for key in RESOURCE_KEYS}


def _threads_function(node_of):
    def threads(wildcards):
        return job_resources(node_of(wildcards), _CORES)["threads"]

    return threads


def _rm_node(wildcards):
    return rm_config(wildcards.rm)


def _downstream_node(wildcards):
    """A pairwise judge runs its knockout comparisons in the downstream job; a pointwise RM only reads scores."""
    return rm_config(wildcards.rm) if is_pairwise(wildcards.rm) else {}  # {}: the defaults, one thread, no GPU


def _policy_node(wildcards):
    return group_config("policy", wildcards.policy)


def _judge_node(wildcards):
    return group_config("judge", wildcards.judge)


RM_THREADS, RM_RESOURCES = _threads_function(_rm_node), _resource_functions(_rm_node)
DOWNSTREAM_THREADS, DOWNSTREAM_RESOURCES = _threads_function(_downstream_node), _resource_functions(_downstream_node)
POLICY_THREADS, POLICY_RESOURCES = _threads_function(_policy_node), _resource_functions(_policy_node)
JUDGE_THREADS, JUDGE_RESOURCES = _threads_function(_judge_node), _resource_functions(_judge_node)


def shard_count(rm):
    return score_shards(rm_config(rm))


# RMs whose score file is merged from shard files (score.shards > 1) and those scored by one job.
_SHARDED = [n for n in RMS if not is_pairwise(n) and not is_ensemble(n) and shard_count(n) > 1]
SHARDED_RE = _alternation(_SHARDED)
UNSHARDED_RE = _alternation([n for n in ALL_RMS if not is_pairwise(n) and not is_ensemble(n) and n not in _SHARDED])
# Pairwise judges whose comparisons are split over score.shards jobs (rmeval.sharding.shard_items) and merged.
_SHARDED_JUDGES = [n for n in RMS if is_pairwise(n) and shard_count(n) > 1]
SHARDED_JUDGE_RE = _alternation(_SHARDED_JUDGES)
UNSHARDED_JUDGE_RE = _alternation([n for n in ALL_RMS if is_pairwise(n) and n not in _SHARDED_JUDGES])


def shard_files(wildcards):
    k = shard_count(wildcards.rm)
    return [f"results/scores/{wildcards.benchmark}/{wildcards.rm}/shard-{i}-of-{k}.parquet" for i in range(k)]


def comparison_shard_files(wildcards):
    k = shard_count(wildcards.rm)
    return [f"results/scores/{wildcards.benchmark}/{wildcards.rm}/shard-{i}-of-{k}.comparisons.parquet" for i in range(k)]


def comparison_merge_inputs(wildcards):
    return {"items_file": f"results/data/{wildcards.benchmark}/items.parquet", "shards": comparison_shard_files(wildcards)}


def merge_inputs(wildcards):
    return {"texts": f"results/data/{wildcards.benchmark}/texts.parquet", "shards": shard_files(wildcards)}


def shards_override(wildcards, input):
    return hydra_list(input.shards)


def model_fp(wildcards):
    return fingerprint(rm_config(wildcards.model).get("build"))


def metrics_fp(wildcards):
    return fingerprint(CFG.metrics)


def leaderboard_inputs(wildcards):
    return [f"results/metrics/{wildcards.benchmark}/{rm}.json" for rm in RMS]


def leaderboard_table_inputs(wildcards):
    inputs = {"metrics": leaderboard_inputs(wildcards)}
    if has_significance(wildcards.benchmark) and len(RMS) > 1:
        inputs["significance"] = f"results/significance/{wildcards.benchmark}.csv"
    return inputs


def all_metrics_inputs(wildcards):
    return [f"results/metrics/{b}/{rm}.json" for b in BENCHMARKS for rm in RMS]


def all_downstream_inputs(wildcards):
    return [f"results/downstream/{b}/{rm}.json" for b in POOL_BENCHMARKS for rm in DOWNSTREAM_RMS]


def hydra_list(paths):
    """Paths as one Hydra list override value: [a,b,c]."""
    return "[" + ",".join(str(p) for p in paths) + "]"


def list_override(wildcards, input):
    return hydra_list(input)


def downstream_inputs(wildcards):
    return [f"results/downstream/{wildcards.benchmark}/{rm}.json" for rm in DOWNSTREAM_RMS]


def metrics_inputs(wildcards):
    inputs = {
        "items_file": f"results/data/{wildcards.benchmark}/items.parquet",
        "report_file": f"results/data/{wildcards.benchmark}/report.json",
        "texts": f"results/data/{wildcards.benchmark}/texts.parquet",
    }
    if is_pairwise(wildcards.rm):
        inputs["result"] = f"results/scores/{wildcards.benchmark}/{wildcards.rm}.comparisons.parquet"
    else:
        inputs["result"] = f"results/scores/{wildcards.benchmark}/{wildcards.rm}.parquet"
    return inputs


def downstream_inputs_for(wildcards):
    inputs = metrics_inputs(wildcards)
    inputs.pop("report_file")
    inputs.pop("texts")
    if is_pairwise(wildcards.rm):
        inputs.update(score_inputs(wildcards))  # texts (and the model folder) for the knockout comparisons
    return inputs


def downstream_args(wildcards, input):
    """The score file, or for a pairwise judge its comparisons plus texts and generation cache."""
    if is_pairwise(wildcards.rm):
        return (f"++io.comparisons={input.result} ++io.texts={input.texts}"
                f" ++io.cache_dir=results/cache/generations/{wildcards.rm} rm={wildcards.rm}")
    return f"++io.scores={input.result}"


def metrics_result_arg(wildcards, input):
    key = "comparisons" if is_pairwise(wildcards.rm) else "scores"
    return f"++io.{key}={input.result}"


def downstream_fp(wildcards):
    return fingerprint(CFG.downstream, CFG.metrics)


def correlation_fp(wildcards):
    return fingerprint(CFG.correlation)


def plot_inputs(wildcards):
    inputs = {
        "metrics": leaderboard_inputs(wildcards),
        "downstream": downstream_inputs(wildcards),
        "table": f"results/correlation/{wildcards.benchmark}.csv",
        "points": f"results/correlation/{wildcards.benchmark}.points.csv",
    }
    if has_significance(wildcards.benchmark) and len(RMS) > 1:
        inputs["significance"] = f"results/significance/{wildcards.benchmark}.csv"
    return inputs


def metrics_list_override(wildcards, input):
    return hydra_list(input.metrics)


def downstream_list_override(wildcards, input):
    return hydra_list(input.downstream)


PLOT_NAMES = [
    "leaderboard", "scenario_heatmap", "pairwise_vs_bon", "accuracy_by_gap",
    "bon_curves", "correlation_scatter", "correlation_heatmap", "significance_matrix", "position_bias",
]


POOL_RE = _alternation([b for b in ALL_BENCHMARKS if b != "all" and b in POOL_BENCHMARKS])
NO_POOL_RE = _alternation([b for b in ALL_BENCHMARKS if b != "all" and b not in POOL_BENCHMARKS])


def metrics_only_plot_outputs():
    outputs = {}
    for name in METRICS_ONLY_PLOTS:
        outputs[f"{name}_png"] = report(f"results/plots/{{benchmark}}/{name}.png", caption=f"../report/{name}.rst", category="Benchmark")
        outputs[f"{name}_pdf"] = f"results/plots/{{benchmark}}/{name}.pdf"
    return outputs


def plot_outputs():
    """Every plot's PNG (in the Snakemake report, with its caption) and PDF."""
    outputs = {}
    for name in PLOT_NAMES:
        outputs[f"{name}_png"] = report(
            f"results/plots/{{benchmark}}/{name}.png",
            caption=f"../report/{name}.rst",
            category="Downstream" if name in ("bon_curves", "correlation_scatter", "correlation_heatmap") else
            "Statistics" if name in ("significance_matrix", "position_bias") else "Benchmark",
        )
        outputs[f"{name}_pdf"] = f"results/plots/{{benchmark}}/{name}.pdf"
    return outputs


# ------------------------------------------------------------------ construction (benchmark.construct)
_GROUP_CFGS = {}


def group_config(group, name):
    """conf/<group>/<name>.yaml composed with the user's overrides and validated."""
    if (group, name) not in _GROUP_CFGS:
        try:
            _GROUP_CFGS[(group, name)] = compose([*OVERRIDES, f"{group}={name}"])[group]
        except ConfigError as err:
            raise WorkflowError(str(err))
    return _GROUP_CFGS[(group, name)]


def construct_of(benchmark):
    return getattr(bench(benchmark), "construct", None)


def construct_for_prompts(prompts):
    """The construction config of the configured benchmark built on this prompt set."""
    for name in BENCHMARKS:
        c = construct_of(name)
        if c is not None and c["prompts"] == prompts:
            return c
    raise WorkflowError(f"prompt set {prompts}: no configured benchmark (benchmarks.names={BENCHMARKS}) is constructed from it")


for _name in BENCHMARKS:  # validate every construction config at DAG build
    _c = construct_of(_name)
    if _c is not None:
        group_config("prompts", _c["prompts"])
        group_config("judge", _c["judge"])
        for _p in _c["policies"]:
            group_config("policy", _p)

# Policies whose sampling is split over sample.shards jobs (rmeval.sharding.shard_prompts) and merged.
_SHARDED_POLICIES = sorted({p for b in BENCHMARKS if construct_of(b) is not None for p in construct_of(b)["policies"]
                            if sample_shards(group_config("policy", p)) > 1})
SHARDED_POLICY_RE = _alternation(_SHARDED_POLICIES)
UNSHARDED_POLICY_RE = _alternation([p for p in available("policy") if p not in _SHARDED_POLICIES])


def _model_input(group, name):
    needed = group_config(group, name).get("requires_model")
    return {"model": f"resources/models/{needed}"} if needed else {}


def prompts_fp(wildcards):
    return fingerprint(group_config("prompts", wildcards.prompts))


def sample_inputs(wildcards):
    return {"prompts_file": f"results/construct/{wildcards.prompts}/prompts.parquet", **_model_input("policy", wildcards.policy)}


def policy_fp(wildcards):
    return fingerprint(without_job_keys(group_config("policy", wildcards.policy)))  # resources and shards change no sample


def sample_shard_files(wildcards):
    k = sample_shards(group_config("policy", wildcards.policy))
    return [f"results/construct/{wildcards.prompts}/responses/{wildcards.policy}/shard-{i}-of-{k}.parquet" for i in range(k)]


def sample_merge_inputs(wildcards):
    return {"prompts_file": f"results/construct/{wildcards.prompts}/prompts.parquet", "shards": sample_shard_files(wildcards)}


def responses_for(prompts):
    return [f"results/construct/{prompts}/responses/{p}.parquet" for p in construct_for_prompts(prompts)["policies"]]


def judge_inputs(wildcards):
    return {
        "prompts_file": f"results/construct/{wildcards.prompts}/prompts.parquet",
        "responses": responses_for(wildcards.prompts),
        **_model_input("judge", wildcards.judge),
    }


def judge_fp(wildcards):
    return fingerprint(group_config("judge", wildcards.judge))


def responses_override(wildcards, input):
    return hydra_list(input.responses)


def build_inputs(wildcards):
    return {
        "prompts_file": f"results/construct/{wildcards.prompts}/prompts.parquet",
        "responses": responses_for(wildcards.prompts),
        "judgments": f"results/construct/{wildcards.prompts}/judgments/{construct_of(wildcards.benchmark)['judge']}.parquet",
    }


def build_fp(wildcards):
    return fingerprint(construct_of(wildcards.benchmark))
