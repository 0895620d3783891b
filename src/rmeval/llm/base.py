"""The backend interface: a list of chat requests in, one result per request out (errors are results too)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from rmeval.ids import stable_hash


@dataclass
class ChatRequest:
    """One generation. ``seed`` is part of the cache key: a sampled output is never reused for another seed."""

    key: str  # caller's id for the request (e.g. prompt_id/policy/sample_idx, or item_id/order)
    messages: list[dict]
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def cache_key(self, backend_fingerprint: dict) -> str:
        payload = asdict(self)
        payload.pop("key")
        return stable_hash([backend_fingerprint, payload], length=24)


@dataclass
class ChatResult:
    key: str
    text: str | None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None  # last error when every attempt failed (the result is kept, marked invalid)
    attempts: int = 1
    latency_s: float = 0.0
    cache_key: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


class ChatBackend(ABC):
    name: str = "backend"

    @abstractmethod
    def fingerprint(self) -> dict:
        """Everything that changes outputs (model, revision, endpoint model name, dtype, ...); never secrets."""

    @abstractmethod
    def generate(
        self, requests: Sequence[ChatRequest], progress: bool = True, on_result: Callable[[int, ChatResult], None] | None = None
    ) -> list[ChatResult]:
        """Results in the order of ``requests``; ``on_result(index, result)`` is called as each one finishes
        (so a cache can persist it before the next one starts)."""

    def close(self) -> None:
        """Release clients or weights."""
