"""Reward-model families, one module each, all behind ``rmeval.rms.base.PointwiseRM``."""

from __future__ import annotations

from typing import Any

from rmeval.rms.base import Encoded, PointwiseRM
from rmeval.rms.base import build_rm as _build_rm

__all__ = ["Encoded", "PointwiseRM", "build_rm"]


def build_rm(cfg: Any) -> PointwiseRM:
    """Instantiate an RM from its YAML; an error while building it is one line naming the RM (``rmeval.instantiate``)."""
    from hydra.errors import InstantiationException

    from rmeval.instantiate import unwrap

    name = cfg.get("name", "?") if hasattr(cfg, "get") else "?"
    target = cfg.get("_target_") if hasattr(cfg, "get") else None
    try:
        return _build_rm(cfg)
    except InstantiationException as err:
        raise unwrap(err, f"rm {name}", target) from err
