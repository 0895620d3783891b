# Config loading and validation: compose conf/ with the user's overrides (validated against the settings
# dataclasses, rmeval.config), compose every listed benchmark, RM and construction (a typo fails the dry run with
# one line), and constrain the wildcards to known names. What the rules ask of the config: rmeval.dag.Plan (PLAN).
import os
import sys
import time
from pathlib import Path

from snakemake.exceptions import WorkflowError

from rmeval.config import compose, find_conf_dir, user_overrides
from rmeval.config.paths import published_path
from rmeval.dag import SHARD_RE, Plan, hydra_list, io_arg, python_command, shard_files, shard_param, unsharded
from rmeval.errors import RmevalError
from rmeval.runs import other_run_warning, run_dir, run_logs, run_name

# Entry points compose the same conf/ as this file, wherever the working directory (--directory) is.
os.environ.setdefault("RMEVAL_CONF_DIR", str(Path(workflow.basedir) / "conf"))
# Each rule names environment.yml (the pip route's mirror) as its conda env, used with --sdm conda.
CONDA_ENV = "../../environment.yml"

try:  # a local run's --cores (a job with a local model claims them all); on a cluster each job is its own machine
    _CORES = workflow.cores if workflow.local_exec else None
except Exception:  # no --cores (e.g. `snakemake --report`): nothing runs, any value will do
    _CORES = None
_SDM = getattr(getattr(workflow, "deployment_settings", None), "deployment_method", ()) or ()

try:
    # The user's Hydra overrides: every `--config key=value` (and every key of a --configfile), plus the raw list
    # in --config overrides='[a=1,b=2]'. A key that matches nothing fails the composition with one line.
    _OVERRIDES = user_overrides(config)
    PLAN = Plan(compose(_OVERRIDES), _OVERRIDES, cores=_CORES, python=python_command(_SDM, sys.executable))
    PLAN.validate()
except RmevalError as err:
    raise WorkflowError(str(err)) from None

# The run's summaries (leaderboards, paired tests, correlations, plots, report, its config.yaml) go under RUN_DIR;
# data, scores, metrics and best-of-N files are shared between runs (rmeval.runs).
RUN_NAME, RUN_DIR, RUN_LOGS = run_name(PLAN.cfg), run_dir(PLAN.cfg), run_logs(PLAN.cfg)
if _warning := other_run_warning(PLAN.cfg, benchmarks=PLAN.benchmarks, rms=PLAN.rms):
    print(_warning, file=sys.stderr)


wildcard_constraints:
    benchmark=PLAN.names_re("benchmark"),
    prompts=PLAN.names_re("prompts"),
    policy=PLAN.names_re("policy"),
    judge=PLAN.names_re("judge"),
    rm=PLAN.names_re("rm"),
    shard=SHARD_RE,


def rebuilt_if_missing(rule: str):
    """An input function giving each job of ``rule`` a stamp, ``results/.missing/<its first output>.stamp``, that is
    rewritten (new content and mtime) whenever one of the job's outputs is missing as the DAG is built. Snakemake
    leaves a missing intermediate unbuilt while the files made from it exist (only a target, or a job that must run,
    asks for it), so `snakemake <a file that reads it>` would call that file up to date; a stamp newer than those
    files is an updated input of the job, so the job runs, then whatever reads its output. Once it has run, its
    outputs are newer than the stamp. A stamp created next to existing outputs gets mtime 0 (nothing to redo)."""

    def stamp(wildcards) -> str:
        outputs = [expand(pattern, **dict(wildcards.items()))[0] for pattern in getattr(rules, rule).output]
        path = Path("results/.missing", f"{Path(outputs[0]).relative_to('results')}.stamp")
        missing = [out for out in outputs if not os.path.exists(out)]
        if missing or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{time.time_ns()} missing: {' '.join(missing)}\n" if missing else "")
            if not missing:
                os.utime(path, (0, 0))
        return str(path)

    return stamp


def intermediates():
    """Every file under results/ that the results of `all` are made from: the constructions, data, scores and
    comparisons (shards and ensemble members too), metrics and best-of-N files. As inputs of `all`, a missing one is
    rebuilt, then whatever reads it, where Snakemake alone would call its readers up to date (a run that targets
    one file gets the same from rebuilt_if_missing). (Each rule's `fp` param does the rest: a file whose inputs'
    configs changed is rebuilt, even when their job failed or was killed.)"""
    rms, files = list(PLAN.rms), []
    for rm in rms:  # an ensemble's members, however deep
        rms += [m for m in (PLAN.members(rm) if PLAN.kind(rm) == "ensemble" else []) if m not in rms]
    for benchmark in PLAN.benchmarks:
        spec = PLAN.construction(benchmark)
        if spec is not None:
            prompts = spec["prompts"]
            files += expand(rules.construct_prompts.output, prompts=prompts)
            for policy in spec["policies"]:
                sample = rules.sample.output[0]
                sharded = [*shard_files(sample, PLAN.policy_shards(policy)), unsharded(sample)]
                files += expand(sharded, prompts=prompts, policy=policy)
            files += expand(rules.judge.output, prompts=prompts, judge=spec["judge"])
            files += expand(rules.build_sets.output, prompts=prompts, benchmark=benchmark)
        files += expand(rules.data.output, benchmark=benchmark)
        for rm in rms:
            result = {"scores": rules.score.output[0], "comparisons": rules.compare.output[0]}[PLAN.artifact(rm)]
            shards = 1 if PLAN.kind(rm) == "ensemble" else PLAN.rm_shards(rm)
            files += expand([*shard_files(result, shards), unsharded(result)], benchmark=benchmark, rm=rm)
        files += expand(rules.metrics.output, benchmark=benchmark, rm=PLAN.rms)
        if benchmark in PLAN.pool_benchmarks:
            files += expand(rules.downstream.output, benchmark=benchmark, rm=PLAN.rms)
    return sorted(set(files))


def published_files(benchmarks):
    """The published-numbers files the benchmarks' configs name (conf/published/*.yaml): inputs of the leaderboards,
    so an edit of one reruns them."""
    found = (published_path(PLAN.benchmark_config(b).get("published"), find_conf_dir()) for b in benchmarks)
    return [str(f[0]) for f in found if f]
