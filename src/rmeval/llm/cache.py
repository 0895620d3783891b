"""Append-only generation cache: one JSON line per finished request, flushed as it arrives.

A killed run loses at most the line being written and a resumed run regenerates nothing already there; duplicates
(the same cache key twice) are collapsed on load, so nothing is duplicated either. A torn last line (a kill in the
middle of a write) is cut off when the cache is opened, before anything is appended, so the next record never glues
onto the fragment; a line glued by an older version is split and its record recovered. Keys hash the backend
fingerprint and the full request including its seed. Error texts are scrubbed of anything that looks like a key.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rmeval.llm.base import ChatBackend, ChatRequest, ChatResult, scrub_secrets

log = logging.getLogger(__name__)

RECORD_START = '{"key": '  # every line starts with the ChatResult's first field


def _parse_line(line: str) -> tuple[dict | None, bool]:
    """(record or None, repaired): a whole line, or the record glued after a torn fragment."""
    try:
        return json.loads(line), False
    except json.JSONDecodeError:
        pass
    start = line.find(RECORD_START, 1)
    while start != -1:
        try:
            return json.loads(line[start:]), True
        except json.JSONDecodeError:
            start = line.find(RECORD_START, start + 1)
    return None, False


class GenerationCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._rows: dict[str, dict] = {}
        self.torn_lines = 0  # fragments dropped when opening (each one request that is generated again)
        self.recovered_lines = 0  # records recovered from a line glued to a fragment
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        lines = text.split("\n")
        tail = lines.pop()  # "" when the file ends with a newline, else a torn fragment
        needs_rewrite = False
        for line in lines:
            if not line.strip():
                continue
            row, repaired = _parse_line(line)
            if row is None or "cache_key" not in row:
                self.torn_lines += 1
                needs_rewrite = True
                continue
            if repaired:
                self.recovered_lines += 1
                self.torn_lines += 1
                needs_rewrite = True
            self._rows[row["cache_key"]] = row
        if tail.strip():
            row, _ = _parse_line(tail)
            if row is not None and "cache_key" in row:  # complete record, only its newline missing
                self._rows[row["cache_key"]] = row
            else:
                self.torn_lines += 1
            needs_rewrite = True
        if needs_rewrite:
            self._rewrite()
            log.warning("%s: repaired after an interrupted run: dropped %d torn fragment(s), recovered %d record(s) glued to one",
                        self.path, self.torn_lines, self.recovered_lines)

    def _rewrite(self) -> None:
        """Write the parsed records back (one per line), atomically: the file then ends with a whole line."""
        tmp = self.path.with_name(self.path.name + f".repair-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in self._rows.values():
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

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
        row["error"] = scrub_secrets(row["error"])
        row["extra"] = {k: v for k, v in (row.get("extra") or {}).items() if "header" not in k.lower()}
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

    Identical requests (same cache key) are sent once and the answer is given to each of them under its own key.
    Failed requests are returned (marked with ``error``) but not cached unless ``cache_errors``, so a rerun
    retries them.
    """
    fp = backend.fingerprint()
    keys = [r.cache_key(fp) for r in requests]
    out: dict[int, ChatResult] = {}
    first_of: dict[str, int] = {}  # cache key -> index of the request that is sent
    todo = []
    for i, (req, ck) in enumerate(zip(requests, keys)):
        if cache is not None and ck in cache:
            out[i] = cache.get(ck, req.key)
        elif ck not in first_of:
            first_of[ck] = i
            todo.append(i)
    n_repeats = len(requests) - len(out) - len(todo)
    if n_repeats:
        log.info("%s: %d of %d requests repeat another one in this run; each distinct request is sent once",
                 backend.name, n_repeats, len(requests))
    if todo:
        def on_result(j: int, result: ChatResult) -> None:
            result.cache_key = keys[todo[j]]
            result.error = scrub_secrets(result.error)
            if cache is not None and (result.ok or cache_errors):
                cache.append(result)

        results = backend.generate([requests[i] for i in todo], progress=progress, on_result=on_result)
        for j, res in enumerate(results):
            out[todo[j]] = res
    for i, (req, ck) in enumerate(zip(requests, keys)):
        if i not in out:
            sent = out[first_of[ck]]
            out[i] = ChatResult(**{**asdict(sent), "key": req.key})
    return [out[i] for i in range(len(requests))]
