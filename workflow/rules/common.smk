# Config composition, helpers and input functions. Rules themselves hold no logic.
import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from rmeval.config import (
    PAIRWISE_RM_TARGETS,
    ConfigError,
    available,
    available_rms,
    benchmark_root,
    compose,
    compose_rm,
    fingerprint,
    split_overrides,
)

# Entry points compose the same conf/ as this file, wherever the working directory (--directory) is.
os.environ.setdefault("RMEVAL_CONF_DIR", str(Path(workflow.basedir) / "conf"))

# The user's Hydra overrides: --config overrides='[a=1,b=2]' (a string or a YAML list).
OVERRIDES = split_overrides(config.get("overrides"))
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

BENCHMARK = str(CFG.benchmark.name)
RMS = [str(n) for n in CFG.rms.names]
ALL_RMS = available_rms()
try:
    _CORES = workflow.cores
except Exception:  # no --cores (e.g. `snakemake --report`): nothing runs, any value will do
    _CORES = None
SCORE_THREADS = max(1, min(_CORES or os.cpu_count() or 1, os.cpu_count() or 1))
_RM_CFGS = {}


wildcard_constraints:
    benchmark=re.escape(BENCHMARK),
    prompts="|".join(re.escape(n) for n in available("prompts")),
    policy="|".join(re.escape(n) for n in available("policy")),
    judge="|".join(re.escape(n) for n in available("judge")),
    rm="|".join(re.escape(n) for n in ALL_RMS),


def rm_config(name):
    """The composed config of one RM (with the user's overrides), validated; cached per name."""
    if name not in _RM_CFGS:
        try:
            _RM_CFGS[name] = compose_rm(name, OVERRIDES).rm
        except ConfigError as err:
            raise WorkflowError(str(err))
    return _RM_CFGS[name]


# Validate every listed RM at DAG build, so a typo fails the dry run.
for _name in RMS:
    rm_config(_name)



def is_pairwise(name):
    """Pairwise generative judges write comparisons, not scores (DESIGN.md)."""
    return rm_config(name).get("_target_") in PAIRWISE_RM_TARGETS


def _alternation(names):
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


POINTWISE_RE = _alternation([n for n in ALL_RMS if not is_pairwise(n)])
PAIRWISE_RE = _alternation([n for n in ALL_RMS if is_pairwise(n)])
# Pointwise RMs pick their best-of-N candidate by score; pairwise judges by a knockout (more judge calls).
DOWNSTREAM_RMS = list(RMS)


def leaderboard_targets():
    targets = [f"results/leaderboard/{BENCHMARK}.csv", f"results/leaderboard/{BENCHMARK}.md"]
    if CFG.downstream.enabled and CFG.benchmark.get("judge_scores", True):
        targets += [f"results/correlation/{BENCHMARK}.csv"]
        targets += [f"results/plots/{BENCHMARK}/{name}.png" for name in PLOT_NAMES]
    return targets


def raw_benchmark_input(wildcards):
    """Where the data stage reads the raw benchmark: a generated fixture, a configured folder or a download."""
    root = benchmark_root(CFG)
    bench = CFG.benchmark
    if bench.get("construct") is not None:
        return root
    if bench.get("fixture") is None and bench.get("root") and not Path(root).exists():
        raise WorkflowError(
            f"benchmark.root={root} does not exist: point benchmark.root (for rmb: RMB_ROOT) at a local copy of "
            f"{bench.name}" + (", or unset it to download the release" if bench.get("download") else "")
        )
    if bench.get("fixture") is None and not bench.get("root") and not bench.get("download"):
        raise WorkflowError(f"benchmark {bench.name}: set benchmark.root to a local copy (the hub is not used by the DAG)")
    return root


def data_fp(wildcards):
    return fingerprint(CFG.benchmark)


def fixture_fp(wildcards):
    return fingerprint(CFG.benchmark.get("fixture"))


