"""The score cache: an interrupted job resumes without rescoring finished texts; dedup; reuse across runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmeval.data.rmb import load_rmb
from rmeval.rms.baselines import LengthRM
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.scoring import ScoreCache, score_texts


class CountingRM(LengthRM):
    """Length RM that records which texts it scored and can fail after a number of batches."""

    def __init__(self, fail_after: int | None = None):
        super().__init__(name="counting")
        self.token_budget, self.max_batch_size = 1 << 30, 4
        self.scored: list[int] = []
        self.fail_after, self.calls = fail_after, 0

    def score_batch(self, batch):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("killed")
        self.scored += [e.payload for e in batch]
        return super().score_batch(batch)


@pytest.fixture
def smoke_texts(smoke_root):
    _, texts, _ = load_rmb(smoke_root, benchmark="smoke", check_manifest=False)
    return texts


def test_each_unique_text_is_scored_once(smoke_texts):
    doubled = pd.concat([smoke_texts, smoke_texts])
    rm = CountingRM()
    scores, stats = score_texts(rm, doubled, progress=False)
    assert len(scores) == len(smoke_texts) == stats.n_scored == len(rm.scored)
    assert set(scores["text_id"]) == set(smoke_texts["text_id"])


def test_killed_job_resumes_without_rescoring(smoke_texts, tmp_path):
    fp = {"rm": "counting", "family": "length", "unit": "chars"}
    first = CountingRM(fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        score_texts(first, smoke_texts, ScoreCache(tmp_path, fp), flush_every=100, progress=False)
    done = len(first.scored)
    assert done == 12  # 3 batches of 4 before the kill, flushed on the way out
    cache = ScoreCache(tmp_path, fp)
    assert len(cache) == done

    second = CountingRM()
    scores, stats = score_texts(second, smoke_texts, cache, flush_every=1, progress=False)
    assert stats.n_cached == done and stats.n_scored == len(smoke_texts) - done
    assert len(second.scored) == len(smoke_texts) - done  # nothing rescored
    expected = [float(len(r)) for r in smoke_texts["response"]]
    np.testing.assert_array_equal(scores["score"].to_numpy(), expected)

    third = CountingRM()
    _, stats3 = score_texts(third, smoke_texts, ScoreCache(tmp_path, fp), progress=False)
    assert stats3.n_scored == 0 and third.calls == 0


def test_cache_key_follows_the_fingerprint(tmp_path):
    a = ScoreCache(tmp_path, {"rm": "x", "max_length": 512})
    b = ScoreCache(tmp_path, {"rm": "x", "max_length": 1024})
    assert a.dir != b.dir


def test_classifier_resume_matches_uninterrupted(tiny_classifier_dir, smoke_texts, tmp_path):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=128, token_budget=256, max_batch_size=8)
    full, _ = score_texts(rm, smoke_texts, progress=False)

    class Dying(SequenceClassifierRM):
        calls = 0

        def score_batch(self, batch):
            Dying.calls += 1
            if Dying.calls > 2:
                raise RuntimeError("out of memory")
            return super().score_batch(batch)

    dying = Dying(name="tiny", model=str(tiny_classifier_dir), max_length=128, token_budget=256, max_batch_size=8)
    fp = dying.fingerprint()
    with pytest.raises(RuntimeError):
        score_texts(dying, smoke_texts, ScoreCache(tmp_path, fp), progress=False)
    resumed, stats = score_texts(rm, smoke_texts, ScoreCache(tmp_path, rm.fingerprint()), progress=False)
    assert stats.n_cached > 0 and stats.n_scored > 0
    np.testing.assert_allclose(resumed["score"].to_numpy(), full["score"].to_numpy(), atol=1e-4)


def test_sigterm_flushes_the_cache(smoke_texts, tmp_path):
    """Snakemake (or a cluster) stopping the job with SIGTERM still leaves the finished batches in the cache."""
    import os
    import signal

    class Terminated(CountingRM):
        def score_batch(self, batch):
            if self.calls == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return super().score_batch(batch)

    fp = {"rm": "terminated"}
    rm = Terminated()
    with pytest.raises(KeyboardInterrupt):
        score_texts(rm, smoke_texts, ScoreCache(tmp_path, fp), flush_every=100, progress=False)
    assert len(ScoreCache(tmp_path, fp)) == len(rm.scored) >= 8
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_wall_time_is_measured_from_the_start(smoke_texts):
    import time

    t0 = time.perf_counter()
    _, stats = score_texts(CountingRM(), smoke_texts, progress=False)
    assert 0.0 <= stats.wall_s <= time.perf_counter() - t0
