"""The interface every pointwise RM implements.

The scoring engine (``rmeval.scoring``) owns caching, deduplication, ordering and batching; an RM only says how
to encode one (conversation, response) and how to score a batch of encoded texts. ``fingerprint()`` names
everything that changes a score, so the per-RM cache is keyed by it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rmeval.config.fields import DEVICE, DType, at_least
from rmeval.config.jobs import ResourcesConfig, ScoreJobConfig
from rmeval.registry import RM_FAMILIES  # a family registers itself with @RM_FAMILIES.register() in its module
from rmeval.rms.build import BuildConfig


@dataclass
class BaseRMConfig:
    """Settings every RM YAML has; a family's ``Config`` adds its own."""

    _target_: str = "???"
    name: str = "???"
    description: str = ""
    build: BuildConfig | None = None  # a rule makes resources/models/{name} (generated or fetched) before scoring
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)  # the score/compare/downstream jobs' request
    score: ScoreJobConfig = field(default_factory=ScoreJobConfig)


@dataclass
class LocalModelRMConfig(BaseRMConfig):
    """Settings of every family that runs a local transformers model (defaults differ per family)."""

    model: str = "???"  # local folder or hub id
    revision: str | None = None
    tokenizer: str | None = None  # defaults to model
    max_length: int = field(default=4096, metadata=at_least(1))
    dtype: DType = DType.auto  # auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16 | float16
    device: str = field(default="auto", metadata=DEVICE)  # auto (CUDA when present) | cpu | cuda | cuda:N
    trust_remote_code: bool = False
    token_budget: int | None = field(default=None, metadata=at_least(1))  # padded tokens per batch; null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = field(default=64, metadata=at_least(1))


SCORE_COLUMNS = ["text_id", "score", "n_tokens", "truncated"]  # a score file: one row per text an RM scored


@dataclass
class Encoded:
    """One text ready for a forward pass."""

    payload: Any  # what score_batch consumes (token ids, a string, ...)
    n_tokens: int  # tokens the RM processes for this text (0 for model-free baselines)
    truncated: bool = False


class PointwiseRM(ABC):
    """A reward model that maps each (conversation, response) to a scalar."""

    Config: type = BaseRMConfig  # the settings dataclass the YAML is validated against and the class receives
    writes_comparisons = False  # True: a comparisons table per item (pairwise judges) instead of scores per text
    combines_members = False  # True: combines other RMs' score files (ensembles), no model of its own
    name: str
    token_budget: int = 1 << 30  # padded tokens per batch
    max_batch_size: int = 4096
    load_while_encoding: bool = False  # the engine may run load() on a second thread while encode_many runs

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

