"""The interface every pointwise RM implements.

The scoring engine (``rmeval.scoring``) owns caching, deduplication, ordering and batching; an RM only says how
to encode one (conversation, response) and how to score a batch of encoded texts. ``fingerprint()`` names
everything that changes a score, so the per-RM cache is keyed by it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Encoded:
    """One text ready for a forward pass."""

    payload: Any  # what score_batch consumes (token ids, a string, ...)
    n_tokens: int  # tokens the RM processes for this text (0 for model-free baselines)
    truncated: bool = False


class PointwiseRM(ABC):
    """A reward model that maps each (conversation, response) to a scalar."""

    name: str
    token_budget: int = 1 << 30  # padded tokens per batch
    max_batch_size: int = 4096
    load_while_encoding: bool = False  # the engine may run load() on a second thread while encode_many runs
    concurrent_batches: bool = False  # score_batch may run on several threads at once (the engine's CPU workers)

    def load(self) -> None:
        """Load weights (called once, lazily, only when something needs scoring)."""

    @abstractmethod
    def fingerprint(self) -> dict:
        """Everything that changes the scores (model id, revision, template hash, dtype, max_length, ...)."""

    @abstractmethod
    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        """Prepare one text."""

    def encode_many(self, text_ids: Sequence[str], conversations: Sequence, responses: Sequence[str]) -> list[Encoded]:
        """Encode several texts (families override this to tokenise in bulk)."""
        return [self.encode(t, list(c), r) for t, c, r in zip(text_ids, conversations, responses)]

    @abstractmethod
    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        """Scores for a batch, in order (float64)."""

    def batch_length(self, enc: Encoded) -> int:
        """Length that counts against the token budget (padded to the batch's longest)."""
        return max(enc.n_tokens, 1)


def build_rm(cfg: Any) -> PointwiseRM:
    """Instantiate an RM from its YAML (``_target_`` names the family class)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    node = OmegaConf.to_container(cfg, resolve=True) if not isinstance(cfg, dict) else dict(cfg)
    node.pop("description", None)
    node.pop("build", None)
    node.pop("server", None)  # run by the stage around the job (rmeval.llm.server), not a family argument
    from rmeval.config import JOB_KEYS

    for key in JOB_KEYS:  # the scheduler's keys (resources, score.shards), not the family's
        node.pop(key, None)
    return instantiate(node, _convert_="all")
