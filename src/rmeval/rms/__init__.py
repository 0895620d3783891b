"""Reward-model families, one module each, all behind ``rmeval.rms.base.PointwiseRM``."""

from __future__ import annotations

from typing import Any

from rmeval.rms.base import Encoded, PointwiseRM
from rmeval.rms.base import build_rm as _build_rm

__all__ = ["Encoded", "PointwiseRM", "build_rm"]

# RM YAML keys read by the stages, not by the RM class
STAGE_KEYS = ("allow_all_invalid",)


def build_rm(cfg: Any) -> PointwiseRM:
    """Instantiate an RM from its YAML; an error while building it is one line naming the RM (``rmeval.instantiate``)."""
    from hydra.errors import InstantiationException

    from rmeval.instantiate import unwrap

    from omegaconf import OmegaConf

    node = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else dict(cfg)
    for key in STAGE_KEYS:
        node.pop(key, None)
    name, target = node.get("name", "?"), node.get("_target_")
    try:
        return _build_rm(node)
    except InstantiationException as err:
        raise unwrap(err, f"rm {name}", target) from err
