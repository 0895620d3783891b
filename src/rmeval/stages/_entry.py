"""Shared plumbing for the entry points: Hydra's main with the project's conf/, one-line errors, io paths."""

from __future__ import annotations

import logging
import re
import signal
import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from rmeval.config import ConfigError, find_conf_dir, validate

log = logging.getLogger("rmeval")

# Errors that mean "bad input or config": one line, exit 1, no traceback. Anything else is a bug: full traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ConfigError,)


def expected_errors() -> tuple[type[BaseException], ...]:
    from rmeval.data.download import DownloadError
    from rmeval.data.schema import DataError
    from rmeval.metrics import ScoreMissingError
    from rmeval.downstream import DownstreamError
    from rmeval.instantiate import BuildError
    from rmeval.llm.openai_compat import BackendConfigError
    from rmeval.llm.server import ServerError
    from rmeval.rms.classifier import RMLoadError
    from rmeval.rms.ensemble import EnsembleError
    from rmeval.rms.judge import NoValidOutputError
    from rmeval.rms.packaged import PackagedModelError
    from rmeval.benchmarks import BenchmarkError

    return (*EXPECTED_ERRORS, DataError, DownloadError, RMLoadError, ScoreMissingError, DownstreamError,
            BackendConfigError, PackagedModelError, BuildError, NoValidOutputError, EnsembleError, BenchmarkError, ServerError)


def error_line(err: BaseException) -> str:
    """The one line an entry point prints for an expected error (whitespace, newlines included, collapsed)."""
    return "error: " + (re.sub(r"\s+", " ", str(err)).strip() or type(err).__name__)


def io_path(cfg: DictConfig, key: str) -> str:
    value = cfg.get("io", {}).get(key)
    if not value:
        raise ConfigError(f"io.{key} not given: Snakemake passes it (or add io.{key}=<path> on the command line)")
    return str(value)


def _sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def entry(fn: Callable[[DictConfig], None]) -> Callable[[], None]:
    """Wrap ``fn(cfg)`` as a Hydra main over the project's conf/."""

    @hydra.main(config_path=str(find_conf_dir()), config_name="config", version_base="1.3")
    def _main(cfg: DictConfig) -> None:
        signal.signal(signal.SIGTERM, _sigterm)  # Snakemake or a cluster stopping the job: caches flush, clients stop
        try:
            validate(cfg)
            fn(cfg)
        except expected_errors() as err:
            print(error_line(err), file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM turned into one by the scoring loop
            print(error_line(f"interrupted ({err or 'Ctrl-C'}); caches keep what finished, a rerun resumes"), file=sys.stderr)
            sys.exit(130)

    return _main
