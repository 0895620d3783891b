"""Shared plumbing for the entry points: Hydra's main with the project's conf/, one-line errors, io paths."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from rmeval.config import ConfigError, find_conf_dir, validate
from rmeval.errors import RmevalError, one_line


def error_line(err: BaseException) -> str:
    """The one line an entry point prints for an expected error (whitespace, newlines included, collapsed)."""
    return "error: " + (one_line(err) or type(err).__name__)


def io_path(cfg: DictConfig, key: str) -> str:
    value = cfg.get("io", {}).get(key)
    if not value:
        raise ConfigError(f"io.{key} not given: Snakemake passes it (or add io.{key}=<path> on the command line)")
    return str(value)


def io_paths(cfg: DictConfig, key: str) -> list[str]:
    """A list of paths Snakemake passes as ``++io.<key>=[a,b]`` (one path also accepted)."""
    io_path(cfg, key)
    value = cfg.io[key]
    return [str(value)] if isinstance(value, str) else [str(p) for p in value]


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _run(fn: Callable[[DictConfig], None], cfg: DictConfig, validated: bool = False) -> None:
    signal.signal(signal.SIGTERM, _sigterm)  # Snakemake or a cluster stopping the job: caches flush, clients stop
    try:
        if not validated:
            validate(cfg)
        fn(cfg)
    except RmevalError as err:  # bad input or config: one line, exit 1; anything else is a bug (traceback)
        print(error_line(err), file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM turned into one by the scoring loop
        print(error_line(f"interrupted ({str(err) or 'Ctrl-C'}); caches keep what finished, a rerun resumes"), file=sys.stderr)
        sys.exit(130)


def _log_to_stdout() -> None:
    """What conf/'s ``hydra/job_logging: stdout`` sets up: INFO and above, message only, on stdout."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO)


def job_overrides() -> list[str]:
    """The user's overrides this job was started with (what Snakemake passes every job), without its ``io.*`` paths:
    what a job that composes other benchmarks' or RMs' configs (the run record, the plan, the cross-benchmark
    leaderboard) composes them with."""
    return [a for a in sys.argv[1:] if not a.lstrip("+").startswith("io.")]


def entry(fn: Callable[[DictConfig], None]) -> Callable[[], None]:
    """Wrap ``fn(cfg)`` as the entry point over the project's conf/.

    A command line of overrides only (what Snakemake runs) is composed with Hydra's compose API and validated once;
    a bad override fails with one line. Any flag (``--help``, ``--cfg job``, ``-m``, ...) goes to Hydra's full
    ``@hydra.main`` runner instead, with the same config. The compose path skips the runner's second composition
    and job setup: about half a second per job."""

    @hydra.main(config_path=str(find_conf_dir()), config_name="config", version_base="1.3")
    def _hydra_main(cfg: DictConfig) -> None:
        _run(fn, cfg)

    def main() -> None:
        overrides = sys.argv[1:]
        if any(arg.startswith("-") for arg in overrides):
            _hydra_main()
            return
        from rmeval.config import compose

        _log_to_stdout()
        try:
            cfg = compose(overrides)
        except ConfigError as err:
            print(error_line(err), file=sys.stderr)
            sys.exit(1)
        _run(fn, cfg, validated=True)

    return main
