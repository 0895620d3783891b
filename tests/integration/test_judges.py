"""Generative judges: verdict/rating parsing goldens, positions read from the items, comparison outcomes, and
end to end against a local OpenAI-compatible server."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from rmeval.benchmarks import build_benchmark
from rmeval.llm.base import ChatBackend, ChatResult
from rmeval.metrics import item_outcomes
from rmeval.metrics import comparison_outcomes
from rmeval.rms.judge import PairwiseJudgeRM, RatingJudgeRM, parse_rating, parse_verdict
from rmeval.scoring import score_texts


@pytest.mark.parametrize("text,verdict", [
    ("I prefer A. [[A]]", "A"), ("[[B]]", "B"), ("first [[A]] but finally [[C]]", "tie"),
    ("[[ B ]]", "B"), ("no verdict", "invalid"), ("[[D]]", "invalid"), (None, "invalid"), ("", "invalid"),
])
def test_parse_verdict(text, verdict):
    assert parse_verdict(text) == verdict


@pytest.mark.parametrize("text,rating", [("Rating: [[7]]", 7.0), ("[[10]]", 10.0), ("[[7.5]]", 7.5), ("[[3]] then [[8]]", 8.0)])
def test_parse_rating(text, rating):
    assert parse_rating(text) == rating


@pytest.mark.parametrize("text", ["[[11]]", "[[0]]", "Rating: 7", None])
def test_parse_rating_invalid(text):
    assert math.isnan(parse_rating(text))


class LongerWins(ChatBackend):
    """Judge that prefers the longer answer (A on equal length), and rates by length; deterministic."""

    name = "longer"

    def __init__(self):
        self.calls = 0

    def fingerprint(self):
        return {"backend": "longer"}

    def generate(self, requests, progress=True, on_result=None):
        out = []
        for i, r in enumerate(requests):
            self.calls += 1
            prompt = r.messages[-1]["content"]
            if "Assistant A's Answer" in prompt:
                a = re.search(r"Assistant A's Answer\]\n(.*?)\n\[The End of Assistant A", prompt, re.S).group(1)
                b = re.search(r"Assistant B's Answer\]\n(.*?)\n\[The End of Assistant B", prompt, re.S).group(1)
                text = "[[A]]" if len(a) >= len(b) else "[[B]]"
            else:
                resp = re.search(r"Assistant's Answer\]\n(.*?)\n\[The End", prompt, re.S).group(1)
                text = f"Rating: [[{min(10, 1 + len(resp) // 20)}]]"
            res = ChatResult(key=r.key, text=text)
            out.append(res)
            if on_result:
                on_result(i, res)
        return out


@pytest.fixture(scope="module")
def smoke(smoke_root):
    bench = {"name": "smoke", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}, "position_seed": 0}
    items, texts, _ = build_benchmark(bench).load(smoke_root)
    return items, texts


def test_positions_are_in_the_items_and_used(smoke):
    items, texts = smoke
    assert all(len(p) == len(r) for p, r in zip(items["chosen_positions"], items["rejected_ids"]))
    flat = [p for ps in items["chosen_positions"] for p in ps]
    assert {"A", "B"} == set(flat)
    judge = PairwiseJudgeRM(name="j", backend=LongerWins())
    rows, requests = judge.plan(items, texts)
    assert len(rows) == sum(len(r) for r in items["rejected_ids"])
    for row, (item, k) in zip(rows, [(it, k) for it in items.itertuples() for k in range(len(it.rejected_ids))]):
        assert row["chosen_is_a"] == (item.chosen_positions[k] == "A")
        assert (row["a_id"] == item.chosen_id) == row["chosen_is_a"]
    both = PairwiseJudgeRM(name="j", backend=LongerWins(), both_orders=True).plan(items, texts)[0]
    assert len(both) == 2 * len(rows)


def test_pairwise_judge_matches_the_length_rule(smoke):
    """A judge that prefers longer answers must get exactly the items right that a strict length RM gets right,
    except where lengths tie (the judge says A: right only when the chosen was shown as A)."""
    items, texts = smoke
    comparisons = PairwiseJudgeRM(name="j", backend=LongerWins()).compare(items, texts, progress=False)
    outcomes, stats = comparison_outcomes(items, comparisons)
    lengths = dict(zip(texts["text_id"], texts["response"].str.len().astype(float)))
    length_outcomes = item_outcomes(items, lengths)
    strict = length_outcomes["margin"] != 0
    assert (outcomes["correct"][strict] == length_outcomes["correct"][strict]).all()
    assert stats["verdicts"]["invalid"] == 0 and stats["n_comparisons"] == len(comparisons)
    assert stats["consistency_rate"] is None


def test_comparison_outcomes_golden():
    items = pd.DataFrame({
        "item_id": ["p1", "p2", "b1", "b2"], "format": ["pairwise", "pairwise", "bon", "bon"], "goal": ["Helpfulness"] * 4,
        "task": ["t"] * 4, "scenario": ["s"] * 4, "chosen_id": ["c"] * 4, "rejected_ids": [["x"], ["x"], ["x", "y"], ["x", "y"]],
    })
    rows = [
        # item_id, loser_index, chosen_is_a, order, verdict
        ("p1", 0, True, "original", "A"), ("p1", 0, False, "swapped", "B"),      # won in both orders
        ("p2", 0, True, "original", "A"), ("p2", 0, False, "swapped", "A"),      # position bias: inconsistent
        ("b1", 0, False, "original", "B"), ("b1", 1, True, "original", "tie"),   # one won, one tie -> tie
        ("b2", 0, True, "original", "A"), ("b2", 1, True, "original", "invalid"),  # invalid
    ]
    comp = pd.DataFrame(rows, columns=["item_id", "loser_index", "chosen_is_a", "order", "verdict"])
    comp["chosen_won"] = ((comp["verdict"] == "A") & comp["chosen_is_a"]) | ((comp["verdict"] == "B") & ~comp["chosen_is_a"])
    out, stats = comparison_outcomes(items, comp)
    assert out["correct"].tolist() == [True, False, False, False]
    assert out["tie"].tolist() == [False, False, True, False]
    assert out["invalid"].tolist() == [False, False, False, True]
    assert out["n_losers"].tolist() == [1, 1, 2, 2]
    assert stats["consistency_rate"] == pytest.approx(0.5) and stats["n_pairs_both_orders"] == 2
    assert stats["verdicts"] == {"A": 4, "B": 2, "tie": 1, "invalid": 1}
    assert stats["share_A_among_valid"] == pytest.approx(4 / 6)


def test_rating_judge_is_a_scalar_rm(smoke, tmp_path):
    items, texts = smoke
    backend = LongerWins()
    rm = RatingJudgeRM(name="r", backend=backend, cache_path=str(tmp_path / "gen.jsonl"))
    scores, stats = score_texts(rm, texts, progress=False)
    assert stats.n_scored == len(texts) and scores["score"].between(1, 10).all()
    expected = [float(min(10, 1 + len(r) // 20)) for r in texts["response"]]
    np.testing.assert_array_equal(scores["score"].to_numpy(), expected)
    calls = backend.calls
    RatingJudgeRM(name="r", backend=backend, cache_path=str(tmp_path / "gen.jsonl")).score_batch(
        [rm.encode(t, list(c), r) for t, c, r in zip(texts["text_id"][:3], texts["conversation"][:3], texts["response"][:3])]
    )
    assert backend.calls == calls  # served from the generation cache


def test_pairwise_judge_against_a_local_openai_server(smoke, tmp_path):
    from test_llm_backends import FaultServer  # noqa: E402  (same folder)

    from rmeval.llm.cache import GenerationCache
    from rmeval.llm.openai_compat import OpenAICompatBackend

    items, texts = smoke
    server = FaultServer()
    try:
        be = OpenAICompatBackend(model="judge", base_url=server.url, api_key_env=None, concurrency=4, timeout_s=5)
        judge = PairwiseJudgeRM(name="api-judge", backend=be, both_orders=True)
        comparisons = judge.compare(items, texts, cache=GenerationCache(tmp_path / "c.jsonl"), progress=False)
        outcomes, stats = comparison_outcomes(items, comparisons)
        # the server always answers [[A]]: pure position bias; correct only where the chosen was A in both orders,
        # which never happens, so nothing is correct and consistency is 0
        assert stats["share_A_among_valid"] == 1.0 and stats["consistency_rate"] == 0.0
        assert not outcomes["correct"].any()
    finally:
        server.close()


def test_knockout_picks_the_judges_favourite_in_every_pool(smoke):
    """A judge preferring longer answers must crown each pool's longest response, whatever the seeded order."""
    from rmeval.downstream import knockout_picks, oracle_pools

    items, texts = smoke
    pools = oracle_pools(items)
    judge = PairwiseJudgeRM(name="j", backend=LongerWins())
    picks, counts = knockout_picks(pools, texts, judge, seed=3, progress=False)
    length = dict(zip(texts["text_id"], texts["response"].str.len()))
    for pid, group in pools.groupby("prompt_id"):
        assert length[picks[pid]] == max(length[t] for t in group["text_id"])
    assert sum(counts.values()) == sum(len(g) - 1 for _, g in pools.groupby("prompt_id")) and counts["invalid"] == 0
