"""The backend interface: a list of chat requests in, one result per request out (errors are results too)."""

from __future__ import annotations

from abc import ABC, abstractmethod
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

from rmeval.ids import stable_hash
from rmeval.registry import BACKENDS  # a backend registers itself with @BACKENDS.register() and declares its Config


# What looks like a credential in server text: bearer tokens, "api_key": "...", sk-/key- style keys, long opaque tokens.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"),
    re.compile(r"(?i)((?:api[_-]?key|access[_-]?token|secret|password|authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"),
    re.compile(r"\b(?:sk|pk|rk|key|tok)-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"\b[A-Za-z0-9_\-]{32,}\b"),
]
REDACTED = "[redacted]"


def scrub_secrets(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """``text`` with known secrets and anything that looks like a key replaced by ``[redacted]`` (server error bodies
    may echo the key; they end up in results and logs)."""
    if text is None:
        return None
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


@dataclass
class BackendConfig:
    """The settings every backend has; a backend's ``Config`` subclasses this and sets ``_target_`` and ``name``."""

    _target_: str = "???"
    name: str = "???"
    model: str = "???"  # a local folder or hub id; for an API backend, the endpoint's model name (e.g. gpt-4o-2024-05-13)


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
    error: str | None = None  # last error when every attempt failed
    transient: bool = False  # that error was a transport failure (timeout, 5xx, reset, 429, malformed body): a rerun may succeed
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
