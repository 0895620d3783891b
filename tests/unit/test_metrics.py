"""Golden tests for rmeval.metrics on small hand-built items (every expected number computed by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rmeval.benchmarks.rmb import RMBBenchmark
from rmeval.metrics import (
    ScoreMissingError,
    accuracy_by_gap,
    bootstrap_means,
    chance_accuracy,
    evaluate,
    evaluate_outcomes,
    goal_format_summary,
    group_table,
    item_outcomes,
    leaderboard_frame,
    overall,
    summarize,
)

COMPONENTS = RMBBenchmark.components
ITEM_COLS = ["item_id", "format", "goal", "task", "scenario", "chosen_id", "rejected_ids", "chosen_score", "rejected_scores"]


def make_items(rows: list[tuple]) -> pd.DataFrame:
    """rows: (item_id, format, goal, task, scenario, chosen_id, rejected_ids[, chosen_score, rejected_scores])."""
    full = []
    for r in rows:
        r = tuple(r)
        if len(r) == 7:
            r = (*r, np.nan, [np.nan] * len(r[6]))
        full.append(r)
    frame = pd.DataFrame(full, columns=ITEM_COLS)
    frame.insert(1, "prompt_id", "q-" + frame["item_id"].astype(str))  # one prompt per item unless a test sets it
    return frame


def outcomes_from(spec: list[tuple[str, str, str, bool]], n_losers: int = 1) -> pd.DataFrame:
    """Outcomes built directly: (goal, format, scenario, correct) per item (no ties, nothing invalid)."""
    rows = []
    for i, (goal, fmt, scen, ok) in enumerate(spec):
        rows.append({
            "item_id": f"i{i}", "prompt_id": f"q{i}", "format": fmt, "goal": goal, "task": scen, "scenario": scen,
            "n_losers": n_losers, "margin": 1.0 if ok else -1.0, "invalid": False, "correct": ok, "tie": False,
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------- item_outcomes
def test_pairwise_is_strict_and_tie_counts_as_wrong():
    items = make_items([
        ("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"]),
        ("p2", "pairwise", "Helpfulness", "T", "S", "c", ["d"]),
        ("p3", "pairwise", "Helpfulness", "T", "S", "e", ["f"]),
    ])
    scores = {"a": 2.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 0.5, "f": 1.5}
    out = item_outcomes(items, scores)
    assert out["item_id"].tolist() == ["p1", "p2", "p3"]
    assert out["margin"].tolist() == [1.0, 0.0, -1.0]
    assert out["correct"].tolist() == [True, False, False]
    assert out["tie"].tolist() == [False, True, False]
    assert out["invalid"].tolist() == [False, False, False]
    assert out["n_losers"].tolist() == [1, 1, 1]
    summary, _ = summarize(out, n_boot=50, level=0.95, rng=np.random.default_rng(0))
    assert summary["n_items"] == 3
    assert summary["n_correct"] == 1
    assert summary["n_ties"] == 1
    assert summary["n_invalid"] == 0
    assert summary["accuracy"] == pytest.approx(1 / 3)


def test_item_outcomes_accepts_a_series_of_scores():
    items = make_items([("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"])])
    out = item_outcomes(items, pd.Series({"a": 0.25, "b": 0.75}))
    assert out["margin"].tolist() == [-0.5]
    assert out["correct"].tolist() == [False]


def test_bon_correct_only_if_best_beats_every_loser_strictly():
    items = make_items([
        ("b1", "bon", "Helpfulness", "T", "S", "w1", ["l1", "l2"]),  # beats both -> correct
        ("b2", "bon", "Helpfulness", "T", "S", "w2", ["l3", "l4"]),  # ties l3, beats l4 -> tie, not correct
        ("b3", "bon", "Helpfulness", "T", "S", "w3", ["l5", "l6"]),  # beats l5, loses to l6 -> wrong
        ("b4", "bon", "Helpfulness", "T", "S", "w4", ["l7", "l8", "l9"]),  # beats two, ties one -> tie
    ])
    scores = {
        "w1": 3.0, "l1": 1.0, "l2": 2.0,
        "w2": 3.0, "l3": 3.0, "l4": 1.0,
        "w3": 2.0, "l5": 1.0, "l6": 2.5,
        "w4": 5.0, "l7": 4.0, "l8": 5.0, "l9": -1.0,
    }
    out = item_outcomes(items, scores)
    assert out["margin"].tolist() == [1.0, 0.0, -0.5, 0.0]
    assert out["correct"].tolist() == [True, False, False, False]
    assert out["tie"].tolist() == [False, True, False, True]
    assert out["n_losers"].tolist() == [2, 2, 2, 3]
    summary, _ = summarize(out, n_boot=10, level=0.95, rng=np.random.default_rng(0))
    assert (summary["n_correct"], summary["n_ties"], summary["accuracy"]) == (1, 2, 0.25)


def test_nan_score_is_invalid_and_not_correct():
    items = make_items([
        ("n1", "pairwise", "Helpfulness", "T", "S", "a", ["b"]),  # NaN best
        ("n2", "bon", "Helpfulness", "T", "S", "c", ["d", "e"]),  # NaN among losers, best beats the other
        ("ok", "pairwise", "Helpfulness", "T", "S", "f", ["g"]),
    ])
    scores = {"a": float("nan"), "b": 1.0, "c": 9.0, "d": 1.0, "e": float("nan"), "f": 1.0, "g": 0.0}
    out = item_outcomes(items, scores)
    assert out["invalid"].tolist() == [True, True, False]
    assert out["correct"].tolist() == [False, False, True]
    assert out["tie"].tolist() == [False, False, False]
    assert math.isnan(out["margin"][0]) and math.isnan(out["margin"][1])
    assert out["margin"][2] == 1.0
    summary, _ = summarize(out, n_boot=10, level=0.95, rng=np.random.default_rng(0))
    assert summary["n_invalid"] == 2
    assert summary["n_ties"] == 0
    assert summary["n_correct"] == 1
    assert summary["accuracy"] == pytest.approx(1 / 3)


def test_missing_score_raises_naming_the_item():
    items = make_items([
        ("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"]),
        ("bon-42", "bon", "Helpfulness", "T", "S", "a", ["b", "zz-missing"]),
    ])
    with pytest.raises(ScoreMissingError) as exc:
        item_outcomes(items, {"a": 1.0, "b": 0.0})
    msg = exc.value.args[0]
    assert "bon-42" in msg
    assert "zz-missing" in msg
    assert "\n" not in msg
    assert isinstance(exc.value, KeyError)


def test_missing_chosen_score_raises_too():
    items = make_items([("pair-7", "pairwise", "Helpfulness", "T", "S", "nochosen", ["b"])])
    with pytest.raises(ScoreMissingError, match="pair-7"):
        item_outcomes(items, {"b": 0.0})


# ------------------------------------------------------------------------------------------- summarize
def test_single_item_summary_and_degenerate_ci():
    right = outcomes_from([("Helpfulness", "pairwise", "S", True)])
    s, reps = summarize(right, n_boot=20, level=0.95, rng=np.random.default_rng(3))
    assert s == {"n_items": 1, "n_correct": 1, "n_ties": 0, "n_invalid": 0, "accuracy": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    assert reps.tolist() == [1.0] * 20
    wrong = outcomes_from([("Helpfulness", "pairwise", "S", False)])
    s, _ = summarize(wrong, n_boot=20, level=0.95, rng=np.random.default_rng(3))
    assert (s["accuracy"], s["ci_low"], s["ci_high"]) == (0.0, 0.0, 0.0)


def test_summarize_empty():
    empty = outcomes_from([]).reindex(columns=["item_id", "prompt_id", "format", "goal", "task", "scenario", "n_losers", "margin", "invalid", "correct", "tie"])
    s, reps = summarize(empty, n_boot=5, level=0.95, rng=np.random.default_rng(0))
    assert s == {"n_items": 0, "n_correct": 0, "n_ties": 0, "n_invalid": 0, "accuracy": None, "ci_low": None, "ci_high": None}
    assert len(reps) == 5 and np.isnan(reps).all()


def test_summarize_ci_contains_point_estimate_and_is_deterministic():
    out = outcomes_from([("Helpfulness", "pairwise", "S", i % 10 < 7) for i in range(40)])  # 28/40 = 0.7
    s1, r1 = summarize(out, n_boot=500, level=0.95, rng=np.random.default_rng(11))
    s2, r2 = summarize(out, n_boot=500, level=0.95, rng=np.random.default_rng(11))
    assert s1 == s2
    assert np.array_equal(r1, r2)
    assert s1["accuracy"] == pytest.approx(0.7)
    assert s1["ci_low"] < 0.7 < s1["ci_high"]
    # A 95% interval for 40 Bernoulli(0.7) items is about ±0.14; very loose bounds to catch a wrong scale.
    assert 0.45 < s1["ci_low"] < 0.65 and 0.75 < s1["ci_high"] < 0.9
    # Replicates of a 0/1 mean over 40 items are multiples of 1/40.
    assert np.allclose(r1 * 40, np.round(r1 * 40))


# ------------------------------------------------------------------------------------------- bootstrap_means
def test_bootstrap_all_ones_is_exactly_one():
    reps = bootstrap_means(np.ones(7), 100, np.random.default_rng(0))
    assert reps.shape == (100,)
    assert (reps == 1.0).all()
    out = outcomes_from([("Helpfulness", "pairwise", "S", True)] * 7)
    s, _ = summarize(out, n_boot=100, level=0.95, rng=np.random.default_rng(5))
    assert (s["ci_low"], s["ci_high"]) == (1.0, 1.0)


def test_bootstrap_all_zeros_and_empty():
    assert (bootstrap_means(np.zeros(4), 30, np.random.default_rng(0)) == 0.0).all()
    empty = bootstrap_means(np.array([]), 30, np.random.default_rng(0))
    assert empty.shape == (30,) and np.isnan(empty).all()


def test_bootstrap_deterministic_for_a_seed():
    values = np.array([0, 1, 1, 0, 1], dtype=float)
    a = bootstrap_means(values, 200, np.random.default_rng(123))
    b = bootstrap_means(values, 200, np.random.default_rng(123))
    c = bootstrap_means(values, 200, np.random.default_rng(124))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert set(np.round(a * 5).astype(int)) <= {0, 1, 2, 3, 4, 5}
    assert abs(a.mean() - 0.6) < 0.06  # mean of 200 replicates; sd of that mean is ~0.016


def test_bootstrap_non_binary_values():
    values = np.array([1.0, 2.0, 4.0])
    reps = bootstrap_means(values, 300, np.random.default_rng(9))
    again = bootstrap_means(values, 300, np.random.default_rng(9))
    assert np.array_equal(reps, again)
    # every replicate is a mean of three draws from {1, 2, 4}: 3 * mean is an integer between 3 and 12
    assert np.allclose(reps * 3, np.round(reps * 3))
    assert reps.min() >= 1.0 and reps.max() <= 4.0
    assert abs(reps.mean() - 7 / 3) < 0.15


# ------------------------------------------------------------------------------------------- chance
def test_chance_level_is_mean_of_one_over_k_plus_one():
    items = make_items([
        ("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"]),
        ("p2", "pairwise", "Helpfulness", "T", "S", "a", ["c"]),
        ("b1", "bon", "Helpfulness", "T", "S", "a", ["b", "c"]),
        ("b2", "bon", "Helpfulness", "T", "S", "a", ["b", "c", "d"]),
    ])
    out = item_outcomes(items, {"a": 1.0, "b": 0.0, "c": 0.0, "d": 0.0})
    # (1/2 + 1/2 + 1/3 + 1/4) / 4 = 19/48
    assert chance_accuracy(out) == pytest.approx(19 / 48)
    assert chance_accuracy(out.iloc[:0]) is None
    assert chance_accuracy(out.iloc[2:3]) == pytest.approx(1 / 3)


# ------------------------------------------------------------------------------------------- group_table
def test_group_table_per_scenario():
    out = outcomes_from([
        ("Helpfulness", "pairwise", "B", True),
        ("Helpfulness", "pairwise", "A", True),
        ("Helpfulness", "pairwise", "A", False),
        ("Helpfulness", "pairwise", "A", True),
        ("Helpfulness", "pairwise", "A", True),
    ])
    out.loc[0, "n_losers"] = 3
    rows = group_table(out, ["goal", "scenario"], n_boot=100, level=0.95, seed=0)
    assert [(r["goal"], r["scenario"]) for r in rows] == [("Helpfulness", "A"), ("Helpfulness", "B")]
    a, b = rows
    assert (a["n_items"], a["n_correct"], a["accuracy"], a["chance"]) == (4, 3, 0.75, 0.5)
    assert (b["n_items"], b["n_correct"], b["accuracy"], b["chance"]) == (1, 1, 1.0, 0.25)
    assert (b["ci_low"], b["ci_high"]) == (1.0, 1.0)
    assert a["ci_low"] <= 0.75 <= a["ci_high"]
    assert group_table(out, ["goal", "scenario"], n_boot=100, level=0.95, seed=0) == rows


def test_group_table_single_key():
    out = outcomes_from([("Helpfulness", "pairwise", "A", True), ("Harmlessness", "pairwise", "X", False)])
    rows = group_table(out, ["goal"], n_boot=10, level=0.95, seed=1)
    assert [(r["goal"], r["accuracy"]) for r in rows] == [("Harmlessness", 0.0), ("Helpfulness", 1.0)]


# ------------------------------------------------------------------------------------------- goal/format + overall
UNBALANCED = [
    # Help-Pair: A 3/3, B 0/1 -> micro 3/4 = 0.75, macro (1 + 0)/2 = 0.5
    ("Helpfulness", "pairwise", "A", True),
    ("Helpfulness", "pairwise", "A", True),
    ("Helpfulness", "pairwise", "A", True),
    ("Helpfulness", "pairwise", "B", False),
    # Help-BoN: C 1/2 -> micro 0.5, macro 0.5
    ("Helpfulness", "bon", "C", True),
    ("Helpfulness", "bon", "C", False),
    # Harm-Pair: S1 1/2, S2 1/1 -> micro 2/3, macro (0.5 + 1)/2 = 0.75
    ("Harmlessness", "pairwise", "S1", True),
    ("Harmlessness", "pairwise", "S1", False),
    ("Harmlessness", "pairwise", "S2", True),
    # Harm-BoN: S1 1/1 -> micro 1, macro 1
    ("Harmlessness", "bon", "S1", True),
]


def test_macro_vs_micro_on_unbalanced_scenarios():
    summary, reps = goal_format_summary(outcomes_from(UNBALANCED), COMPONENTS, n_boot=200, level=0.95, seed=0)
    hp = summary["Helpfulness"]["pairwise"]
    assert (hp["n_items"], hp["n_correct"], hp["accuracy"]) == (4, 3, 0.75)
    assert hp["macro"]["accuracy"] == 0.5
    assert hp["macro"]["n_scenarios"] == 2
    assert hp["chance"] == 0.5
    hb = summary["Helpfulness"]["bon"]
    assert (hb["n_items"], hb["accuracy"], hb["macro"]["accuracy"], hb["macro"]["n_scenarios"]) == (2, 0.5, 0.5, 1)
    sp = summary["Harmlessness"]["pairwise"]
    assert sp["accuracy"] == pytest.approx(2 / 3)
    assert sp["macro"]["accuracy"] == pytest.approx(0.75)
    sb = summary["Harmlessness"]["bon"]
    assert (sb["n_items"], sb["accuracy"], sb["ci_low"], sb["ci_high"]) == (1, 1.0, 1.0, 1.0)
    assert (sb["macro"]["accuracy"], sb["macro"]["ci_low"], sb["macro"]["ci_high"]) == (1.0, 1.0, 1.0)
    for goal in ("Helpfulness", "Harmlessness"):
        for fmt in ("pairwise", "bon"):
            node = summary[goal][fmt]
            assert node["ci_low"] <= node["accuracy"] <= node["ci_high"]
            assert node["macro"]["ci_low"] <= node["macro"]["accuracy"] <= node["macro"]["ci_high"]
            assert len(reps["micro"][(goal, fmt)]) == 200 and len(reps["macro"][(goal, fmt)]) == 200
    # Help-Pair macro replicates: scenario B (all wrong) is always 0, scenario A (all right) always 1 -> 0.5
    assert (reps["macro"][("Helpfulness", "pairwise")] == 0.5).all()


def test_overall_is_mean_of_four_components():
    summary, reps = goal_format_summary(outcomes_from(UNBALANCED), COMPONENTS, n_boot=200, level=0.95, seed=0)
    ov = overall(summary, reps, COMPONENTS, level=0.95)
    assert ov["components"] == ["Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair"]
    # micro: (0.5 + 0.75 + 1 + 2/3) / 4 = 35/48; macro: (0.5 + 0.5 + 1 + 0.75) / 4 = 0.6875
    assert ov["micro"]["accuracy"] == pytest.approx(35 / 48)
    assert ov["accuracy"] == pytest.approx(35 / 48)
    assert ov["macro"]["accuracy"] == pytest.approx(0.6875)
    assert ov["micro"]["ci_low"] <= 35 / 48 <= ov["micro"]["ci_high"]
    assert ov["macro"]["ci_low"] <= 0.6875 <= ov["macro"]["ci_high"]
    assert ov["micro"]["ci_low"] < ov["micro"]["ci_high"]


def test_goal_format_summary_is_deterministic_for_a_seed():
    a, ra = goal_format_summary(outcomes_from(UNBALANCED), COMPONENTS, n_boot=100, level=0.9, seed=5)
    b, rb = goal_format_summary(outcomes_from(UNBALANCED), COMPONENTS, n_boot=100, level=0.9, seed=5)
    _, rc = goal_format_summary(outcomes_from(UNBALANCED), COMPONENTS, n_boot=100, level=0.9, seed=6)
    assert a == b
    for key in ra["micro"]:
        assert np.array_equal(ra["micro"][key], rb["micro"][key], equal_nan=True)
        assert np.array_equal(ra["macro"][key], rb["macro"][key], equal_nan=True)
    # Harm-Pair's scenario S1 has a right and a wrong item, so its draws vary with the seed (Help-Pair's do not:
    # each of its scenarios is all right or all wrong, and prompts are resampled within scenarios)
    assert not np.array_equal(ra["micro"][("Harmlessness", "pairwise")], rc["micro"][("Harmlessness", "pairwise")])
    assert (ra["micro"][("Helpfulness", "pairwise")] == 0.75).all()


def test_empty_component_gives_none_and_overall_none():
    spec = [s for s in UNBALANCED if not (s[0] == "Harmlessness" and s[1] == "bon")]
    summary, reps = goal_format_summary(outcomes_from(spec), COMPONENTS, n_boot=50, level=0.95, seed=0)
    node = summary["Harmlessness"]["bon"]
    assert node["n_items"] == 0
    assert node["n_correct"] == 0 and node["n_ties"] == 0 and node["n_invalid"] == 0
    assert node["accuracy"] is None
    assert node["ci_low"] is None and node["ci_high"] is None
    assert node["chance"] is None
    assert node["macro"] == {"accuracy": None, "ci_low": None, "ci_high": None, "n_scenarios": 0}
    # the other components are unaffected
    assert summary["Helpfulness"]["pairwise"]["accuracy"] == 0.75
    ov = overall(summary, reps, COMPONENTS, 0.95)
    assert ov["accuracy"] is None
    assert ov["micro"] == {"accuracy": None, "ci_low": None, "ci_high": None}
    assert ov["macro"] == {"accuracy": None, "ci_low": None, "ci_high": None}


# ------------------------------------------------------------------------------------------- accuracy_by_gap
def gap_items() -> tuple[pd.DataFrame, dict]:
    items = make_items([
        ("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"], 4.0, [3.0]),  # gap 1.0, correct
        ("p2", "pairwise", "Helpfulness", "T", "S", "c", ["d"], 3.5, [2.5]),  # gap 1.0, wrong
        ("p3", "pairwise", "Helpfulness", "T", "S", "e", ["f"], 5.0, [3.0]),  # gap 2.0, correct
        ("p4", "pairwise", "Helpfulness", "T", "S", "g", ["h"], np.nan, [np.nan]),  # no judge score: dropped
        ("p5", "pairwise", "Harmlessness", "S1 Violent Crimes", "S1 Violent Crimes", "i", ["j"], 2.0, [1.5]),  # 0.5, tie
        ("b1", "bon", "Helpfulness", "T", "S", "a", ["b", "d"], 4.0, [3.0, 2.5]),  # BoN: not in by-gap
    ])
    scores = {"a": 1.0, "b": 0.0, "c": 0.0, "d": 1.0, "e": 2.0, "f": 1.0, "g": 1.0, "h": 0.0, "i": 0.5, "j": 0.5}
    return items, scores


def test_accuracy_by_gap():
    items, scores = gap_items()
    out = item_outcomes(items, scores)
    rows = accuracy_by_gap(items, out)
    assert rows == [
        {"goal": "Harmlessness", "gap": 0.5, "n_items": 1, "accuracy": 0.0},
        {"goal": "Helpfulness", "gap": 1.0, "n_items": 2, "accuracy": 0.5},
        {"goal": "Helpfulness", "gap": 2.0, "n_items": 1, "accuracy": 1.0},
    ]
    assert accuracy_by_gap(items.drop(columns=["chosen_score"]), out) == []


# ------------------------------------------------------------------------------------------- evaluate
def test_evaluate_end_to_end():
    items = make_items([
        ("p1", "pairwise", "Helpfulness", "Code", "Doc", "a", ["b"], 4.0, [3.0]),  # correct
        ("p2", "pairwise", "Helpfulness", "Code", "Doc", "c", ["d"], 4.0, [3.0]),  # tie
        ("p3", "pairwise", "Helpfulness", "Chat", "Talk", "e", ["f"], 4.0, [2.0]),  # wrong
        ("b1", "bon", "Helpfulness", "Code", "Doc", "a", ["b", "d"], 4.0, [3.0, 2.0]),  # 3 > 1 and 3 > 2: correct
        ("p4", "pairwise", "Harmlessness", "S1 Violent Crimes", "S1 Violent Crimes", "g", ["h"], 5.0, [4.0]),  # correct
        ("p5", "pairwise", "Harmlessness", "S2 Non-Violent Crimes", "S2 Non-Violent Crimes", "h", ["g"], 4.0, [5.0]),  # wrong
        ("b2", "bon", "Harmlessness", "S1 Violent Crimes", "S1 Violent Crimes", "g", ["h", "i"], 5.0, [4.0, 3.0]),  # invalid (NaN)
    ])
    scores = pd.DataFrame({
        "text_id": list("abcdefghi"),
        "score": [3, 1, 2, 2, 0, 5, 9, 1, np.nan],  # ints on purpose: evaluate casts to float
    })
    m = evaluate(items, scores, COMPONENTS, n_boot=100, level=0.9, seed=7)
    assert m["n_items"] == 7
    assert m["ci"] == {"method": "cluster bootstrap over prompts", "bootstrap": "cluster", "cluster": "prompt_id",
                       "n_clusters": 7, "interval": "percentile", "strata": "goal/scenario",
                       "overall": "one joint resample of prompts for all four components", "level": 0.9, "n_boot": 100, "seed": 7}
    g = m["goals"]
    hp, hb, sp, sb = g["Helpfulness"]["pairwise"], g["Helpfulness"]["bon"], g["Harmlessness"]["pairwise"], g["Harmlessness"]["bon"]
    assert (hp["n_items"], hp["n_correct"], hp["n_ties"], hp["n_invalid"]) == (3, 1, 1, 0)
    assert hp["accuracy"] == pytest.approx(1 / 3)
    assert hp["macro"]["accuracy"] == pytest.approx(0.25)  # Doc 1/2, Talk 0/1
    assert (hb["n_items"], hb["accuracy"], hb["chance"]) == (1, 1.0, pytest.approx(1 / 3))
    assert (sp["n_items"], sp["accuracy"], sp["macro"]["accuracy"]) == (2, 0.5, 0.5)
    assert (sb["n_items"], sb["n_invalid"], sb["accuracy"]) == (1, 1, 0.0)
    # Overall = (Help-BoN 1 + Help-Pair 1/3 + Harm-BoN 0 + Harm-Pair 1/2) / 4 = 11/24
    assert m["overall"]["accuracy"] == pytest.approx(11 / 24)
    # macro: (1 + 1/4 + 0 + 1/2) / 4 = 7/16
    assert m["overall"]["macro"]["accuracy"] == pytest.approx(7 / 16)

    by_task = {(r["goal"], r["format"], r["task"]): (r["n_items"], r["accuracy"]) for r in m["by_task"]}
    assert by_task == {
        ("Harmlessness", "bon", "S1 Violent Crimes"): (1, 0.0),
        ("Harmlessness", "pairwise", "S1 Violent Crimes"): (1, 1.0),
        ("Harmlessness", "pairwise", "S2 Non-Violent Crimes"): (1, 0.0),
        ("Helpfulness", "bon", "Code"): (1, 1.0),
        ("Helpfulness", "pairwise", "Chat"): (1, 0.0),
        ("Helpfulness", "pairwise", "Code"): (2, 0.5),
    }
    assert [(r["goal"], r["format"], r["task"]) for r in m["by_task"]] == sorted(by_task)
    by_scen = {(r["goal"], r["format"], r["scenario"]): (r["n_items"], r["n_ties"], r["accuracy"]) for r in m["by_scenario"]}
    assert by_scen[("Helpfulness", "pairwise", "Doc")] == (2, 1, 0.5)
    assert by_scen[("Helpfulness", "pairwise", "Talk")] == (1, 0, 0.0)
    assert len(by_scen) == 6
    # judge gaps (pairwise only): Help 1.0 -> p1 ok, p2 tie; Help 2.0 -> p3 wrong; Harm 1.0 -> p4 ok, p5 (gap -1) wrong
    assert m["by_judge_gap"] == [
        {"goal": "Harmlessness", "gap": -1.0, "n_items": 1, "accuracy": 0.0},
        {"goal": "Harmlessness", "gap": 1.0, "n_items": 1, "accuracy": 1.0},
        {"goal": "Helpfulness", "gap": 1.0, "n_items": 2, "accuracy": 0.5},
        {"goal": "Helpfulness", "gap": 2.0, "n_items": 1, "accuracy": 0.0},
    ]
    assert evaluate(items, scores, COMPONENTS, n_boot=100, level=0.9, seed=7) == m


def test_evaluate_missing_score_raises():
    items = make_items([("pair-3", "pairwise", "Helpfulness", "T", "S", "a", ["b"])])
    with pytest.raises(ScoreMissingError, match="pair-3"):
        evaluate(items, pd.DataFrame({"text_id": ["a"], "score": [1.0]}), COMPONENTS, n_boot=10)


def test_rm_metrics_wraps_the_benchmark_metrics_with_scoring_and_data_counts():
    from rmeval.metrics import rm_metrics

    items = make_items([("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"]), ("b1", "bon", "Helpfulness", "T", "S", "a", ["b", "c"])])
    scores = pd.DataFrame({"text_id": ["a", "b", "c"], "score": [2.0, 1.0, np.nan], "n_tokens": [4, 6, 8],
                           "truncated": [False, True, False]})
    report = {"counts": {"slots": 5}, "missing_files": [], "identical_pairs": 0, "provenance": {"config_sha256": "x"}}
    m = {"n_boot": 10, "ci_level": 0.9, "seed": 0, "bootstrap": "item"}
    out = rm_metrics(RMBBenchmark(name="t"), items, report, "rm-a", m, scores=scores, score_meta={"stats": {"n_scored": 3}})
    assert (out["benchmark"], out["rm"], out["overall"]["components"]) == ("t", "rm-a", list(COMPONENTS))
    assert out["goals"]["Helpfulness"]["pairwise"]["accuracy"] == 1.0 and out["goals"]["Helpfulness"]["bon"]["n_invalid"] == 1
    assert out["scoring"] == {"n_texts": 3, "n_truncated": 1, "n_nan_scores": 1, "mean_tokens": 6.0,
                              "n_scored_this_run": 3, "n_from_cache": None}
    assert out["data"]["counts"] == {"slots": 5} and "length_bias" not in out
    assert out["provenance"]["benchmark_config_sha256"] == "x" and out["provenance"]["scoring"] == {"stats": {"n_scored": 3}}


# ------------------------------------------------------------------------------------------- leaderboard
def _node(acc, lo, hi, n, ties, macro):
    return {"accuracy": acc, "ci_low": lo, "ci_high": hi, "n_items": n, "n_ties": ties, "macro": {"accuracy": macro}}


def _metrics(rm, comps, ov, ov_macro, truncated=None):
    """comps: four (acc, lo, hi, n, ties, macro) in COMPONENTS order; ov: (acc, lo, hi)."""
    goals: dict = {}
    for (goal, fmt), c in zip(COMPONENTS.values(), comps):
        goals.setdefault(goal, {})[fmt] = _node(*c)
    m = {
        "rm": rm,
        "goals": goals,
        "overall": {"micro": {"accuracy": ov[0], "ci_low": ov[1], "ci_high": ov[2]}, "macro": {"accuracy": ov_macro}},
    }
    if truncated is not None:
        m["scoring"] = {"n_truncated": truncated}
    return m


def leaderboard_inputs():
    a = _metrics(
        "alpha",
        [(0.5, 0.4, 0.6, 10, 1, 0.45), (0.5, 0.3, 0.7, 20, 0, 0.5), (0.25, 0.1, 0.4, 8, 2, 0.2), (0.75, 0.6, 0.9, 12, 0, 0.7)],
        (0.5, 0.4, 0.6),
        0.4625,
        truncated=3,
    )
    b = _metrics(
        "beta",
        [(1.0, 1.0, 1.0, 10, 0, 1.0), (0.75, 0.5, 0.9, 20, 3, 0.7), (0.5, 0.25, 0.75, 8, 0, 0.5), (0.75, 0.5, 1.0, 12, 1, 0.8)],
        (0.75, 0.6, 0.875),
        0.75,
    )
    c = _metrics(  # one empty component: Overall None, sorted last
        "gamma",
        [(0.5, 0.4, 0.6, 10, 0, 0.5), (0.5, 0.4, 0.6, 20, 0, 0.5), (None, None, None, 0, 0, None), (0.5, 0.4, 0.6, 12, 0, 0.5)],
        (None, None, None),
        None,
    )
    return a, b, c


def test_leaderboard_frame_sorted_by_overall():
    a, b, c = leaderboard_inputs()
    frame = leaderboard_frame([c, a, b], COMPONENTS)
    assert frame["rm"].tolist() == ["beta", "alpha", "gamma"]
    assert frame["Overall"].iloc[0] == 0.75 and frame["Overall"].iloc[1] == 0.5
    assert pd.isna(frame["Overall"].iloc[2])
    beta = frame.iloc[0]
    assert (beta["Help-BoN"], beta["Help-BoN lo"], beta["Help-BoN hi"], beta["Help-BoN n"], beta["Help-BoN ties"]) == (1.0, 1.0, 1.0, 10, 0)
    assert (beta["Help-Pair"], beta["Help-Pair ties"], beta["Help-Pair macro"]) == (0.75, 3, 0.7)
    assert (beta["Overall lo"], beta["Overall hi"], beta["Overall macro"]) == (0.6, 0.875, 0.75)
    assert frame.iloc[1]["truncated texts"] == 3
    assert pd.isna(beta["truncated texts"])
    assert pd.isna(frame.iloc[2]["Harm-BoN"])
    assert list(frame.columns[:7]) == ["rm", "Help-BoN", "Help-BoN lo", "Help-BoN hi", "Help-BoN n", "Help-BoN ties", "Help-BoN macro"]


def test_leaderboard_frame_ties_broken_by_name_and_empty():
    a, b, _ = leaderboard_inputs()
    b2 = dict(b, rm="aardvark")
    assert leaderboard_frame([b, a, b2], COMPONENTS)["rm"].tolist() == ["aardvark", "beta", "alpha"]
    assert len(leaderboard_frame([], COMPONENTS)) == 0


def _rmb_markdown(metrics, notes=(), min_items_for_ci=1):
    """RMB's leaderboard markdown through the shared renderer (``rmeval.leaderboards``), without RMB's data notes."""
    from rmeval.config.schemas import LeaderboardConfig
    from rmeval.leaderboards import board_frame, board_markdown

    bench = RMBBenchmark(name="rmb")
    frame = board_frame(bench.leaderboard_frame(metrics), metrics, columns=bench.headline_columns, primary=bench.primary,
                        board=LeaderboardConfig(min_items_for_ci=min_items_for_ci))
    return board_markdown(frame, name="rmb", definition=bench.headline_definition, columns=bench.headline_columns,
                          primary=bench.primary, extra=bench.markdown_columns(), notes=notes)


def test_leaderboard_markdown_exact():
    a, b, c = leaderboard_inputs()
    md = _rmb_markdown([a, b, c], notes=["missing: S11"])
    expected = "\n".join([
        "# Leaderboard: rmb",
        "",
        "Accuracy (fraction of items an RM gets right; a tie counts as wrong); pairwise: r(chosen) > r(rejected), BoN: "
        "r(best) > r(every loser); Overall = mean of the four columns; 95% bootstrap CIs in brackets (percentile bootstrap).",
        "",
        "| # | RM | Help-BoN (n=10) | Help-Pair (n=20) | Harm-BoN (n=8) | Harm-Pair (n=12) | Overall | Overall (macro) | ties (H-B/H-P/S-B/S-P) |",
        "|---:|---|---:|---:|---:|---:|---:|---|---|",
        "| 1 | beta | 1.000 [1.000, 1.000] | 0.750 [0.500, 0.900] | 0.500 [0.250, 0.750] | 0.750 [0.500, 1.000] | 0.750 [0.600, 0.875] | 0.750 | 0/3/0/1 |",
        "| 2 | alpha | 0.500 [0.400, 0.600] | 0.500 [0.300, 0.700] | 0.250 [0.100, 0.400] | 0.750 [0.600, 0.900] | 0.500 [0.400, 0.600] | 0.463 | 1/0/2/0 |",
        "| 3 | gamma | 0.500 [0.400, 0.600] | 0.500 [0.400, 0.600] | – | 0.500 [0.400, 0.600] | – | – | 0/0/0/0 |",
        "",
        "- # = position by Overall, with no paired tests behind it (the benchmark has none, or there are fewer than two "
        "RMs): nothing here says whether neighbouring RMs differ.",
        "- length-controlled: not defined here (it needs pairs where the chosen response is longer and pairs where it is "
        "shorter); prefers longer: no decided pairs of unequal length (or no length bias in the metrics files).",
        "- missing: S11",
    ]) + "\n"
    assert md == expected


def test_leaderboard_markdown_thousands_and_small_columns():
    _, b, _ = leaderboard_inputs()
    b["goals"]["Helpfulness"]["pairwise"]["n_items"] = 10067
    md = _rmb_markdown([b], min_items_for_ci=30)
    assert "| Help-BoN (n=10, too few items for a CI) | Help-Pair (n=10,067) |" in md
    assert "| 1 | beta | 1.000 | 0.750 [0.500, 0.900] | 0.500 | 0.750 |" in md  # no zero-width [1.000, 1.000]
    assert "Too few items for a CI: Help-BoN (10 items), Harm-BoN (8 items), Harm-Pair (12 items)." in md


# ------------------------------------------------------------------------------------------- cluster bootstrap
from rmeval.metrics import cluster_weights, name_seed, ratio_replicates  # noqa: E402


def clustered(spec: list[tuple[str, str, str, str, bool]]) -> pd.DataFrame:
    """Outcomes with prompts: (prompt_id, goal, format, scenario, correct) per item."""
    out = outcomes_from([(g, f, s, ok) for _, g, f, s, ok in spec])
    out["prompt_id"] = [p for p, *_ in spec]
    return out


TWO_PROMPTS = [("P1", "Helpfulness", "pairwise", "S", True)] * 3 + [("P2", "Helpfulness", "pairwise", "S", False)]


def test_ratio_replicates_hand_computed():
    # P1 holds three right items, P2 one wrong item. Draws (P1 twice), (P1, P2), (P2 twice):
    # 6/6 = 1, (3 + 0)/(3 + 1) = 3/4, 0/2 = 0. An item bootstrap could never give 3/4 from a draw of one P2 item.
    codes = np.array([0, 0, 0, 1])
    values = np.array([1.0, 1.0, 1.0, 0.0])
    weights = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    assert ratio_replicates(weights, codes, values).tolist() == [1.0, 0.75, 0.0]
    # a mask that the draw misses entirely gives NaN, not 0
    reps = ratio_replicates(weights, codes, values, mask=np.array([False, False, False, True]))
    assert reps[1] == 0.0 and reps[2] == 0.0 and np.isnan(reps[0])


def test_cluster_bootstrap_distribution_hand_computed():
    # Two equally likely prompts drawn twice: (P1,P1) 1/4 -> 1, (P1,P2) or (P2,P1) 1/2 -> 3/4, (P2,P2) 1/4 -> 0.
    out = clustered(TWO_PROMPTS)
    s, reps = summarize(out, n_boot=4000, level=0.95, rng=0)
    assert s["accuracy"] == 0.75
    assert set(np.unique(reps)) == {0.0, 0.75, 1.0}
    assert np.mean(reps == 1.0) == pytest.approx(0.25, abs=0.03)
    assert np.mean(reps == 0.75) == pytest.approx(0.5, abs=0.03)
    assert (s["ci_low"], s["ci_high"]) == (0.0, 1.0)
    # the item bootstrap treats the four items as independent: other values appear (multiples of 1/4)
    _, item_reps = summarize(out, n_boot=4000, level=0.95, rng=np.random.default_rng(0), method="item")
    assert {0.25, 0.5} <= set(np.unique(item_reps))


def test_cluster_weights_draw_each_scenario_size_from_its_name():
    out = clustered([("P1", "Helpfulness", "pairwise", "A", True), ("P2", "Helpfulness", "pairwise", "A", False),
                     ("P3", "Helpfulness", "pairwise", "A", True), ("P4", "Helpfulness", "pairwise", "B", False)])
    codes, w = cluster_weights(out, n_boot=50, seed=3)
    assert codes.tolist() == [0, 1, 2, 3] and w.shape == (50, 4)
    assert (w[:, :3].sum(axis=1) == 3).all() and (w[:, 3] == 1).all()  # scenario A keeps 3 prompts, B its one
    rng = np.random.default_rng(name_seed(3, "stratum", "Helpfulness/A"))
    assert np.array_equal(w[:, :3], rng.multinomial(3, [1 / 3] * 3, size=50))


def test_overall_is_resampled_jointly_under_the_cluster_bootstrap():
    # every prompt has one item in each component, all right or all wrong: the four components move together,
    # so Overall's replicates equal each component's; the item bootstrap averages four independent draws.
    rng = np.random.default_rng(0)
    right = rng.random(40) < 0.6
    spec = [(f"P{i}", g, f, "S", bool(ok)) for i, ok in enumerate(right) for g, f in COMPONENTS.values()]
    out = clustered(spec)
    summary, reps = goal_format_summary(out, COMPONENTS, n_boot=300, level=0.95, seed=1)
    ov = overall(summary, reps, COMPONENTS, 0.95)
    hp = summary["Helpfulness"]["pairwise"]
    assert np.array_equal(np.mean([reps["micro"][gf] for gf in COMPONENTS.values()], axis=0), reps["micro"][("Helpfulness", "pairwise")])
    assert (ov["micro"]["ci_low"], ov["micro"]["ci_high"]) == (hp["ci_low"], hp["ci_high"])
    summary_i, reps_i = goal_format_summary(out, COMPONENTS, n_boot=300, level=0.95, seed=1, method="item")
    ov_i = overall(summary_i, reps_i, COMPONENTS, 0.95)
    assert ov_i["micro"]["ci_high"] - ov_i["micro"]["ci_low"] < 0.75 * (hp["ci_high"] - hp["ci_low"])
    assert ov_i["micro"]["accuracy"] == ov["micro"]["accuracy"]


@pytest.mark.parametrize("method", ["cluster", "item"])
def test_a_missing_scenario_leaves_the_other_intervals_unchanged(method):
    spec = [(f"P{i}", "Helpfulness", "pairwise", s, i % 3 != 0) for i, s in enumerate(["A"] * 9 + ["B"] * 6 + ["C"] * 7)]
    spec += [(f"Q{i}", "Harmlessness", "pairwise", s, i % 2 == 0) for i, s in enumerate(["S1"] * 5 + ["S2"] * 5)]
    full = clustered(spec)
    without_b = full[full["scenario"] != "B"].reset_index(drop=True)
    rows = {r["scenario"]: r for r in group_table(full, ["goal", "scenario"], 200, 0.95, seed=4, method=method)}
    rows_b = {r["scenario"]: r for r in group_table(without_b, ["goal", "scenario"], 200, 0.95, seed=4, method=method)}
    for scen in ("A", "C", "S1", "S2"):
        assert (rows[scen]["ci_low"], rows[scen]["ci_high"]) == (rows_b[scen]["ci_low"], rows_b[scen]["ci_high"])
    a, _ = goal_format_summary(full, COMPONENTS, 200, 0.95, seed=4, method=method)
    b, _ = goal_format_summary(without_b, COMPONENTS, 200, 0.95, seed=4, method=method)
    assert a["Harmlessness"]["pairwise"] == b["Harmlessness"]["pairwise"]


def test_bootstrap_method_changes_intervals_not_accuracies():
    items = make_items([
        ("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"]),
        ("p2", "pairwise", "Helpfulness", "T", "S", "a", ["c"]),
        ("b1", "bon", "Helpfulness", "T", "S", "a", ["b", "c"]),
        ("p3", "pairwise", "Harmlessness", "S1", "S1", "d", ["e"]),
        ("b2", "bon", "Harmlessness", "S1", "S1", "d", ["e", "f"]),
    ])
    items["prompt_id"] = ["q1", "q1", "q1", "q2", "q2"]
    scores = pd.DataFrame({"text_id": list("abcdef"), "score": [2.0, 1.0, 3.0, 1.0, 0.0, 2.0]})
    cl = evaluate(items, scores, COMPONENTS, n_boot=50, seed=0)
    it = evaluate(items, scores, COMPONENTS, n_boot=50, seed=0, bootstrap="item")
    assert (cl["ci"]["bootstrap"], cl["ci"]["n_clusters"], it["ci"]["bootstrap"], it["ci"]["n_clusters"]) == ("cluster", 2, "item", 5)
    for goal in ("Helpfulness", "Harmlessness"):
        for fmt in ("pairwise", "bon"):
            assert cl["goals"][goal][fmt]["accuracy"] == it["goals"][goal][fmt]["accuracy"]
            assert cl["goals"][goal][fmt]["macro"]["accuracy"] == it["goals"][goal][fmt]["macro"]["accuracy"]
    assert cl["overall"]["accuracy"] == it["overall"]["accuracy"] == pytest.approx((0 + 0.5 + 0 + 1) / 4)
    assert [r["accuracy"] for r in cl["by_scenario"]] == [r["accuracy"] for r in it["by_scenario"]]


def test_cluster_bootstrap_needs_prompt_ids_and_a_known_method():
    out = outcomes_from([("Helpfulness", "pairwise", "S", True)]).drop(columns=["prompt_id"])
    with pytest.raises(ValueError, match="field 'prompt_id' missing.*metrics.bootstrap=item"):
        summarize(out, n_boot=5, level=0.95, rng=0)
    s, _ = summarize(out, n_boot=5, level=0.95, rng=0, method="item")
    assert s["accuracy"] == 1.0
    with pytest.raises(ValueError, match="metrics.bootstrap: expected one of cluster, item, got 'prompts'"):
        summarize(out, n_boot=5, level=0.95, rng=0, method="prompts")


def test_judge_outcomes_without_prompt_ids_get_them_from_the_items():
    items = make_items([("p1", "pairwise", "Helpfulness", "T", "S", "a", ["b"]), ("p2", "pairwise", "Helpfulness", "T", "S", "a", ["c"])])
    items["prompt_id"] = ["q1", "q1"]
    outcomes = item_outcomes(items, {"a": 1.0, "b": 0.0, "c": 2.0}).drop(columns=["prompt_id"])
    m = evaluate_outcomes(items, outcomes, COMPONENTS, n_boot=20)
    assert m["ci"]["n_clusters"] == 1
    assert m["goals"]["Helpfulness"]["pairwise"]["ci_low"] == m["goals"]["Helpfulness"]["pairwise"]["ci_high"] == 0.5


def test_config_names_the_bootstrap_and_rejects_an_unknown_one():
    from rmeval.config import ConfigError, compose

    assert compose([]).metrics.bootstrap == "cluster"
    assert compose(["metrics.bootstrap=item"]).metrics.bootstrap == "item"
    with pytest.raises(ConfigError, match="metrics.*'prompts'.*cluster, item"):
        compose(["metrics.bootstrap=prompts"])
