"""A published RM that rmeval cannot run (no loader for its format, or an API whose scores it cannot read): its YAML
keeps the row in a list (a leaderboard's table stays complete, the dry run schedules it) and its score job stops with
the reason, never with made-up scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rmeval.config.fields import settings
from rmeval.rms.base import RM_FAMILIES, BaseRMConfig, Encoded, PointwiseRM


@dataclass
class UnavailableRMConfig(BaseRMConfig):
    """A published RM that cannot run here (rmeval.rms.unavailable): listed for completeness, its job stops with `reason`."""

    model: str = "???"
    revision: str | None = None
    reason: str = "???"


@RM_FAMILIES.register()
class UnavailableRM(PointwiseRM):
    Config = UnavailableRMConfig

    def __init__(self, config: UnavailableRMConfig | None = None, **given):
        c = self.config = settings(UnavailableRMConfig, config, given, "UnavailableRM")
        self.name, self.model_id, self.reason, self.revision = c.name, c.model, c.reason, c.revision

    def fingerprint(self) -> dict:
        return {"family": "unavailable", "model": self.model_id, "revision": self.revision}

    def _refuse(self) -> Exception:
        from rmeval.hf import RMLoadError

        return RMLoadError(f"rm {self.name}: {self.model_id} cannot run in rmeval: {self.reason} (conf/rm/{self.name}.yaml)")

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        raise self._refuse()

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        raise self._refuse()
