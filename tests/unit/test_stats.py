"""Golden tests for rmeval.metrics.paired: McNemar against SciPy's binomtest, Holm by hand, paired cluster bootstrap on a
hand-computed case, ranks, length bias and PPE's lower-quantile aggregation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from rmeval.benchmarks.rmb import RMBBenchmark
from rmeval.metrics import item_outcomes
from rmeval.metrics.paired import (
    Column,
    bootstrap_p,
    component_columns,
    holm,
    length_bias,
    lower_quantile_scores,
    mcnemar_exact,
    paired_comparisons,
    rank_note,
    read_significance_ranks,
    significance_ranks,
)

RMB_COLUMNS = component_columns(RMBBenchmark.components)


def outcomes(correct: list[bool], goal="Helpfulness", fmt="pairwise", prompts=None, scenario="S") -> pd.DataFrame:
    n = len(correct)
    return pd.DataFrame({
        "item_id": [f"i{k}" for k in range(n)], "prompt_id": prompts or [f"q{k}" for k in range(n)],
        "format": fmt, "goal": goal, "task": scenario, "scenario": scenario, "n_losers": 1,
        "margin": [1.0 if c else -1.0 for c in correct], "invalid": False, "correct": correct, "tie": False,
    })


# ------------------------------------------------------------------------------------------- McNemar, Holm
@pytest.mark.parametrize("a_only,b_only", [(0, 0), (1, 0), (2, 0), (3, 5), (10, 2), (7, 7), (40, 25), (0, 13)])
def test_mcnemar_equals_scipy_binomtest(a_only, b_only):
    n = a_only + b_only
    expected = 1.0 if n == 0 else binomtest(a_only, n, 0.5, alternative="two-sided").pvalue
    assert mcnemar_exact(a_only, b_only) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_holm_hand_computed():
    # sorted 0.01, 0.03, 0.04 -> 3·0.01 = 0.03, 2·0.03 = 0.06, max(0.06, 1·0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])
    adj = holm([np.nan, 0.02, 0.04])
    assert math.isnan(adj[0]) and adj[1:].tolist() == pytest.approx([0.04, 0.04])
    assert holm([]).tolist() == []


def test_bootstrap_p():
    assert bootstrap_p(np.array([0.1, 0.2, 0.3, 0.0])) == pytest.approx(0.5)  # 2 · min(1/4, 1)
    assert bootstrap_p(np.array([-1.0, 1.0])) == 1.0
    assert math.isnan(bootstrap_p(np.array([np.nan])))


# ------------------------------------------------------------------------------------------- paired comparisons
def test_paired_comparison_hand_computed():
    a = outcomes([True, True, True, False])
    b = outcomes([True, False, False, False])
    table = paired_comparisons({"a": a, "b": b}, [Column("Help-Pair", ((lambda o: o["format"] == "pairwise", 1.0),))],
                               n_boot=4000, seed=0)
    row = table.iloc[0]
    assert (row["rm_a"], row["rm_b"], row["n_items"]) == ("a", "b", 4)
    assert (row["value_a"], row["value_b"], row["diff"]) == (0.75, 0.25, 0.5)
    # discordant: a right and b wrong on two items, never the reverse -> binomtest(2, 2) = 0.5
    assert (row["a_only"], row["b_only"], row["n_discordant"]) == (2, 0, 2)
    assert row["p_mcnemar"] == pytest.approx(0.5)
    # per-prompt differences are 0, 1, 1, 0; a resample of four prompts has difference <= 0 only when it draws
    # the two 0-difference prompts four times: (1/2)^4 = 1/16, so p = 2/16 = 0.125
    assert row["p_boot"] == pytest.approx(0.125, abs=0.02)
    assert row["diff_lo"] == 0.0 and row["diff_hi"] == 1.0
    assert row["p_boot_holm"] == row["p_boot"]  # one pair: Holm changes nothing
    assert row["bootstrap"] == "cluster"


def test_paired_comparison_resamples_prompts_jointly_for_both_rms():
    # a and b differ on one item only: under pairing the difference is 0 or a small positive number, never
    # negative (an unpaired bootstrap would give both signs)
    rng = np.random.default_rng(0)
    base = list(rng.random(60) < 0.6)
    a = outcomes([True, *base[1:]])
    b = outcomes([False, *base[1:]])
    row = paired_comparisons({"a": a, "b": b}, RMB_COLUMNS[1:2], n_boot=500, seed=0).iloc[0]
    assert row["column"] == "Help-Pair"
    assert row["diff"] == pytest.approx(1 / 60)
    assert row["diff_lo"] >= 0.0 and row["diff_hi"] <= 4 / 60
    assert (row["a_only"], row["b_only"], row["p_mcnemar"]) == (1, 0, 1.0)


def test_paired_comparisons_all_pairs_holm_and_overall():
    frames = {}
    for name, k in (("x", 18), ("y", 12), ("z", 11)):
        parts = [outcomes([i < k for i in range(20)], goal=g, fmt=f) for g, f in
                 (("Helpfulness", "bon"), ("Helpfulness", "pairwise"), ("Harmlessness", "bon"), ("Harmlessness", "pairwise"))]
        frame = pd.concat(parts, ignore_index=True)
        frame["item_id"] = [f"i{j}" for j in range(len(frame))]
        frames[name] = frame
    table = paired_comparisons(frames, RMB_COLUMNS, n_boot=300, seed=2)
    assert list(table["column"].unique()) == ["Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair", "Overall"]
    assert len(table) == 5 * 3
    ov = table[table["column"] == "Overall"].set_index(["rm_a", "rm_b"])
    assert ov.loc[("x", "y"), "diff"] == pytest.approx(0.3)
    assert ov.loc[("x", "y"), "n_items"] == 80
    assert ov.loc[("x", "y"), "a_only"] == 24 and ov.loc[("x", "y"), "b_only"] == 0  # 6 items per component
    assert ov["p_mcnemar"].isna().all() and ov["p_mcnemar_holm"].isna().all()  # Overall is a mean of four parts
    assert (ov["p_boot_holm"] >= ov["p_boot"] - 1e-12).all()
    assert list(ov["p_boot_holm"]) == pytest.approx(list(holm(ov["p_boot"])))
    hp = table[table["column"] == "Help-Pair"].set_index(["rm_a", "rm_b"])
    assert (hp.loc[("x", "y"), "a_only"], hp.loc[("x", "y"), "b_only"]) == (6, 0)
    assert hp.loc[("x", "y"), "p_mcnemar"] == pytest.approx(binomtest(6, 6).pvalue)
    assert list(hp["p_mcnemar_holm"]) == pytest.approx(list(holm(hp["p_mcnemar"])))


def test_paired_comparisons_need_the_same_items():
    a = outcomes([True, False])
    b = outcomes([True, False, True])
    with pytest.raises(ValueError, match="rm b: field 'item_id'"):
        paired_comparisons({"a": a, "b": b}, RMB_COLUMNS, n_boot=10)


def test_significance_ranks_hand_made_table(tmp_path):
    rows = [
        # column, a, b, value_a, value_b, p (bootstrap, Holm), p (McNemar, Holm)
        ("Overall", "a", "b", 0.80, 0.78, 0.40, 0.01),
        ("Overall", "a", "c", 0.80, 0.60, 0.001, 0.001),
        ("Overall", "a", "d", 0.80, 0.59, 0.001, 0.30),
        ("Overall", "b", "c", 0.78, 0.60, 0.01, 0.20),
        ("Overall", "b", "d", 0.78, 0.59, 0.02, 0.30),
        ("Overall", "c", "d", 0.60, 0.59, 0.90, 0.90),
    ]
    sig = pd.DataFrame(rows, columns=["column", "rm_a", "rm_b", "value_a", "value_b", "p_boot_holm", "p_mcnemar_holm"])
    g = significance_ranks(sig, "Overall", alpha=0.05)
    assert g["rm"].tolist() == ["a", "b", "c", "d"]
    assert g["rank"].tolist() == [1, 1, 3, 3]
    assert g["better"].tolist() == [(), (), ("a", "b"), ("a", "b")]
    m = significance_ranks(sig, "Overall", alpha=0.05, test="mcnemar")
    assert dict(zip(m["rm"], m["rank"])) == {"a": 1, "b": 2, "c": 2, "d": 1}  # no test rejects for d
    assert "bootstrap (Holm-adjusted) paired test over the same items, α = 0.05" in rank_note(g, "Overall")
    sig.to_csv(tmp_path / "rmb.csv", index=False)
    assert read_significance_ranks(tmp_path / "rmb.csv", "Overall").equals(g)
    with pytest.raises(ValueError, match="field 'test'"):
        significance_ranks(sig, "Overall", test="t")


# ------------------------------------------------------------------------------------------- length bias
def test_length_bias_hand_computed():
    #         chosen  rejected  scores (chosen, rejected)   stratum   correct   picks the longer
    # p1      "aaaa"  "a"       2, 1                        longer    yes       yes
    # p2      "aaaa"  "aa"      1, 2                        longer    no        no
    # p3      "a"     "aaa"     2, 1                        shorter   yes       no
    # p4      "a"     "aaaa"    1, 2                        shorter   no        yes
    # p5      "a"     "aaaaa"   1, 1                        shorter   tie       (undecided)
    # p6      "aa"    "bb"      2, 1                        equal     yes       (left out)
    # b1 (BoN) is left out.
    texts = pd.DataFrame({"text_id": ["c4", "r1", "r2", "c1", "r3", "r4", "r5", "c2", "s2"],
                          "response": ["aaaa", "a", "aa", "a", "aaa", "aaaa", "aaaaa", "aa", "bb"]})
    items = pd.DataFrame({
        "item_id": ["p1", "p2", "p3", "p4", "p5", "p6", "b1"], "prompt_id": ["q1", "q2", "q3", "q4", "q5", "q6", "q1"],
        "format": ["pairwise"] * 6 + ["bon"], "goal": ["Helpfulness"] * 4 + ["Harmlessness"] * 3,
        "task": "T", "scenario": "S",
        "chosen_id": ["c4", "c4", "c1", "c1", "c1", "c2", "c4"],
        "rejected_ids": [["r1"], ["r2"], ["r3"], ["r4"], ["r5"], ["s2"], ["r1", "r2"]],
    })
    # scores per item differ although texts repeat: give each item its own text ids via a lookup per item
    per_item = {"p1": (2, 1), "p2": (1, 2), "p3": (2, 1), "p4": (1, 2), "p5": (1, 1), "p6": (2, 1), "b1": (2, 1)}
    frames = []
    for it in items.itertuples(index=False):
        cs, rs = per_item[it.item_id]
        one = items[items["item_id"] == it.item_id]
        frames.append(item_outcomes(one, {it.chosen_id: cs, **{r: rs for r in it.rejected_ids}}))
    out = pd.concat(frames, ignore_index=True)
    res = length_bias(items, texts, out, n_boot=200, seed=0)
    assert res["unit"] == "chars" and res["n_items"] == 6 and res["n_equal_length"] == 1
    assert res["chosen_longer"] == {"n_items": 2, "accuracy": 0.5}
    assert res["chosen_shorter"] == {"n_items": 3, "accuracy": pytest.approx(1 / 3)}
    assert res["n_decided_unequal"] == 4
    assert res["prefers_longer_rate"] == 0.5
    lc = res["length_controlled"]
    assert lc["accuracy"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert lc["ci_low"] <= lc["accuracy"] <= lc["ci_high"]
    assert res["by_goal"]["Helpfulness"]["chosen_shorter"] == {"n_items": 2, "accuracy": 0.5}
    assert res["by_goal"]["Harmlessness"]["length_controlled"]["accuracy"] is None  # no chosen-longer pair there
    words = length_bias(items, texts, out, n_boot=20, unit="words")
    assert words["n_equal_length"] == 6  # every response is one word


def test_length_bias_names_a_missing_text():
    items = pd.DataFrame({"item_id": ["p1"], "prompt_id": ["q"], "format": ["pairwise"], "goal": ["Helpfulness"],
                          "task": ["T"], "scenario": ["S"], "chosen_id": ["a"], "rejected_ids": [["zz"]]})
    texts = pd.DataFrame({"text_id": ["a"], "response": ["x"]})
    out = item_outcomes(items, {"a": 1.0, "zz": 0.0})
    with pytest.raises(ValueError, match="texts: field 'text_id': no text zz"):
        length_bias(items, texts, out, n_boot=5)


# ------------------------------------------------------------------------------------------- PPE quantile
def test_lower_quantile_hand_computed():
    acc = pd.DataFrame({"s1": [0.8, 0.6, 0.4], "s2": [0.6, 0.6, 0.6], "s3": [0.9, np.nan, 0.3]}, index=["a", "b", "c"])
    # s1: mean 0.6, population sd sqrt(0.08/3) -> z = ±sqrt(1.5); s2 constant -> 0; s3 (a, c only): z = ±1
    z = math.sqrt(1.5)
    q0 = lower_quantile_scores(acc, 0.0)
    assert q0.to_dict() == pytest.approx({"a": 0.0, "b": 0.0, "c": -z})
    q1 = lower_quantile_scores(acc, 1.0)
    assert q1.to_dict() == pytest.approx({"a": z, "b": 0.0, "c": 0.0})
    # a: sorted z = [0, 1, sqrt(1.5)], q = 0.25 -> 0 + 0.5·(1 − 0) = 0.5
    assert lower_quantile_scores(acc, 0.25)["a"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="field 'q'"):
        lower_quantile_scores(acc, 1.5)


# ------------------------------------------------------------------------------------------- other benchmarks
def test_rewardbench_v1_columns_reproduce_its_sections_and_score():
    from rmeval.rewardbench_metrics import rewardbench_v1
    from rmeval.benchmarks import BenchmarkError, build_benchmark

    def headline_columns(target, items):
        return build_benchmark({"_target_": target, "name": "b", "version": "1"}).significance_columns(items)

    rows = [("alpacaeval-easy", 2, 1), ("alpacaeval-easy", 1, 2), ("mt-bench-easy", 3, 3), ("llmbar-natural", 5, 4),
            ("mt-bench-hard", 1, 0), ("mt-bench-hard", 0, 1), ("xstest-should-respond", 9, 1), ("donotanswer", -1, 1),
            ("math-prm", 1.5, 0.5), ("math-prm", 0.5, 1.5), ("hep-python", 4, 3)]
    from rmeval.data.rewardbench import V1_SECTION_OF

    items = pd.DataFrame([{"item_id": f"i{k}", "prompt_id": f"q{k}", "format": "pairwise", "goal": V1_SECTION_OF[s],
                           "task": V1_SECTION_OF[s], "scenario": s, "chosen_id": f"c{k}", "rejected_ids": [f"r{k}"]}
                          for k, (s, _, _) in enumerate(rows)])
    scores = {**{f"c{k}": float(c) for k, (_, c, _) in enumerate(rows)}, **{f"r{k}": float(r) for k, (_, _, r) in enumerate(rows)}}
    official = rewardbench_v1(items, scores)
    cols = {c.name: c for c in headline_columns("rmeval.benchmarks.rewardbench.RewardBenchV1", items)}
    assert list(cols) == [*official["sections"], "Score"]
    out = item_outcomes(items, scores)
    for name, value in official["sections"].items():
        assert cols[name].value(out) == pytest.approx(value, abs=1e-12)
    assert cols["Score"].value(out) == pytest.approx(official["score"], abs=1e-12)
    assert [c.name for c in headline_columns("rmeval.benchmarks.rmb.RMBBenchmark", items)] == ["Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair", "Overall"]
    with pytest.raises(BenchmarkError, match="RewardBench 2"):
        headline_columns("rmeval.benchmarks.rewardbench.RewardBench2", items)


def test_rm_outcomes_mixes_scores_and_judge_comparisons():
    from rmeval.rms.judge import COMPARISON_COLUMNS
    from rmeval.metrics.paired import rm_outcomes

    items = pd.DataFrame({"item_id": ["p1", "p2"], "prompt_id": ["q1", "q1"], "format": "pairwise", "goal": "Helpfulness",
                          "task": "T", "scenario": "S", "chosen_id": ["a", "a"], "rejected_ids": [["b"], ["c"]]})
    scores = pd.DataFrame({"text_id": ["a", "b", "c"], "score": [1.0, 0.0, 2.0]})
    comparisons = pd.DataFrame([
        {"item_id": "p1", "loser_index": 0, "a_id": "a", "b_id": "b", "chosen_is_a": True, "order": "original", "verdict": "B",
         "chosen_won": False, "raw": "[[B]]", "error": None},
        {"item_id": "p2", "loser_index": 0, "a_id": "c", "b_id": "a", "chosen_is_a": False, "order": "original", "verdict": "B",
         "chosen_won": True, "raw": "[[B]]", "error": None},
    ], columns=COMPARISON_COLUMNS)
    out = rm_outcomes(items, {"rm": scores}, {"judge": comparisons})
    assert out["rm"]["correct"].tolist() == [True, False]
    assert out["judge"]["correct"].tolist() == [False, True]
    assert out["judge"]["prompt_id"].tolist() == ["q1", "q1"]
    table = paired_comparisons(out, RMB_COLUMNS[1:2], n_boot=20)
    assert (table.loc[0, "a_only"], table.loc[0, "b_only"], table.loc[0, "diff"]) == (1, 1, 0.0)
    with pytest.raises(ValueError, match="rm rm: field 'rm': given both"):
        rm_outcomes(items, {"rm": scores}, {"rm": comparisons})
