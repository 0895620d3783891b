"""PPE (rmeval.benchmarks.ppe, ppe_correctness; rmeval.metrics.correctness) on hand-made records in the hub
schemas: human-preference accuracy and categories, correctness pairwise accuracy, best-of-K (ties included), ROC-AUC (tied scores included), the one-line errors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.benchmarks import BenchmarkError, build_benchmark
from rmeval.benchmarks.ppe_correctness import source_key
from rmeval.data.schema import DataError
from rmeval.metrics import item_outcomes
from rmeval.metrics.correctness import best_of_k_curve, pair_counts, roc_auc

M = {"n_boot": 200, "ci_level": 0.95, "seed": 0}


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def length_scores(texts: pd.DataFrame) -> pd.DataFrame:
    """A reward model that scores a response by its length."""
    return pd.DataFrame({"text_id": texts["text_id"], "score": texts["response"].str.len().astype(float),
                         "n_tokens": 1, "truncated": False})


# ------------------------------------------------------------------------------------------- human preference
def battle(qid, winner, r1, r2, language="English", **tags):
    flags = {"hard_prompt": False, "easy_prompt": False, "if_prompt": False, "math_prompt": False, "is_code": False}
    return {"question_id": qid, "model_a": "ma", "model_b": "mb", "winner": winner, "prompt": f"question {qid}",
            "response_1": r1, "response_2": r2, "language": language, "is_refusal": False,
            "conv_metadata": {"turns": 1}, "category_tag": {"math_v0.1": {"math": False}}, **{**flags, **tags}}


BATTLES = [
    battle("b1", "model_a", "long answer", "short", hard_prompt=True, math_prompt=True),  # right
    battle("b2", "model_b", "long answer", "short", hard_prompt=True, is_code=True),  # wrong
    battle("b3", "tie", "x", "yy"),  # no winner: left out
    battle("b4", "tie (bothbad)", "x", "yy", hard_prompt=True),  # no winner: left out
    battle("b5", "model_b", "same", "SAME", if_prompt=True, easy_prompt=True),  # an RM tie: wrong
    battle("b6", "model_a", "longer one", "short", language="Chinese", easy_prompt=True),  # right
]


def preference(**kw):
    return build_benchmark({"_target_": "rmeval.benchmarks.ppe.PPEPreference", "name": "ppe_preference", "version": "1", **kw})


def test_preference_accuracy_and_categories_golden(tmp_path):
    bench = preference()
    items, texts, report = bench.load(str(write_jsonl(tmp_path / "hp.jsonl", BATTLES)))
    assert len(items) == 4 and report["n_tie_verdicts_excluded"] == 2 and report["verdicts"]["tie (bothbad)"] == 1
    assert report["categories"] == {"Hard Prompts": 2, "Easy Prompts": 2, "Instruction Following": 1, "Math": 1, "Coding": 1}
    b2 = items.set_index("item_id").loc["ppe-hp-b2"]
    assert texts.set_index("text_id").loc[b2["chosen_id"], "response"] == "short"  # model_b won: response_2 is chosen
    m = bench.evaluate(items, scores=length_scores(texts), metrics_cfg=M)
    head = {k: v["accuracy"] for k, v in m["headline"]["values"].items()}
    assert head == {"Overall": 0.5, "Hard Prompts": 0.5, "Math": 1.0, "Coding": 0.0, "Instruction Following": 0.0,
                    "Easy Prompts": 0.5}
    assert m["ppe"]["columns"]["Overall"]["n_ties"] == 1 and m["headline"]["values"]["Hard Prompts"]["n_items"] == 2
    cell = m["headline"]["values"]["Overall"]
    assert cell["ci_low"] <= 0.5 <= cell["ci_high"]
    assert {r["scenario"]: r["n_items"] for r in m["by_scenario"]} == {"English": 3, "Chinese": 1}
    # the paired tests' columns reproduce every headline value from per-item outcomes
    out = item_outcomes(items, dict(zip(texts["text_id"], texts["response"].str.len().astype(float))))
    cols = {c.name: c for c in bench.significance_columns(items)}
    assert set(cols) == set(bench.headline_columns)
    for name, value in head.items():
        assert cols[name].value(out) == pytest.approx(value), name


def test_preference_takes_judge_outcomes_and_parquet(tmp_path):
    path = tmp_path / "test-00000-of-00001.parquet"
    pd.DataFrame(BATTLES).to_parquet(path)  # nested structs, as the hub's parquet stores them
    bench = preference()
    items, _, _ = bench.load(str(path))
    right = items["item_id"].isin(["ppe-hp-b1", "ppe-hp-b2", "ppe-hp-b5"]).to_numpy()
    outcomes = items[["item_id", "format", "goal", "task", "scenario"]].assign(
        correct=right, tie=False, invalid=False, n_losers=1, margin=np.where(right, 1.0, -1.0))
    head = bench.evaluate(items, outcomes=outcomes, metrics_cfg=M)["headline"]["values"]
    assert head["Overall"]["accuracy"] == 0.75 and head["Coding"]["accuracy"] == 1.0 and head["Easy Prompts"]["accuracy"] == 0.5


@pytest.mark.parametrize("bad,expected", [
    ({"winner": "model_c"}, "field 'winner': unknown verdict 'model_c'"),
    ({"hard_prompt": None}, "field 'hard_prompt': null"),
    ({"is_code": "yes"}, "field 'is_code': expected bool, got str"),
    ({"response_2": None}, "field 'response_2': null"),
])
def test_preference_bad_records_fail_with_one_line(tmp_path, bad, expected):
    path = write_jsonl(tmp_path / "hp.jsonl", [BATTLES[0], {**BATTLES[1], **bad}])
    with pytest.raises(DataError) as err:
        preference().load(str(path))
    assert str(err.value).startswith(f"{path}: record 1 (question_id='b2'): {expected}") and "\n" not in str(err.value)


def test_preference_duplicate_question_id_names_both_records(tmp_path):
    path = write_jsonl(tmp_path / "hp.jsonl", [BATTLES[0], BATTLES[0]])
    with pytest.raises(DataError, match=r"record 1 \(question_id='b1'\): field 'question_id': duplicate id 'b1' \(first seen in .*record 0\)"):
        preference().load(str(path))


# ------------------------------------------------------------------------------------------- correctness
def bok_set(qid, responses, correct, pairs, model="policy-x", **extra):
    rec = {"question_id": qid, "model_name": model, "prompt": f"problem {qid}", "scores": correct,
           "mean_score": float(np.mean(correct)), "sampled_conflict_pairs": pairs, **extra}
    rec.update({f"response_{k + 1}": r for k, r in enumerate(responses)})
    return rec


# Length RM. m1: scores 3,2,2,1 (two tied), correct 0,1,0,1; sampled pairs (1,0) wrong, (3,2) wrong, (1,2) a tie.
# m2: scores 5,1,1, correct 1,0,0; pairs (0,1), (2,0) right, and (1,0) a repeat of (0,1) (dropped).
# m3: every response correct: no conflict, left out. p1 (MMLU-Pro): scores 1,4, correct 1,0; pair (0,1) wrong.
MATH_SETS = [
    bok_set("m1", ["aaa", "bb", "cc", "d"], [False, True, False, True], [[1, 0], [3, 2], [1, 2]], level="Level 5"),
    bok_set("m2", ["eeeee", "f", "g"], [True, False, False], [[0, 1], [2, 0], [1, 0]]),
    bok_set("m3", ["hh", "i"], [True, True], []),
]
MMLU_SETS = [bok_set(7, ["j", "kkkk"], [1, 0], [[0, 1]], options=["A", "B"], category="math")]


def correctness_root(tmp_path: Path, math=MATH_SETS, mmlu=MMLU_SETS) -> Path:
    root = tmp_path / "ppe"
    write_jsonl(root / "PPE-MATH-Best-of-K" / "data" / "train.jsonl", math)
    write_jsonl(root / "mmlu_pro.jsonl", mmlu)
    return root


def correctness(**kw):
    return build_benchmark({"_target_": "rmeval.benchmarks.ppe_correctness.PPECorrectness", "name": "ppe_correctness", "version": "1", **kw})


def test_best_of_k_curve_golden_with_a_tie():
    """Scores 3, 2, 2, 1 with correctness 0, 1, 0, 1. K=1: the mean, 1/2. K=2: of the 6 pairs, the 3 with the 3 pick it
    (0), {2a,2b} is a tie at the top (1/2), {2a,1} picks 2a (1), {2b,1} picks 2b (0): 1.5/6. K=3: only {2a,2b,1} does not
    hold the 3: (1/2)/4. K=4: the 3, wrong."""
    assert np.allclose(best_of_k_curve([3, 2, 2, 1], [0, 1, 0, 1]), [0.5, 0.25, 0.125, 0.0])
    assert np.allclose(best_of_k_curve([7, 7, 7], [1, 0, 0]), [1 / 3] * 3)  # all tied: every K averages the three
    assert np.allclose(best_of_k_curve([np.nan, 1.0], [1, 0]), [0.5, 0.0])  # a NaN score ranks lowest


def test_best_of_k_curve_equals_enumeration_of_subsets():
    rng = np.random.default_rng(3)
    scores, correct = rng.integers(0, 4, size=7).astype(float), rng.integers(0, 2, size=7)
    curve = best_of_k_curve(scores, correct)
    for k in range(1, 8):
        picks = []
        for subset in itertools.combinations(range(7), k):
            top = max(scores[i] for i in subset)
            picks.append(np.mean([correct[i] for i in subset if scores[i] == top]))
        assert curve[k - 1] == pytest.approx(np.mean(picks)), k


def test_roc_auc_golden_with_ties_and_weights():
    s, y = np.array([3, 2, 2, 1.0]), np.array([0, 1, 0, 1])
    assert roc_auc(s, y) == pytest.approx(0.125)  # positives 2, 1 vs negatives 3, 2: only 2 = 2, a half
    assert roc_auc(s, y, np.array([1, 2, 1, 0])) == pytest.approx(1.0 / 4)  # positive 2 twice, the 1 dropped: 2 x 0.5 / (2 x 2)
    assert roc_auc(np.array([1.0, 2.0]), np.array([1, 1])) is None
    assert pair_counts(s, y) == (0, 1, 4)  # the correct 2 and 1 beat neither incorrect; 2 = 2 is the one tie


def test_correctness_golden_per_source_and_overall(tmp_path):
    bench = correctness()
    items, texts, report = bench.load(str(correctness_root(tmp_path)))
    math = report["sources"]["MATH"]
    assert (math["sets"], math["sets_without_conflict"], math["pairs"], math["duplicate_pairs_dropped"]) == (3, 1, 5, 1)
    assert report["missing_sources"] == ["GPQA", "IFEval", "MBPP-Plus"]
    assert sorted(items["format"].value_counts().items()) == [("bok", 3), ("pairwise", 6)]
    m = bench.evaluate(items, scores=length_scores(texts), metrics_cfg=M)
    head = {k: v["accuracy"] for k, v in m["headline"]["values"].items()}
    assert head["MATH"] == pytest.approx(2 / 5) and head["MMLU-Pro"] == 0.0 and head["GPQA"] is None
    assert head["Accuracy"] == pytest.approx(0.2)
    # best-of-K at each set's size: m1 0, m2 1 -> MATH 1/2; p1 0. Curve of MATH (m2 capped at K=3 beyond its size)
    ppe = m["ppe"]
    assert head["Best-of-K"] == pytest.approx(0.25) and ppe["best_of_k"]["MATH"]["value"] == 0.5
    curve = [r["value"] for r in ppe["best_of_k"]["MATH"]["curve"]]
    assert np.allclose(curve, [(0.5 + 1 / 3) / 2, (0.25 + 2 / 3) / 2, (0.125 + 1) / 2, (0 + 1) / 2])
    assert np.allclose([r["value"] for r in ppe["best_of_k"]["MMLU-Pro"]["curve"]], [0.5, 0, 0, 0])
    assert m["headline"]["values"]["Best-of-K"]["chance"] == pytest.approx(((0.5 + 1 / 3) / 2 + 0.5) / 2)
    # pooled ROC-AUC of MATH: positives 2, 1, 5 against negatives 3, 2, 1, 1: (2.5 + 1 + 4) / 12
    assert ppe["roc_auc"]["MATH"]["value"] == pytest.approx(7.5 / 12) and ppe["roc_auc"]["MMLU-Pro"]["value"] == 0.0
    assert head["ROC-AUC"] == pytest.approx(7.5 / 24) and m["headline"]["values"]["ROC-AUC"]["n_items"] == 9
    assert ppe["all_pairs"]["MATH"] == {**ppe["all_pairs"]["MATH"], "accuracy": pytest.approx(1 / 3), "n_pairs": 6, "n_ties": 1}
    for col in ("MATH", "Accuracy", "Best-of-K", "ROC-AUC"):
        cell = m["headline"]["values"][col]
        assert cell["ci_low"] <= cell["accuracy"] <= cell["ci_high"], col
    # the paired tests' columns are the accuracy columns and reproduce their values from per-pair outcomes
    out = item_outcomes(items, dict(zip(texts["text_id"], texts["response"].str.len().astype(float))))
    cols = {c.name: c for c in bench.significance_columns(items)}
    assert list(cols) == ["MMLU-Pro", "MATH", "Accuracy"]
    for name, col in cols.items():
        assert col.value(out) == pytest.approx(head[name]), name
    json.dumps(m)  # the metrics file is plain JSON


def test_correctness_every_pair_item_bootstrap_and_sources(tmp_path):
    bench = correctness(sources=["math", "mmlu_pro"], pairs="all")
    assert bench.headline_columns == ("MMLU-Pro", "MATH", "Accuracy", "Best-of-K", "ROC-AUC")
    items, texts, report = bench.load(str(correctness_root(tmp_path)))
    assert report["missing_sources"] == [] and (items["format"] == "pairwise").sum() == 4 + 2 + 1
    m = bench.evaluate(items, scores=length_scores(texts), metrics_cfg={**M, "bootstrap": "item"})
    assert m["headline"]["values"]["MATH"]["accuracy"] == pytest.approx(2 / 6)  # the all-pairs accuracy of MATH
    only_math = correctness(sources=["math"])
    items, _, _ = only_math.load(str(correctness_root(tmp_path)))
    assert set(items["goal"]) == {"MATH"}


def test_correctness_judges_get_the_pairs_accuracy_and_no_best_of_k(tmp_path):
    """A pairwise judge is asked about the (correct, incorrect) pairs only; with the verdicts the length RM's scores
    give, its accuracy columns equal the length RM's, and Best-of-K / ROC-AUC stay empty."""
    from rmeval.metrics import item_outcomes

    bench = correctness()
    items, texts, _ = bench.load(str(correctness_root(tmp_path)))
    judged = bench.judged_items(items)
    assert set(judged["format"]) == {"pairwise"} and len(judged) < len(items)
    scores = length_scores(texts)
    outcomes = item_outcomes(judged, dict(zip(scores["text_id"], scores["score"])))
    as_judge = bench.evaluate(items, outcomes=outcomes, metrics_cfg=M)["headline"]["values"]
    as_scores = bench.evaluate(items, scores=scores, metrics_cfg=M)["headline"]["values"]
    for col in ("MMLU-Pro", "MATH", "Accuracy"):
        assert as_judge[col]["accuracy"] == pytest.approx(as_scores[col]["accuracy"])
        assert as_judge[col]["ci_low"] == pytest.approx(as_scores[col]["ci_low"])
    assert as_judge["Best-of-K"]["accuracy"] is None and as_judge["ROC-AUC"]["accuracy"] is None


