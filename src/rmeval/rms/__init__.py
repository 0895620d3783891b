"""Reward-model families, one module each, all behind ``rmeval.rms.base.PointwiseRM``."""

from __future__ import annotations

from typing import Any

from rmeval.rms.base import Encoded, PointwiseRM

__all__ = ["Encoded", "PointwiseRM", "build_rm"]

def use_cpu_backends(scoring: Any) -> None:
    """Apply the run's ``scoring.cpu_linear``, ``cpu_kernels`` and ``cpu_model`` knobs to the models this process
    loads from now on (``rmeval.cpu_linear``, ``rmeval.cpu_kernels``, ``rmeval.rms.native_decoder``); imports torch."""
    from rmeval import cpu_kernels, cpu_linear
    from rmeval.rms import native_decoder

    cpu_linear.set_backend(str(scoring.get("cpu_linear", "onednn")))
    cpu_kernels.set_backend(str(scoring.get("cpu_kernels", "native")))
    native_decoder.set_backend(str(scoring.get("cpu_model", "rmeval")))


def build_rm(cfg: Any, scoring: Any = None) -> PointwiseRM:
    """Instantiate an RM from its YAML (``_target_`` names the family class, which takes every key of its ``Config``);
    an error while building it is one line naming the RM (``rmeval.instantiate.build``). ``scoring``: the run's
    ``scoring`` group, whose CPU knobs (``use_cpu_backends``) the RM's model then loads with."""
    from omegaconf import OmegaConf

    from rmeval.instantiate import build

    if scoring is not None:
        use_cpu_backends(scoring)
    node = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else dict(cfg)
    return build(node, f"rm {node.get('name', '?')}")