# Config loading and validation: compose conf/ with the user's overrides (validated against the settings
# dataclasses, rmeval.config), compose every listed benchmark, RM and construction (a typo fails the dry run with
# one line), and constrain the wildcards to known names. What the rules ask of the config: rmeval.dag.Plan (PLAN).
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from rmeval.config import compose, user_overrides
from rmeval.dag import SHARD_RE, Plan, hydra_list, io_arg, python_command, shard_files, shard_param, unsharded
from rmeval.errors import RmevalError

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


wildcard_constraints:
    benchmark=PLAN.names_re("benchmark"),
    prompts=PLAN.names_re("prompts"),
    policy=PLAN.names_re("policy"),
    judge=PLAN.names_re("judge"),
    rm=PLAN.names_re("rm"),
    shard=SHARD_RE,
