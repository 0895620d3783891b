"""Model-free baselines, the token-budget batch planner and the text identity."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from rmeval.ids import prompt_id, text_id
from rmeval.rms.baselines import LengthRM, RandomRM
from rmeval.scoring import plan_batches

CONV = [{"role": "user", "content": "Hi"}]


def score(rm, ids_and_responses):
    return rm.score_batch([rm.encode(tid, CONV, resp) for tid, resp in ids_and_responses])


# ------------------------------------------------------------------------------------------- RandomRM
def test_random_rm_is_a_function_of_seed_and_text_id():
    rm = RandomRM(seed=0)
    ids = [f"t{i:02d}" for i in range(20)]
    whole = score(rm, [(t, "r") for t in ids])
    again = score(rm, [(t, "other response, same id") for t in ids])
    split = np.concatenate([score(rm, [(t, "r") for t in ids[:7]]), score(rm, [(t, "r") for t in ids[7:13]]), score(rm, [(t, "r") for t in ids[13:]])])
    one_by_one = np.array([score(rm, [(t, "r")])[0] for t in ids])
    reordered = score(rm, [(t, "r") for t in reversed(ids)])[::-1]
    assert whole.dtype == np.float64 and whole.shape == (20,)
    assert np.array_equal(whole, again)
    assert np.array_equal(whole, split)
    assert np.array_equal(whole, one_by_one)
    assert np.array_equal(whole, reordered)
    assert np.array_equal(whole, score(RandomRM(name="other-name", seed=0), [(t, "r") for t in ids]))
    assert ((whole >= 0.0) & (whole < 1.0)).all()
    assert len(set(whole.tolist())) == 20


def test_random_rm_value_is_the_documented_hash():
    # (first 8 bytes of sha256("<seed>:<text_id>") as a big-endian int) >> 11, over 2^53
    digest = hashlib.sha256(b"3:abc").digest()
    expected = (int.from_bytes(digest[:8], "big") >> 11) / 2.0**53
    assert score(RandomRM(seed=3), [("abc", "x")])[0] == expected


def test_random_rm_seeds_differ():
    ids = [(f"t{i}", "r") for i in range(10)]
    a, b = score(RandomRM(seed=0), ids), score(RandomRM(seed=1), ids)
    assert not np.any(a == b)
    assert RandomRM(seed="5").seed == 5
    assert RandomRM(seed=0).fingerprint() == {"family": "random", "seed": 0}
    assert RandomRM(seed=0).fingerprint() != RandomRM(seed=1).fingerprint()


def test_random_rm_mean_is_about_half():
    s = score(RandomRM(seed=0), [(f"id{i}", "") for i in range(2000)])
    assert abs(s.mean() - 0.5) < 0.03  # sd of the mean ~0.0065
    assert s.min() >= 0.0 and s.max() < 1.0


# ------------------------------------------------------------------------------------------- LengthRM
def test_length_rm_chars():
    rm = LengthRM()
    assert rm.unit == "chars"
    got = score(rm, [("a", "hello  world"), ("b", ""), ("c", "héllo\n"), ("d", " a b ")])
    assert got.tolist() == [12.0, 0.0, 6.0, 5.0]
    assert got.dtype == np.float64


def test_length_rm_words():
    rm = LengthRM(unit="words")
    got = score(rm, [("a", "hello  world"), ("b", ""), ("c", "one\ttwo\nthree"), ("d", "   ")])
    assert got.tolist() == [2.0, 0.0, 3.0, 0.0]
    assert rm.fingerprint() == {"family": "length", "unit": "words"}


def test_length_rm_rejects_unknown_unit():
    with pytest.raises(ValueError, match="tokens"):
        LengthRM(unit="tokens")


# ------------------------------------------------------------------------------------------- plan_batches
def check_plan(lengths, budget, max_bs, batches):
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths))), "every index exactly once"
    for b in batches:
        assert 1 <= len(b) <= max_bs
        width = max(lengths[i] for i in b)
        assert len(b) * width <= budget or len(b) == 1
    # longest first, overall order by (-length, index)
    assert flat == sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))


def test_plan_batches_hand_example():
    lengths = [5, 1, 3, 10, 2]
    # order: 3(10), 0(5), 2(3), 4(2), 1(1); [3] alone (2*10 > 10); [0, 2] (2*5 = 10); max 2 rows -> [4, 1]
    got = plan_batches(lengths, token_budget=10, max_batch_size=2)
    assert got == [[3], [0, 2], [4, 1]]
    check_plan(lengths, 10, 2, got)


def test_plan_batches_fills_to_budget():
    # 4 rows of width 4 = 16 fit; the fifth would make 5*4 = 20 > 16
    assert plan_batches([4, 4, 4, 4, 4, 3, 1], token_budget=16, max_batch_size=100) == [[0, 1, 2, 3], [4, 5, 6]]


def test_plan_batches_over_long_text_alone():
    got = plan_batches([3, 20, 3, 25], token_budget=10, max_batch_size=8)
    assert got == [[3], [1], [0, 2]]
    check_plan([3, 20, 3, 25], 10, 8, got)


def test_plan_batches_max_batch_size():
    got = plan_batches([1] * 7, token_budget=1000, max_batch_size=3)
    assert got == [[0, 1, 2], [3, 4, 5], [6]]


def test_plan_batches_ties_keep_index_order_and_empty():
    assert plan_batches([2, 2, 2], token_budget=4, max_batch_size=10) == [[0, 1], [2]]
    assert plan_batches([], token_budget=4, max_batch_size=10) == []


@pytest.mark.parametrize("seed", range(5))
def test_plan_batches_properties_random(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 300, size=200).tolist()
    budget, max_bs = 1024, 16
    batches = plan_batches(lengths, budget, max_bs)
    check_plan(lengths, budget, max_bs, batches)
    # greedy: a batch is only closed when the next text would not fit
    for b, nxt in zip(batches, batches[1:]):
        width = max(lengths[i] for i in b)
        assert len(b) == max_bs or (len(b) + 1) * max(width, lengths[nxt[0]]) > budget


# ------------------------------------------------------------------------------------------- ids
def test_text_id_ignores_language_and_other_metadata():
    a = [{"role": "user", "content": "Hi", "language": "English"}]
    b = [{"role": "user", "content": "Hi", "language": "Chinese", "extra": 1}]
    assert text_id(a, "Hello") == text_id(b, "Hello") == text_id(CONV, "Hello")
    assert prompt_id(a) == prompt_id(b)


def test_text_id_differs_when_content_differs():
    base = text_id(CONV, "Hello")
    assert len(base) == 16 and all(c in "0123456789abcdef" for c in base)
    assert text_id(CONV, "Hello.") != base
    assert text_id(CONV, "hello") != base
    assert text_id([{"role": "system", "content": "Hi"}], "Hello") != base
    assert text_id([{"role": "user", "content": "Hi!"}], "Hello") != base
    assert text_id(CONV + [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}], "Hello") != base
    assert prompt_id(CONV) != text_id(CONV, "")
    # turn boundaries matter: ["a", "b"] is not ["ab"]
    two = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    one = [{"role": "user", "content": "ab"}]
    assert text_id(two, "r") != text_id(one, "r")


def test_text_id_is_stable():
    # sha256 of the canonical JSON ["text",[["user","Hi"]],"Hello"], first 16 hex chars
    blob = '["text",[["user","Hi"]],"Hello"]'.encode()
    assert text_id(CONV, "Hello") == hashlib.sha256(blob).hexdigest()[:16]


# ------------------------------------------------------------------ loading while encoding (scoring.BackgroundLoad)
class _SlowLoadRM(LengthRM):
    """A length RM whose load() runs on the loading thread (recorded) and may fail."""

    load_while_encoding = True

    def __init__(self, fail: bool = False):
        super().__init__(name="slow-load", unit="chars")
        self.fail, self.load_thread, self.loaded = fail, None, False

    def load(self) -> None:
        import threading
        import time

        time.sleep(0.05)
        self.load_thread = threading.get_ident()
        if self.fail:
            raise RuntimeError("rm slow-load: weights missing")
        self.loaded = True

    def score_batch(self, batch):
        assert self.loaded, "scored before load() finished"
        return super().score_batch(batch)


def _texts(n: int):
    import pandas as pd

    return pd.DataFrame({"text_id": [f"t{i}" for i in range(n)], "conversation": [[{"role": "user", "content": "q"}]] * n,
                         "response": ["x" * (i + 1) for i in range(n)]})


def test_background_load_runs_beside_encoding_and_scores_match():
    import threading

    from rmeval.scoring import score_texts

    rm = _SlowLoadRM()
    scores, stats = score_texts(rm, _texts(5), cache=None, progress=False)
    assert rm.load_thread is not None and rm.load_thread != threading.get_ident()
    assert scores["score"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert stats.n_scored == 5


def test_background_load_error_reaches_the_job():
    from rmeval.scoring import score_texts

    with pytest.raises(RuntimeError, match="weights missing"):
        score_texts(_SlowLoadRM(fail=True), _texts(3), cache=None, progress=False)
