"""``mode: batch``: a backend's requests sent through the provider's batch API (half price, results within 24 h), never
paid for twice.

The engine here is the same for every provider (``rmeval.llm.cache.batch_backend`` picks one); a provider's subclass
(``rmeval.llm.batch_openai``: files + ``/v1/batches``; ``rmeval.llm.batch_anthropic``: ``/v1/messages/batches``) only
says how to submit, poll and read a batch. Each request's
``custom_id`` is its generation-cache key, so an answer goes to the same cache line the online backend would write
(the fingerprint is the online backend's: online and batch runs share their answers).

**The journal.** Beside the generation cache, ``<cache>.batches.jsonl`` records, one fsynced line each: the request
ids of a batch before it is created (``submitting``), its id as soon as the provider returns it (``submitted``),
each request that failed inside a batch with its reason (``failed``) and the batch's end (``ended``), written after
its answers are in the cache. A job that is killed or restarted reads the journal and reattaches to every batch
that has not ended and covers a request it wants, instead of submitting again; a batch whose ``submitted`` line
was never written (a kill between the provider's answer and the write) is looked up at the provider by the
journal's reference where the provider keeps one (OpenAI's batch metadata). Answers are cached as they are read.
A request that failed or expired inside a batch goes once into a follow-up batch; if it fails there too it is
kept invalid with its reason (the journal remembers, so a rerun does not send it again: delete the journal to
retry). Large plans are split under the provider's limits (requests and bytes per batch) and polled together,
with a progress line whenever the counts change. A 401/403, a rejected input and an unreachable endpoint stop the
job with one line.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rmeval.errors import RmevalError
from rmeval.llm.base import ChatBackend, ChatRequest, ChatResult
from rmeval.llm.pricing import BatchConfig
from rmeval.progress import progress_bar

log = logging.getLogger(__name__)

ATTEMPTS = 2  # a request is sent in at most two batches: its first and one follow-up


class BatchRejectedError(RmevalError):
    """The provider refused a whole batch (its input file or request list); one line with the provider's reason."""


class BatchTransportError(RmevalError):
    """A batch call failed every retry (timeouts, 5xx, resets); the journal keeps what was submitted, a rerun reattaches."""


@dataclass
class BatchState:
    """A batch as the provider reports it: ``ended`` once nothing in it runs any more."""

    ended: bool
    status: str  # the provider's word (completed, expired, in_progress, ended, ...)
    completed: int = 0
    failed: int = 0
    total: int = 0
    rejected: str | None = None  # why the provider refused the whole batch (input validation), else None


@dataclass
class Outcome:
    """One request's line in a batch's results: an answer, or why it failed."""

    custom_id: str
    result: ChatResult | None = None
    reason: str | None = None


