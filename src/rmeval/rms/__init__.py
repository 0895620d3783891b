"""Reward-model families, one module each, all behind ``rmeval.rms.base.PointwiseRM``."""

from rmeval.rms.base import Encoded, PointwiseRM, build_rm

__all__ = ["Encoded", "PointwiseRM", "build_rm"]