def test_correctness_hub_source_and_settings():
    bench = correctness(revisions={"math": "abc123"})
    spec = bench.source().spec
    assert spec["datasets"][0] == "lmarena-ai/PPE-MMLU-Pro-Best-of-K" and len(spec["datasets"]) == 5
    assert spec["revisions"] == {"math": "abc123"}
    assert [source_key(n) for n in ("PPE-MBPP-Plus-Best-of-K", "gpqa.parquet", "IFEval", "train")] == ["mbpp_plus", "gpqa", "ifeval", None]
    with pytest.raises(Exception, match="field 'sources': unknown source 'aime'"):
        correctness(sources=["aime"])
    with pytest.raises(Exception, match="field 'revisions': unknown source 'mmlu'"):
        correctness(revisions={"mmlu": "x"})


@pytest.mark.parametrize("bad,field_", [
    ({"scores": [False, "yes", False, True]}, "field 'scores[1]': expected a correctness label"),
    ({"sampled_conflict_pairs": [[1, 3]]}, "field 'sampled_conflict_pairs[0]': responses 1 and 3 are both correct"),
    ({"sampled_conflict_pairs": [[1, 9]]}, "field 'sampled_conflict_pairs[0]': index out of range 0..3"),
    ({"sampled_conflict_pairs": [[1]]}, "field 'sampled_conflict_pairs[0]': expected a pair"),
    ({"response_3": None}, "field 'response_3': null"),
    ({"scores": [True]}, "field 'scores': a best-of-K set needs at least 2 responses"),
])
def test_correctness_bad_records_fail_with_one_line(tmp_path, bad, field_):
    root = correctness_root(tmp_path, math=[MATH_SETS[1], {**MATH_SETS[0], **bad}])
    with pytest.raises(DataError) as err:
        correctness().load(str(root))
    where = "PPE-MATH-Best-of-K/data/train.jsonl: record 1 (question_id='m1'): "
    assert str(err.value).startswith(where + field_) and "\n" not in str(err.value)


def test_correctness_file_naming_no_source_and_duplicate_sets(tmp_path):
    root = tmp_path / "ppe"
    write_jsonl(root / "numbers.jsonl", MATH_SETS)
    with pytest.raises(DataError, match=r"^numbers.jsonl: record \?: field '<file>': the file or its top folder must name a PPE source"):
        correctness().load(str(root))
    dup = correctness_root(tmp_path / "dup", math=[MATH_SETS[0], MATH_SETS[0]])
    with pytest.raises(DataError, match=r"record 1 \(question_id='m1'\): field 'question_id': duplicate set 'm1:policy-x' of MATH"):
        correctness().load(str(dup))
