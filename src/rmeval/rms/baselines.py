"""Model-free baselines: a seeded random score and the response length."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


from rmeval.config.fields import LengthUnit, at_least, settings
from rmeval.rms.base import RM_FAMILIES, BaseRMConfig, Encoded, PointwiseRM


@dataclass
class RandomRMConfig(BaseRMConfig):
    seed: int = field(default=0, metadata=at_least(0))


@dataclass
class LengthRMConfig(BaseRMConfig):
    unit: LengthUnit = LengthUnit.chars


@RM_FAMILIES.register()
class RandomRM(PointwiseRM):
    """Uniform score in [0, 1) from a hash of (seed, text_id): the same text gets the same score in any run,
    order or batch, and two texts tie with probability ~2^-53. Chance level: 0.5 pairwise, 1/(k+1) for BoN."""

    Config = RandomRMConfig

    def __init__(self, config: RandomRMConfig | None = None, **given):
        c = self.config = settings(RandomRMConfig, config, {"name": "random", **given}, "RandomRM")
        self.name, self.seed = c.name, int(c.seed)

    def fingerprint(self) -> dict:
        return {"family": "random", "seed": self.seed}

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        return Encoded(payload=text_id, n_tokens=0)

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        out = np.empty(len(batch), dtype=np.float64)
        for i, enc in enumerate(batch):
            digest = hashlib.sha256(f"{self.seed}:{enc.payload}".encode()).digest()
            out[i] = (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)
        return out


@RM_FAMILIES.register()
class LengthRM(PointwiseRM):
    """Score = response length (characters or whitespace-separated words)."""

    Config = LengthRMConfig

    def __init__(self, config: LengthRMConfig | None = None, **given):
        c = self.config = settings(LengthRMConfig, config, {"name": "length", **given}, "LengthRM")
        if c.unit not in ("chars", "words"):
            raise ValueError(f"LengthRM: field 'unit': expected chars or words, got {c.unit!r}")
        self.name, self.unit = c.name, c.unit

    def fingerprint(self) -> dict:
        return {"family": "length", "unit": self.unit}

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        return Encoded(payload=len(response) if self.unit == "chars" else len(response.split()), n_tokens=0)

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        return np.asarray([enc.payload for enc in batch], dtype=np.float64)
