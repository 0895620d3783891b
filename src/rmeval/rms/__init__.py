"""Reward-model families, one module each, all behind ``rmeval.rms.base.PointwiseRM``."""

from __future__ import annotations

from typing import Any

from rmeval.rms.base import Encoded, PointwiseRM

__all__ = ["Encoded", "PointwiseRM", "build_rm"]

def build_rm(cfg: Any) -> PointwiseRM:
    """Instantiate an RM from its YAML (``_target_`` names the family class, which takes every key of its ``Config``);
    an error while building it is one line naming the RM (``rmeval.instantiate.build``)."""
    from omegaconf import OmegaConf

    from rmeval.instantiate import build

    node = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else dict(cfg)
    return build(node, f"rm {node.get('name', '?')}")