"""Runs: a name that keeps one configuration's summaries apart from another's.

Every run has a name (``run`` in config.yaml; each experiment sets its own; ``--config run=<name>``). What depends
on the run's list of RMs and benchmarks, its summaries, goes under ``results/runs/<run>/``: the leaderboards, the
paired tests, the correlations, the plots, the report and ``config.yaml`` (the resolved config that made them).
What depends on one (benchmark, RM) alone stays shared between runs, so a second run reuses the first's work: the
data tables, the per-text score caches, the scores and comparisons, the metrics and best-of-N files (each keyed
by the config it depends on: a run that changes their settings rebuilds them).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RUNS = "results/runs"
RECORD = "config.yaml"  # the run's resolved config, in its folder
SUMMARY_LOGS = "logs/runs"


def run_name(cfg: Any) -> str:
    """The run's name from the composed config (validated by ``rmeval.config``)."""
    return str(cfg.get("run") or "main")


def run_dir(cfg: Any) -> str:
    """``results/runs/<run>``: where the run's summaries go."""
    return f"{RUNS}/{run_name(cfg)}"


def run_logs(cfg: Any) -> str:
    """``logs/runs/<run>``: the logs of the run's summary jobs."""
    return f"{SUMMARY_LOGS}/{run_name(cfg)}"


def run_settings(cfg: Any) -> dict:
    """The composed config as a plain dict without what Snakemake passes per job (``io``) or Hydra's own node."""
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    for key in ("io", "hydra", "rm", "benchmark", "prompts", "policy", "judge"):  # per-job selections, not the run's
        plain.pop(key, None)
    return plain


def run_record(cfg: Any, overrides: Sequence[str], benchmarks: dict[str, Any], rms: dict[str, Any]) -> dict:
    """What ``results/runs/<run>/config.yaml`` holds: the overrides typed, the run's settings, and each listed
    benchmark's and RM's resolved node (its YAML with the overrides applied). No secret ever reaches a config:
    API keys are read from the environment variable a YAML names, and only the name is recorded."""
    from omegaconf import OmegaConf

    def plain(node: Any) -> Any:
        return OmegaConf.to_container(node, resolve=True, enum_to_str=True) if OmegaConf.is_config(node) else node

    settings = run_settings(cfg)
    settings["benchmarks"] = {**settings.get("benchmarks", {}), "names": list(benchmarks)}  # the run's, as the DAG has them
    settings["rms"] = {**settings.get("rms", {}), "names": list(rms)}
    return {"run": run_name(cfg), "overrides": list(overrides), "settings": settings,
            "benchmarks": {name: plain(node) for name, node in benchmarks.items()},
            "rms": {name: plain(node) for name, node in rms.items()}}


def other_run_warning(cfg: Any, root: str | Path = ".", benchmarks: Sequence[str] | None = None,
                      rms: Sequence[str] | None = None) -> str | None:
    """One line when ``results/runs/<run>/config.yaml`` records other RMs or benchmarks than this run lists: the
    run's summaries are about to be replaced by another configuration's (pass ``--config run=<name>`` to keep both)."""
    import yaml

    path = Path(root, run_dir(cfg), RECORD)
    try:
        old = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("settings") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    before = {k: list((old.get(k) or {}).get("names") or []) for k in ("rms", "benchmarks")}
    now = {"rms": [str(n) for n in (rms if rms is not None else cfg.rms.names)],
           "benchmarks": [str(n) for n in (benchmarks if benchmarks is not None else cfg.benchmarks.names)]}
    changed = [f"{k} {before[k]} -> {now[k]}" for k in ("rms", "benchmarks") if before[k] != now[k]]
    if not changed:
        return None
    return (f"run {run_name(cfg)!r}: {path} was made with other {' and '.join(changed)}; the summaries this run builds "
            f"replace that run's under {run_dir(cfg)}/ (pass --config run=<another name> to keep both)")
