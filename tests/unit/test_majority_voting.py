"""Issue 12 (item 4, first half): majority voting for pairwise judges: golden votes, ties reported, seeds written,
answers reused from the generation cache when k grows."""

from __future__ import annotations

import pandas as pd
import pytest

from rmeval.llm.base import ChatBackend, ChatResult
from rmeval.llm.cache import GenerationCache
from rmeval.metrics import comparison_outcomes
from rmeval.rms.judge import PairwiseJudgeRM, majority_verdict


@pytest.mark.parametrize("votes,expected", [
    (["A"], ("A", False)), (["A", "A", "B"], ("A", False)), (["B", "A", "B", "invalid", "invalid"], ("B", False)),
    (["A", "B"], ("tie", True)), (["A", "B", "tie"], ("tie", True)), (["tie", "tie", "A"], ("tie", False)),
    (["invalid", "invalid"], ("invalid", False)), (["invalid", "A"], ("A", False)), ([], ("invalid", False)),
])
def test_majority_verdict_golden(votes, expected):
    assert majority_verdict(votes) == expected


class SeededVerdicts(ChatBackend):
    """Answers by the request's seed: ``script[seed]`` is the output text (verdict markup or garbage)."""

    name = "seeded"

    def __init__(self, script: dict[int, str]):
        self.script, self.sent = script, []

    def fingerprint(self):
        return {"backend": "seeded"}

    def generate(self, requests, progress=True, on_result=None):
        out = []
        for i, r in enumerate(requests):
            self.sent.append((r.key, r.seed))
            res = ChatResult(key=r.key, text=self.script[r.seed])
            out.append(res)
            if on_result:
                on_result(i, res)
        return out


@pytest.fixture
def bench():
    conv = [{"role": "user", "content": "q"}]
    texts = pd.DataFrame({"text_id": ["c", "r1", "r2"], "conversation": [conv] * 3, "response": ["good", "bad", "worse"]})
    items = pd.DataFrame({"item_id": ["p1", "b1"], "format": ["pairwise", "bon"], "goal": ["helpfulness"] * 2,
                          "task": ["t"] * 2, "scenario": ["s"] * 2, "chosen_id": ["c", "c"],
                          "rejected_ids": [["r1"], ["r1", "r2"]], "chosen_positions": [["A"], ["A", "B"]]})
    return items, texts


SCRIPT = {0: "[[A]]", 1: "[[A]]", 2: "[[B]]", 3: "no verdict", 4: "[[B]]"}


def test_votes_seeds_and_outcomes_golden(bench):
    items, texts = bench
    judge = PairwiseJudgeRM(name="j", backend=SeededVerdicts(SCRIPT), samples=3, temperature=0.7)
    comp = judge.compare(items, texts, progress=False)
    assert len(comp) == 3 and (comp["n_samples"] == 3).all()
    assert comp["sample_seeds"].map(list).tolist() == [[0, 1, 2]] * 3
    assert comp["sample_verdicts"].map(list).tolist() == [["A", "A", "B"]] * 3
    assert comp["verdict"].tolist() == ["A", "A", "A"] and comp[["votes_A", "votes_B"]].values.tolist() == [[2, 1]] * 3
    # chosen shown as A, A, then B: the majority A wins the first two and loses the third (b1 fails)
    assert comp["chosen_won"].tolist() == [True, True, False]
    outcomes, stats = comparison_outcomes(items, comp)
    assert outcomes["correct"].tolist() == [True, False]
    assert stats["majority"] == {"samples": 3, "vote_ties": 0, "unanimous_rate": 0.0,
                                 "sample_verdicts": {"A": 6, "B": 3, "tie": 0, "invalid": 0}}


def test_a_draw_is_a_reported_tie(bench):
    items, texts = bench
    judge = PairwiseJudgeRM(name="j", backend=SeededVerdicts(SCRIPT), samples=4, seed=1, temperature=0.7)  # A, B, invalid, B
    comp = judge.compare(items, texts, progress=False)
    assert comp["verdict"].tolist() == ["B"] * 3 and comp["votes_invalid"].tolist() == [1] * 3
    judge2 = PairwiseJudgeRM(name="j", backend=SeededVerdicts(SCRIPT), samples=2, seed=1, temperature=0.7)  # A, B
    comp2 = judge2.compare(items, texts, progress=False)
    assert comp2["verdict"].tolist() == ["tie"] * 3 and comp2["vote_tie"].all()
    outcomes, stats = comparison_outcomes(items, comp2)
    assert outcomes["tie"].tolist() == [True, True] and not outcomes["correct"].any()
    assert stats["majority"]["vote_ties"] == 3


def test_both_orders_vote_separately(bench):
    items, texts = bench
    judge = PairwiseJudgeRM(name="j", backend=SeededVerdicts(SCRIPT), samples=3, both_orders=True, temperature=0.7)
    comp = judge.compare(items, texts, progress=False)
    assert len(comp) == 6 and comp["order"].tolist().count("swapped") == 3
    assert (comp["verdict"] == "A").all()  # position-biased judge: A in both orders, so no comparison is won twice
    outcomes, stats = comparison_outcomes(items, comp)
    assert not outcomes["correct"].any() and stats["consistency_rate"] == 0.0


def test_growing_k_reuses_the_cached_samples(bench, tmp_path):
    items, texts = bench
    cache = GenerationCache(tmp_path / "gen.jsonl")
    one = SeededVerdicts(SCRIPT)
    single = PairwiseJudgeRM(name="j", backend=one, temperature=0.7).compare(items, texts, cache=cache, progress=False)
    assert list(single.columns)[-1] == "error"  # one sample: the table keeps its columns
    assert [s for _, s in one.sent] == [0, 0]  # p1 and b1's first comparison are the same request: sent once
    five = SeededVerdicts(SCRIPT)
    judge = PairwiseJudgeRM(name="j", backend=five, samples=5, temperature=0.7)
    assert judge.fingerprint() == PairwiseJudgeRM(name="j", backend=one, temperature=0.7).fingerprint()
    comp = judge.compare(items, texts, cache=GenerationCache(tmp_path / "gen.jsonl"), progress=False)
    # two distinct prompts x 4 new samples; seed 0 came from the cache; keys are per sample
    assert sorted(s for _, s in five.sent) == sorted([1, 2, 3, 4] * 2)
    assert all(k.endswith(f"/s{s}") for k, s in five.sent)
    assert comp["votes_invalid"].tolist() == [1] * 3  # seeds 0-4: A, A, B, invalid, B: a 2-2 draw
    assert comp["verdict"].tolist() == ["tie"] * 3 and comp["vote_tie"].all()
