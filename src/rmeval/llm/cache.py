"""Append-only generation cache: one JSON line per finished request, flushed as it arrives.

A killed run loses at most the line being written and a resumed run regenerates nothing already there; duplicates
(the same cache key twice) are collapsed on load, so nothing is duplicated either. A torn last line (a kill in the
middle of a write) is cut off when the cache is opened, before anything is appended, so the next record never glues
onto the fragment; a line glued by an older version is split and its record recovered. Appends and repairs hold an
exclusive lock on the file, so two jobs sharing a cache (one judge on two benchmarks) never tear each other's lines. Keys hash the backend
fingerprint and the full request including its seed. Error texts are scrubbed of anything that looks like a key.

A request that failed every retry at the transport (``ChatResult.transient``) is never a result: ``generate_cached``
keeps every answer in the cache and then stops with one line naming how many failed, so a rerun sends only those.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rmeval.errors import RmevalError
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


class RequestsFailedError(RmevalError):
    """Requests that failed every retry (timeouts, 5xx, resets, 429): the answered ones are cached, a rerun sends the rest."""


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
        with open(self.path, "r+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # another job appending to the same cache waits (and is never cut off)
            raw = fh.read()
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
                if row is not None and "cache_key" in row:  # a complete record, only its newline missing
                    self._rows[row["cache_key"]] = row
                    needs_rewrite = True
                else:
                    self.torn_lines += 1
                    if not needs_rewrite:  # the common case: cut the fragment off, keep everything before it
                        fh.truncate(raw.rfind(b"\n") + 1)
            if needs_rewrite:  # fragments inside the file: write the parsed records back, in place, under the lock
                fh.seek(0)
                fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self._rows.values()).encode("utf-8"))
                fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
        if self.torn_lines:
            log.warning("%s: repaired after an interrupted run: dropped %d torn fragment(s), recovered %d record(s) glued to one",
                        self.path, self.torn_lines, self.recovered_lines)

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
                fcntl.flock(fh, fcntl.LOCK_EX)  # whole lines, even with another job appending to the same file
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
    A backend configured with ``mode: batch`` sends them through its provider's batch API instead (``rmeval.llm.batch``).
    A request the backend refused for good (e.g. HTTP 400) is returned marked with ``error``, cached only with
    ``cache_errors``. Requests that failed every retry at the transport raise ``RequestsFailedError`` once all the
    others are answered and cached: they are never cached, so a rerun sends only them.
    """
    if getattr(getattr(backend, "config", None), "mode", "online") == "batch":
        backend = batch_backend(backend, cache)
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
            if cache is not None and (result.ok or (cache_errors and not result.transient)):
                cache.append(result)

        results = backend.generate([requests[i] for i in todo], progress=progress, on_result=on_result)
        failed = [res for res in results if res.transient]
        if failed:
            kept = (f"the {sum(res.ok for res in results)} answered are cached, so a rerun sends only the failed ones"
                    if cache is not None else "no generation cache is set, so a rerun sends them all again")
            raise RequestsFailedError(f"{backend.name}: {len(failed)} of {len(todo)} request(s) failed after every retry "
                                      f"(first: {failed[0].error}); {kept}")
        for j, res in enumerate(results):
            out[todo[j]] = res
    for i, (req, ck) in enumerate(zip(requests, keys)):
        if i not in out:
            sent = out[first_of[ck]]
            out[i] = ChatResult(**{**asdict(sent), "key": req.key})
    return [out[i] for i in range(len(requests))]


def batch_backend(online: ChatBackend, cache: GenerationCache | None) -> ChatBackend:
    """The batch backend (``rmeval.llm.batch``) of an online API backend configured with ``mode: batch``; its
    ``batch.api`` picks the provider: OpenAI's files + ``/v1/batches`` or Anthropic's Message Batches."""
    from rmeval.llm.pricing import BatchConfig, node

    config = node(BatchConfig, online.config.batch, f"backend {online.name}: batch")
    if config.api == "anthropic":
        from rmeval.llm.batch_anthropic import AnthropicBatchBackend as Backend
    else:
        from rmeval.llm.batch_openai import OpenAIBatchBackend as Backend
    return Backend(online, config, cache)