def download_fp(wildcards):
    return fingerprint(CFG.benchmark.get("download"))


def score_inputs(wildcards):
    inputs = {"texts": f"results/data/{wildcards.benchmark}/texts.parquet"}
    if rm_config(wildcards.rm).get("build") is not None:
        inputs["model"] = f"resources/models/{wildcards.rm}"
    return inputs


def compare_inputs(wildcards):
    return {"items_file": f"results/data/{wildcards.benchmark}/items.parquet", **score_inputs(wildcards)}


def score_fp(wildcards):
    return fingerprint(rm_config(wildcards.rm))


def model_fp(wildcards):
    return fingerprint(rm_config(wildcards.model).get("build"))


def metrics_fp(wildcards):
    return fingerprint(CFG.metrics)


def leaderboard_inputs(wildcards):
    return [f"results/metrics/{wildcards.benchmark}/{rm}.json" for rm in RMS]


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
    }
    if is_pairwise(wildcards.rm):
        inputs["result"] = f"results/scores/{wildcards.benchmark}/{wildcards.rm}.comparisons.parquet"
    else:
        inputs["result"] = f"results/scores/{wildcards.benchmark}/{wildcards.rm}.parquet"
    return inputs


def downstream_inputs_for(wildcards):
    inputs = metrics_inputs(wildcards)
    inputs.pop("report_file")
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


def metrics_list_override(wildcards, input):
    return hydra_list(input.metrics)


def downstream_list_override(wildcards, input):
    return hydra_list(input.downstream)


PLOT_NAMES = [
    "leaderboard", "scenario_heatmap", "pairwise_vs_bon", "accuracy_by_gap",
    "bon_curves", "correlation_scatter", "correlation_heatmap",
]


def plot_outputs():
    """Every plot's PNG (in the Snakemake report, with its caption) and PDF."""
    outputs = {}
    for name in PLOT_NAMES:
        outputs[f"{name}_png"] = report(
            f"results/plots/{{benchmark}}/{name}.png",
            caption=f"../report/{name}.rst",
            category="Downstream" if name in ("bon_curves", "correlation_scatter", "correlation_heatmap") else "Benchmark",
        )
        outputs[f"{name}_pdf"] = f"results/plots/{{benchmark}}/{name}.pdf"
    return outputs


# ------------------------------------------------------------------ construction (benchmark.construct)
CONSTRUCT = CFG.benchmark.get("construct")
_GROUP_CFGS = {}


def group_config(group, name):
    """conf/<group>/<name>.yaml composed with the user's overrides and validated."""
    if (group, name) not in _GROUP_CFGS:
        try:
            _GROUP_CFGS[(group, name)] = compose([*OVERRIDES, f"{group}={name}"])[group]
        except ConfigError as err:
            raise WorkflowError(str(err))
    return _GROUP_CFGS[(group, name)]


if CONSTRUCT is not None:  # validate the construction config at DAG build
    group_config("prompts", CONSTRUCT.prompts)
    group_config("judge", CONSTRUCT.judge)
    for _p in CONSTRUCT.policies:
        group_config("policy", _p)


def _model_input(group, name):
    needed = group_config(group, name).get("requires_model")
    return {"model": f"resources/models/{needed}"} if needed else {}


def prompts_fp(wildcards):
    return fingerprint(group_config("prompts", wildcards.prompts))


def sample_inputs(wildcards):
    return {"prompts_file": f"results/construct/{wildcards.prompts}/prompts.parquet", **_model_input("policy", wildcards.policy)}


def policy_fp(wildcards):
    return fingerprint(group_config("policy", wildcards.policy))


def responses_for(prompts):
    return [f"results/construct/{prompts}/responses/{p}.parquet" for p in CONSTRUCT.policies]


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
        "judgments": f"results/construct/{wildcards.prompts}/judgments/{CONSTRUCT.judge}.parquet",
    }


def build_fp(wildcards):
    return fingerprint(CONSTRUCT)