class Journal:
    """The append-only record of a cache's batches (module docstring), read once and appended under a lock."""

    def __init__(self, path: Path):
        self.path = path
        self.submitting: dict[str, dict] = {}  # ref -> record
        self.batches: dict[str, dict] = {}  # batch id -> {"ids", "round", "ref"}
        self.ended: set[str] = set()
        self.failures: dict[str, dict[str, str]] = {}  # custom id -> {batch id: reason}, one per batch it failed in
        if path.exists():
            for raw in path.read_text(encoding="utf-8").splitlines():
                try:
                    self._apply(json.loads(raw))
                except (json.JSONDecodeError, KeyError, TypeError):
                    log.warning("%s: skipped a torn line (a kill while writing it)", path)

    def _apply(self, rec: dict) -> None:
        event = rec["event"]
        if event == "submitting":
            self.submitting[rec["ref"]] = rec
        elif event == "submitted":
            sub = self.submitting[rec["ref"]]
            self.batches[rec["batch_id"]] = {"ids": sub["ids"], "round": sub["round"], "ref": rec["ref"]}
        elif event == "failed":
            self.failures.setdefault(rec["id"], {})[rec["batch_id"]] = rec["reason"]
        elif event == "ended":
            self.ended.add(rec["batch_id"])

    def write(self, **rec) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(json.dumps({**rec, "at": round(time.time(), 3)}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._apply(rec)

    def orphans(self) -> list[dict]:
        """``submitting`` records whose batch id was never written."""
        known = {b["ref"] for b in self.batches.values()}
        return [rec for ref, rec in self.submitting.items() if ref not in known and not rec.get("abandoned")]


@dataclass
class _Run:
    """One ``generate`` call's bookkeeping."""

    wanted: dict[str, list[int]]  # custom id -> indices of the requests that asked for it
    requests: dict[str, ChatRequest]
    results: list
    on_result: Callable[[int, ChatResult], None] | None
    open: dict[str, dict] = field(default_factory=dict)  # batch id -> journal entry, polled until it ends
    retry: list[str] = field(default_factory=list)  # ids that failed once, for the follow-up batch


class BatchBackend(ChatBackend, ABC):
    """A ``ChatBackend`` whose ``generate`` goes through a provider's batch API. ``online``: the configured online
    backend (its client, key handling, endpoint and error messages are shared); ``cache``: the generation cache whose
    answers it writes (earlier runs' batches included) and beside which it keeps its journal. A provider's subclass
    says how to submit, poll and read a batch."""

    api = "?"

    def __init__(self, online, config: BatchConfig, cache):
        if cache is None:
            raise RmevalError(f"backend {online.name}: mode: batch needs a generation cache (the batch journal is kept "
                              "beside it, so a restarted job reattaches instead of paying again)")
        self.online, self.config, self.cache = online, config, cache
        self.name = online.name
        self.journal = Journal(Path(f"{cache.path}".removesuffix(".jsonl") + ".batches.jsonl"))

    @abstractmethod
    def prepare(self, lines: list[bytes]) -> dict:
        """Whatever must exist before the batch is created (OpenAI: the uploaded input file); recorded in the journal."""

    @abstractmethod
    def create(self, lines: list[bytes], prepared: dict, ref: str) -> str:
        """Create the batch; its id."""

    @abstractmethod
    def line(self, custom_id: str, request: ChatRequest) -> dict:
        """One request of a batch in the provider's shape."""

    @abstractmethod
    def state(self, batch_id: str) -> BatchState: ...

    @abstractmethod
    def outcomes(self, batch_id: str) -> Iterator[Outcome]:
        """Every request of an ended batch that has a result line (answers and failures); ids with none expired."""

    def find(self, ref: str, prepared: dict) -> str | None:
        """The id of a batch created with this reference whose id never reached the journal; None if unknown."""
        return None

    def fingerprint(self) -> dict:
        return self.online.fingerprint()  # an answer is the model's, whichever API carried it: one cache for both

    def generate(self, requests: Sequence[ChatRequest], progress: bool = True,
                 on_result: Callable[[int, ChatResult], None] | None = None) -> list[ChatResult]:
        fp = self.fingerprint()
        run = _Run(wanted={}, requests={}, results=[None] * len(requests), on_result=on_result)
        for i, req in enumerate(requests):
            cid = req.cache_key(fp)
            run.wanted.setdefault(cid, []).append(i)
            run.requests[cid] = req
        self._reattach(run)
        covered = {cid for b in run.open.values() for cid in b["ids"]}
        fresh = []
        for cid in run.wanted:
            if cid in covered:
                continue
            reasons = list(self.journal.failures.get(cid, {}).values())
            if len(reasons) >= ATTEMPTS:
                self._give_up(run, cid, reasons[-1])
            else:
                fresh.append(cid)
        for round_ in range(ATTEMPTS):  # first batches, and follow-ups an earlier run did not get to submit
            self._submit(run, [cid for cid in fresh if len(self.journal.failures.get(cid, {})) == round_], round_)
        self._wait(run, progress)
        for i, res in enumerate(run.results):
            if res is None:  # cannot happen: every id ends answered, failed twice, or raised
                raise RmevalError(f"backend {self.name}: request {requests[i].key} has no batch result")
        return run.results

    # ------------------------------------------------------------------ submit
    def _reattach(self, run: _Run) -> None:
        for rec in self.journal.orphans():
            found = self.find(rec["ref"], rec.get("prepared") or {})
            if found:
                log.info("%s: found batch %s, created by a run killed before it recorded the id", self.name, found)
                self.journal.write(event="submitted", ref=rec["ref"], batch_id=found)
            else:
                log.warning("%s: a batch of %d request(s) was being created when an earlier run stopped and the provider "
                            "does not know it; its requests are submitted again", self.name, len(rec["ids"]))
                self.journal.write(**{**rec, "abandoned": True})
        for batch_id, entry in self.journal.batches.items():
            if batch_id not in self.journal.ended and any(cid in run.wanted for cid in entry["ids"]):
                run.open[batch_id] = entry
        if run.open:
            n = sum(len(e["ids"]) for e in run.open.values())
            log.info("%s: reattached to %d batch(es) of %d request(s) submitted by an earlier run: nothing is sent again",
                     self.name, len(run.open), n)

    def _submit(self, run: _Run, ids: list[str], round_: int) -> None:
        """Submit ``ids`` in as many batches as the provider's limits need (every id's first batch or all follow-ups)."""
        if not ids:
            return
        max_requests, max_bytes = self.config.limits()
        chunk: list[str] = []
        lines: list[bytes] = []
        size = 0
        for cid in ids:
            line = (json.dumps(self.line(cid, run.requests[cid]), ensure_ascii=False) + "\n").encode("utf-8")
            if len(line) > max_bytes:
                raise BatchRejectedError(f"backend {self.name}: request {run.requests[cid].key} alone is {len(line):,} bytes, "
                                         f"over the {max_bytes:,} bytes a batch may hold")
            if chunk and (len(chunk) >= max_requests or size + len(line) > max_bytes):
                self._create(run, chunk, lines, round_)
                chunk, lines, size = [], [], 0
            chunk.append(cid)
            lines.append(line)
            size += len(line)
        self._create(run, chunk, lines, round_)

    def _create(self, run: _Run, ids: list[str], lines: list[bytes], round_: int) -> None:
        ref = uuid.uuid4().hex
        prepared = self.prepare(lines)
        self.journal.write(event="submitting", ref=ref, round=round_, ids=ids, api=self.api, prepared=prepared)
        batch_id = self.create(lines, prepared, ref)
        self.journal.write(event="submitted", ref=ref, batch_id=batch_id)  # before any wait: a rerun reattaches
        run.open[batch_id] = self.journal.batches[batch_id]
        what = "follow-up batch" if round_ else "batch"
        log.info("%s: submitted %s %s with %d request(s) (%s API)", self.name, what, batch_id, len(ids), self.api)

    # ------------------------------------------------------------------ wait and collect
    def _wait(self, run: _Run, progress: bool) -> None:
        total = sum(len(idx) for idx in run.wanted.values())
        done = sum(r is not None for r in run.results)
        bar = progress_bar(total, f"{self.name}: batch", "req", enabled=progress)
        bar.update(done)
        start, last = time.monotonic(), None
        try:
            while run.open or run.retry:
                if run.retry:
                    retry, run.retry = run.retry, []
                    self._submit(run, retry, 1)
                states = {bid: self.state(bid) for bid in run.open}
                counts = (len(states), sum(s.total or len(run.open[b]["ids"]) for b, s in states.items()),
                          sum(s.completed for s in states.values()), sum(s.failed for s in states.values()))
                if counts != last:
                    log.info("%s: %d batch(es) of %d request(s): %d completed, %d failed, %d pending; %.1f min elapsed",
                             self.name, counts[0], counts[1], counts[2], counts[3], counts[1] - counts[2] - counts[3],
                             (time.monotonic() - start) / 60)
                    last = counts
                for bid, st in states.items():
                    if st.ended:
                        bar.update(self._collect(run, bid, st))
                if run.open and not run.retry:
                    time.sleep(float(self.config.poll_interval_s))
        finally:
            bar.close()

    def _collect(self, run: _Run, batch_id: str, st: BatchState) -> int:
        """Read an ended batch: answers into the cache, failures into the journal; how many wanted requests it settled."""
        entry = run.open.pop(batch_id)
        if st.rejected is not None:
            self.journal.write(event="ended", batch_id=batch_id, status=st.status)
            raise BatchRejectedError(f"backend {self.name}: {self.online.endpoint} rejected batch {batch_id} "
                                     f"({len(entry['ids'])} requests): {st.rejected}")
        seen, settled, failed = set(), 0, 0
        for out in self.outcomes(batch_id):
            if out.custom_id not in entry["ids"] or out.custom_id in seen:
                continue
            seen.add(out.custom_id)
            if out.result is not None:
                settled += self._answer(run, out.custom_id, out.result, batch_id)
            else:
                failed += 1
                settled += self._failed(run, out.custom_id, batch_id, f"batch {batch_id}: {out.reason}")
        missing = [cid for cid in entry["ids"] if cid not in seen]
        for cid in missing:  # no result line at all: the batch ended (expired, cancelled) before reaching it
            settled += self._failed(run, cid, batch_id, f"batch {batch_id} {st.status} before answering it")
        if failed or missing:
            log.warning("%s: batch %s %s with %d of %d request(s) unanswered (%s)", self.name, batch_id, st.status,
                        failed + len(missing), len(entry["ids"]),
                        "they go into one follow-up batch" if entry["round"] + 1 < ATTEMPTS else "kept invalid with the reason")
        self.journal.write(event="ended", batch_id=batch_id, status=st.status)
        return settled

    def _answer(self, run: _Run, cid: str, result: ChatResult, batch_id: str) -> int:
        result.cache_key = cid
        result.extra = {**(result.extra or {}), "batch_id": batch_id, "mode": "batch"}
        if cid not in run.wanted:  # paid for in an earlier run's batch, no longer asked for: keep it all the same
            if result.ok and cid not in self.cache:
                self.cache.append(result)
            return 0
        for i in run.wanted[cid]:
            if run.results[i] is None:
                run.results[i] = dataclasses.replace(result, key=run.requests[cid].key)
                if run.on_result is not None:
                    run.on_result(i, run.results[i])
        return len(run.wanted[cid])

    def _failed(self, run: _Run, cid: str, batch_id: str, reason: str) -> int:
        self.journal.write(event="failed", id=cid, batch_id=batch_id, reason=reason)
        if cid not in run.wanted:
            return 0
        if len(self.journal.failures[cid]) < ATTEMPTS:
            run.retry.append(cid)
            return 0
        return self._give_up(run, cid, reason)

    def _give_up(self, run: _Run, cid: str, reason: str) -> int:
        message = f"{reason} (failed in {ATTEMPTS} batches; kept invalid: delete {self.journal.path.name} to try again)"
        for i in run.wanted[cid]:
            run.results[i] = ChatResult(key=run.requests[cid].key, text=None, error=message, transient=False,
                                        cache_key=cid, extra={"mode": "batch"})
            if run.on_result is not None:
                run.on_result(i, run.results[i])
        return len(run.wanted[cid])

