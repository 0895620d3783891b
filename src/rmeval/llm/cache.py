"""Append-only generation cache: one JSON line per finished request, flushed as it arrives.

A killed run loses at most the line being written (a torn last line is skipped on load) and a resumed run
regenerates nothing already there; duplicates (the same cache key twice) are collapsed on load, so nothing is
duplicated either. Keys hash the backend fingerprint and the full request including its seed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rmeval.llm.base import ChatBackend, ChatRequest, ChatResult

log = logging.getLogger(__name__)


class GenerationCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._rows: dict[str, dict] = {}
        self.torn_lines = 0
        if self.path.exists():
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        self.torn_lines += 1
                        continue
                    self._rows[row["cache_key"]] = row
        if self.torn_lines:
            log.warning("%s: skipped %d torn line(s) from an interrupted run", self.path, self.torn_lines)

    def __contains__(self, cache_key: str) -> bool:
        return cache_key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, cache_key: str, key: str) -> ChatResult:
        row = dict(self._rows[cache_key])
        row["key"] = key
        return ChatResult(**row)

    def append(self, result: ChatResult) -> None:
        row = asdict(result)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self._rows[result.cache_key] = row


def generate_cached(
    backend: ChatBackend, requests: Sequence[ChatRequest], cache: GenerationCache | None, progress: bool = True,
    cache_errors: bool = False,
) -> list[ChatResult]:
    """Results for ``requests``; cached ones are reused, the rest generated and appended as each finishes.

    Failed requests are returned (marked with ``error``) but not cached unless ``cache_errors``, so a rerun
    retries them.
    """
    fp = backend.fingerprint()
    keys = [r.cache_key(fp) for r in requests]
    out: dict[int, ChatResult] = {}
    todo = []
    for i, (req, ck) in enumerate(zip(requests, keys)):
        if cache is not None and ck in cache:
            out[i] = cache.get(ck, req.key)
        else:
            todo.append(i)
    if todo:
        def on_result(j: int, result: ChatResult) -> None:
            result.cache_key = keys[todo[j]]
            if cache is not None and (result.ok or cache_errors):
                cache.append(result)

        results = backend.generate([requests[i] for i in todo], progress=progress, on_result=on_result)
        for j, res in enumerate(results):
            out[todo[j]] = res
    return [out[i] for i in range(len(requests))]
