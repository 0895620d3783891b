"""A published RM that rmeval cannot run (no loader for its format, or an API whose scores it cannot read): its YAML
keeps the row in a list (a leaderboard's table stays complete, the dry run schedules it) and its score job stops with
the reason, never with made-up scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rmeval.hf import RMLoadError
from rmeval.rms.base import Encoded, PointwiseRM


class UnavailableRM(PointwiseRM):
    def __init__(self, name: str, model: str, reason: str, revision: str | None = None):
        self.name, self.model_id, self.reason, self.revision = name, model, reason, revision

    def fingerprint(self) -> dict:
        return {"family": "unavailable", "model": self.model_id, "revision": self.revision}

    def _refuse(self) -> RMLoadError:
        return RMLoadError(f"rm {self.name}: {self.model_id} cannot run in rmeval: {self.reason} (conf/rm/{self.name}.yaml)")

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        raise self._refuse()

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        raise self._refuse()
