"""Stable identifiers for prompts and (conversation, response) texts.

A text is identified by a hash of its canonical form: the conversation's (role, content) turns followed by the
assistant response. Metadata such as the turn's language or the responding model is not part of the identity,
so the same answer to the same conversation is scored once however many items reference it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

ID_LENGTH = 16  # hex chars (64 bits): collision-free for millions of texts


def canonical_conversation(conversation: Iterable[Mapping[str, str]]) -> list[list[str]]:
    return [[str(turn["role"]), str(turn["content"])] for turn in conversation]


def _digest(payload: object) -> str:
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:ID_LENGTH]


def prompt_id(conversation: Iterable[Mapping[str, str]]) -> str:
    """Hash of the conversation that precedes the response."""
    return _digest(["prompt", canonical_conversation(conversation)])


def text_id(conversation: Iterable[Mapping[str, str]], response: str) -> str:
    """Hash of the conversation plus the assistant response."""
    return _digest(["text", canonical_conversation(conversation), str(response)])


def stable_hash(payload: object, length: int = ID_LENGTH) -> str:
    """Hash of any JSON-serialisable payload (config fingerprints, cache keys)."""
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]
