"""How a paid API is billed and paced: the settings an API backend's YAML may add (``price:``, ``limits:``,
``mode:``/``batch:``), and the cost of a number of tokens at a price.

``price`` is what the provider's price list said on ``read_on`` (the YAML names the page in a comment): USD per
million input and output tokens, and the share a batch request pays less (0.5 at OpenAI and Anthropic). The cost plan
(``rmeval.cost``) and the comparisons report price tokens with it; a backend without ``price`` is reported as
"no price". ``limits`` are the account's rate limits (they set the plan's wall-time estimate; nothing throttles on
them). ``batch`` configures ``mode: batch`` (``rmeval.llm.batch``): which provider's batch API, how often to poll,
and the most requests and bytes one batch may hold (null: the provider's own limit).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

from rmeval.config.fields import above, at_least, between, settings

MODES = {"pattern": r"online|batch", "expected": "online or batch"}
BATCH_APIS = {"pattern": r"openai|anthropic", "expected": "openai (files + /v1/batches) or anthropic (/v1/messages/batches)"}
DATE = {"pattern": r"\d{4}-\d{2}-\d{2}", "expected": "a date YYYY-MM-DD (the day the price list was read)"}
#: the providers' limits per batch (requests, bytes), read on 2026-12-06: OpenAI's batch input file holds up to 50,000
#: requests and 200 MB (platform.openai.com/docs/api-reference/batch/create); a Message Batch holds up to 100,000
#: requests or 256 MB (docs.anthropic.com/en/docs/build-with-claude/batch-processing)
PROVIDER_LIMITS = {"openai": (50_000, 200 * 1024 * 1024), "anthropic": (100_000, 256 * 1024 * 1024)}


@dataclass
class PriceConfig:
    """USD per million tokens of the backend's model, as the provider's price list said on ``read_on``."""

    input_per_mtok: float = field(default="???", metadata=at_least(0))  # type: ignore[assignment]
    output_per_mtok: float = field(default="???", metadata=at_least(0))  # type: ignore[assignment]
    # the share of the price a batch request does not pay (0.5: half price); null: no batch price (no batch API here)
    batch_discount: float | None = field(default=None, metadata=between(0, 1, high_open=True))
    read_on: str = field(default="???", metadata=DATE)

    def cost(self, input_tokens: float, output_tokens: float, batch: bool = False) -> float | None:
        """USD for these tokens, online or at the batch price (None: batch asked and no batch price is known)."""
        factor = 1.0
        if batch:
            if self.batch_discount is None:
                return None
            factor = 1.0 - float(self.batch_discount)
        return factor * (input_tokens * float(self.input_per_mtok) + output_tokens * float(self.output_per_mtok)) / 1e6


@dataclass
class RateLimitsConfig:
    """The account's rate limits for the model (null: unknown); the plan's online wall time is bounded by them."""

    requests_per_min: int | None = field(default=None, metadata=at_least(1))
    tokens_per_min: int | None = field(default=None, metadata=at_least(1))


@dataclass
class BatchConfig:
    """``mode: batch``: the provider's batch API, polled every ``poll_interval_s`` until its batches end."""

    api: str = field(default="openai", metadata=BATCH_APIS)
    poll_interval_s: float = field(default=60.0, metadata=above(0))
    max_requests: int | None = field(default=None, metadata=at_least(1))  # per batch; null = the provider's limit
    max_mb: float | None = field(default=None, metadata=above(0))  # input size per batch; null = the provider's limit
    anthropic_version: str = "2023-06-01"  # the anthropic-version header of the Message Batches API

    def limits(self) -> tuple[int, int]:
        """(requests, bytes) one batch may hold: the YAML's, within the provider's."""
        requests, size = PROVIDER_LIMITS[self.api]
        if self.max_requests is not None:
            requests = min(requests, int(self.max_requests))
        if self.max_mb is not None:
            size = min(size, int(float(self.max_mb) * 1024 * 1024))
        return requests, size


def node(schema: type, value: Any, who: str) -> Any:
    """A nested settings node as its dataclass: ``hydra.utils.instantiate`` hands nested YAML nodes over as dicts."""
    if value is None or isinstance(value, schema):
        return value
    given = asdict(value) if is_dataclass(value) else dict(value)
    return settings(schema, None, given, who)
