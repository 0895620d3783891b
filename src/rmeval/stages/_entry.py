"""Shared plumbing for the entry points: Hydra's main with the project's conf/, one-line errors, io paths."""

from __future__ import annotations

import logging
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
    from rmeval.llm.openai_compat import BackendConfigError
    from rmeval.llm.server import ServerError
    from rmeval.rms.classifier import RMLoadError
    from rmeval.rms.packaged import PackagedModelError

    return (*EXPECTED_ERRORS, DataError, DownloadError, RMLoadError, ScoreMissingError, DownstreamError,
            BackendConfigError, PackagedModelError, ServerError)


def io_path(cfg: DictConfig, key: str) -> str:
    value = cfg.get("io", {}).get(key)
    if not value:
        raise ConfigError(f"io.{key} not given: Snakemake passes it (or add io.{key}=<path> on the command line)")
    return str(value)


def entry(fn: Callable[[DictConfig], None]) -> Callable[[], None]:
    """Wrap ``fn(cfg)`` as a Hydra main over the project's conf/."""

    @hydra.main(config_path=str(find_conf_dir()), config_name="config", version_base="1.3")
    def _main(cfg: DictConfig) -> None:
        try:
            validate(cfg)
            fn(cfg)
        except expected_errors() as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(1)

    return _main
