"""The scoring engine: every unique text scored once per RM, in length-sorted token-budget batches, with a
per-RM cache keyed by text_id that survives an interrupted job. Nothing here depends on the device: the same plan,
cache and counts on a CPU and a GPU.

Cache layout: ``<cache_dir>/<fingerprint>/part-<time>-<pid>-<random>-<n>.parquet`` (text_id, score, n_tokens,
truncated). Each part is written atomically after ``flush_every`` batches and when the job stops for any reason
(exception, Ctrl-C, SIGTERM), so a rerun scores only what is not there yet. Part names are unique per writer (two
jobs on the same RM, e.g. two benchmarks, never overwrite each other's parts), and reading them back does not
depend on their order: a text found in several parts keeps the smallest (score, n_tokens, truncated). The fingerprint hashes everything that changes a score
(``PointwiseRM.fingerprint``), so a second benchmark or the downstream stage reuses the same cache.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import signal
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rmeval.ids import stable_hash
from rmeval.io import atomic_path
from rmeval.progress import progress_bar
from rmeval.rms.base import SCORE_COLUMNS, Encoded, PointwiseRM
from rmeval.rms.packed import plan_batches  # noqa: F401  (the engine's planner; also imported from here)

log = logging.getLogger(__name__)

ENCODE_CHUNK = 1024  # texts tokenised per call (bulk tokenisation, progress updates)


@dataclass
class ScoringStats:
    """What a scoring run did. Token counts are forward-pass tokens of the texts scored in this run."""

    n_texts: int = 0  # unique texts requested
    n_cached: int = 0  # found in the cache
    n_scored: int = 0  # scored in this run
    n_batches: int = 0
    real_tokens: int = 0  # sum of text lengths (the unique-token floor)
    padded_tokens: int = 0  # what the forward passes processed: rows x batch width (padded), real tokens (packed)
    shared_prefix_tokens: int = 0  # tokens of prompt prefixes shared by several texts of a packed batch, computed once
    n_truncated: int = 0
    wall_s: float = 0.0
    forward_s: float = 0.0  # summed over the batches
    path: str = ""  # packed or padded batches (the RM's choice at load, rmeval.rms.classifier.choose_batching)

    @property
    def padding_efficiency(self) -> float:
        """Of the tokens the forward passes processed, the fraction that were text (not padding)."""
        return (self.real_tokens - self.shared_prefix_tokens) / self.padded_tokens if self.padded_tokens else 1.0

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        out["padding_efficiency"] = self.padding_efficiency
        return out


class ScoreCache:
    """Append-only parquet parts of (text_id, score, n_tokens, truncated) for one RM fingerprint."""

    def __init__(self, cache_dir: str | Path, fingerprint: dict):
        self.key = stable_hash(fingerprint)
        self.dir = Path(cache_dir) / self.key
        self.fingerprint = fingerprint
        self._rows: dict[str, tuple] = {}
        self._pending: list[tuple] = []
        self._writer = f"{os.getpid()}-{secrets.token_hex(4)}"  # this writer's part names cannot collide with another's
        self._n_parts = 0
        self._load()

    def _load(self) -> None:
        if not self.dir.is_dir():
            return
        for part in self.dir.glob("part-*.parquet"):
            try:
                df = pd.read_parquet(part)
            except Exception as err:  # a torn file from a crash mid-rename cannot happen, but never trust a cache
                log.warning("score cache: ignoring unreadable %s (%s)", part, err)
                continue
            for row in df.itertuples(index=False):
                self._keep(row.text_id, (float(row.score), int(row.n_tokens), bool(row.truncated)))

    def _keep(self, text_id: str, row: tuple) -> None:
        """Order-independent merge: of several rows for one text, the smallest wins (NaN scores sort last)."""
        old = self._rows.get(text_id)
        if old is None or _merge_key(row) < _merge_key(old):
            self._rows[text_id] = row

    def __contains__(self, text_id: str) -> bool:
        return text_id in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def text_ids(self) -> set[str]:
        return set(self._rows)

    def get(self, text_id: str) -> tuple:
        return self._rows[text_id]

    def add(self, text_ids: Sequence[str], scores: np.ndarray, batch: Sequence[Encoded]) -> None:
        for tid, score, enc in zip(text_ids, scores, batch):
            row = (float(score), int(enc.n_tokens), bool(enc.truncated))
            self._rows[tid] = row
            self._pending.append((tid, *row))

    def flush(self) -> None:
        if not self._pending:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        df = pd.DataFrame(self._pending, columns=SCORE_COLUMNS)
        name = f"part-{time.time_ns():020d}-{self._writer}-{self._n_parts:05d}.parquet"
        with atomic_path(self.dir / name) as tmp:
            df.to_parquet(tmp, index=False)
        self._n_parts += 1
        self._pending = []


def _merge_key(row: tuple) -> tuple:
    score, n_tokens, truncated = row
    return (math.isnan(score), 0.0 if math.isnan(score) else score, n_tokens, truncated)


def forward_tokens(batch: Sequence[Encoded], packed: bool) -> int:
    """Tokens a forward pass processes: every real token when packed, rows x longest row when padded."""
    real = sum(e.n_tokens for e in batch)
    return real if packed else len(batch) * max(e.n_tokens for e in batch)


def plan_for(rm: PointwiseRM, encoded: Sequence[Encoded]) -> list[list[int]]:
    """The RM's batches (positions into ``encoded``; call after ``rm.load()``): its own ``plan`` where it has one
    (a decoder classifier's chosen path, ``rmeval.rms.batching``), else length-sorted padded token-budget batches."""
    if hasattr(rm, "plan"):
        return rm.plan(encoded)
    return plan_batches([rm.batch_length(e) for e in encoded], rm.token_budget, rm.max_batch_size)


def batch_cost(rm: PointwiseRM, batch: Sequence[Encoded]) -> int:
    """Forward tokens of one batch of this RM (what shards are balanced by)."""
    if hasattr(rm, "forward_tokens"):
        return rm.forward_tokens(batch)
    return forward_tokens(batch, packed=False)


class BackgroundLoad:
    """``rm.load()`` on a second thread while the job's thread tokenises: loading a model is mostly imports and
    file reads (the GIL is held in turn), tokenising is mostly the tokenizers library's native batch encoder (which
    releases it), so the two overlap on a 2-core machine. Tokenise + load of the tiny classifier on 961 RMB texts,
    three runs each: 2.11-2.25 s one after the other, 1.68-2.12 s overlapped. The thread is a daemon: a job stopped
    while encoding does not wait for it. An RM opts in with ``load_while_encoding = True`` (``PointwiseRM``) when
    its ``load()`` does not use the tokenizer in ways that change its state."""

    def __init__(self, rm: PointwiseRM):
        import threading

        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(rm,), name=f"load {getattr(rm, 'name', 'rm')}", daemon=True)
        self._thread.start()

    def _run(self, rm: PointwiseRM) -> None:
        try:
            rm.load()
        except BaseException as err:  # noqa: BLE001  (handed to the job's thread by wait())
            self._error = err

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def run_batches(rm: PointwiseRM, batches: Sequence[Sequence[int]], encoded: Sequence[Encoded]
                ) -> Iterator[tuple[Sequence[int], np.ndarray, float]]:
    """(batch positions, scores, forward seconds) for each batch, in plan order."""
    for idx in batches:
        t0 = time.perf_counter()
        scores = np.asarray(rm.score_batch([encoded[i] for i in idx]), dtype=np.float64)
        yield idx, scores, time.perf_counter() - t0


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM (Snakemake stopping a job, a cluster pre-emption) into an exception so caches flush."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def score_texts(
    rm: PointwiseRM,
    texts: pd.DataFrame,
    cache: ScoreCache | None = None,
    flush_every: int = 8,
    progress: bool = True,
    batch_of: dict | None = None,
) -> tuple[pd.DataFrame, ScoringStats]:
    """Scores for every row of ``texts`` (text_id, conversation, response), one per unique text_id.

    ``batch_of`` (text_id -> (batch, position)) replaces the batch plan with a given one: a shard job scores its
    texts in exactly the batches of the unsharded plan (``rmeval.sharding``), so its scores are bit for bit the same."""
    start = time.perf_counter()
    unique = texts.drop_duplicates("text_id")
    stats = ScoringStats(n_texts=len(unique))
    todo = unique if cache is None else unique[~unique["text_id"].isin(cache.text_ids())]
    stats.n_cached = stats.n_texts - len(todo)
    fresh: dict[str, tuple] = {}
    if len(todo):
        if stats.n_cached:
            log.info("%s: %d of %d texts already cached; scoring the other %d", rm.name, stats.n_cached, stats.n_texts, len(todo))
        ids = todo["text_id"].tolist()
        loading = BackgroundLoad(rm) if getattr(rm, "load_while_encoding", False) else None  # duck-typed RMs too
        encoded = []
        convs, resps = todo["conversation"].tolist(), todo["response"].tolist()
        with progress_bar(len(ids), f"{rm.name}: encode", "text", enabled=progress, mininterval=2.0) as bar:
            for lo in range(0, len(ids), ENCODE_CHUNK):
                hi = lo + ENCODE_CHUNK
                encoded += rm.encode_many(ids[lo:hi], convs[lo:hi], resps[lo:hi])
                bar.update(len(ids[lo:hi]))
        if loading is not None:
            loading.wait()  # re-raises the load's error here, in the job's thread
        else:
            rm.load()  # first: whether the RM packs its batches decides the plan
        if batch_of is not None:
            groups: dict = {}
            for i, tid in enumerate(ids):
                b, pos = batch_of[tid]
                groups.setdefault(b, []).append((pos, i))
            batches = [[i for _, i in sorted(groups[b])] for b in sorted(groups)]
        else:
            batches = plan_for(rm, encoded)
        path = getattr(rm, "path", None)  # after planning: the plan may pick the RM's path (rmeval.rms.batching)
        stats.path = path.name if path is not None else "padded"
        bar = progress_bar(len(ids), f"{rm.name}: score", "text", enabled=progress, mininterval=2.0)
        try:
            with _sigterm_raises(), closing(run_batches(rm, batches, encoded)) as results:
                for b, (batch_idx, scores, seconds) in enumerate(results, 1):
                    batch = [encoded[i] for i in batch_idx]
                    stats.forward_s += seconds
                    if scores.shape != (len(batch),):
                        raise RuntimeError(f"rm {rm.name}: score_batch returned shape {scores.shape} for {len(batch)} texts")
                    batch_ids = [ids[i] for i in batch_idx]
                    if cache is not None:
                        cache.add(batch_ids, scores, batch)
                        if b % flush_every == 0:
                            cache.flush()
                    for tid, s, e in zip(batch_ids, scores, batch):
                        fresh[tid] = (float(s), int(e.n_tokens), bool(e.truncated))
                    stats.n_batches += 1
                    stats.n_scored += len(batch)
                    stats.real_tokens += sum(e.n_tokens for e in batch)
                    stats.padded_tokens += batch_cost(rm, batch)
                    if hasattr(rm, "shared_tokens"):
                        stats.shared_prefix_tokens += rm.shared_tokens(batch)
                    bar.update(len(batch))
        finally:
            bar.close()
            if cache is not None:
                cache.flush()
    rows = []
    for tid in unique["text_id"]:
        score, n_tok, trunc = fresh[tid] if tid in fresh else cache.get(tid)
        rows.append((tid, score, n_tok, trunc))
    out = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    out["n_tokens"] = out["n_tokens"].astype("int64")
    out["truncated"] = out["truncated"].astype(bool)
    stats.n_truncated = int(out["truncated"].sum())
    stats.wall_s = time.perf_counter() - start
    n_nan = int(out["score"].isna().sum())
    if n_nan:
        log.warning("%s: %d texts got a NaN score; metrics count them as invalid (not correct)", rm.name, n_nan)
    return out, stats


def read_scores(path) -> tuple[pd.DataFrame, dict]:
    """(scores frame, provenance dict) from a score file written by the score stage."""
    import json

    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"rmeval", b"{}"))
    return table.to_pandas(), meta


def write_scores(scores: pd.DataFrame, meta: dict, path) -> None:
    """Write a score file (atomically) with its provenance in the parquet metadata, as ``read_scores`` reads it."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(scores, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"rmeval": json.dumps(meta, default=str).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
