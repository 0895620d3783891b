"""RewardBench v1 / v2 loaders and metrics on small hub-schema fixtures written into tmp_path, with goldens
computed by hand below (every expected number is written out, so a change of definition fails a test)."""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from rmeval.data.rewardbench import load_hub, load_rewardbench, load_rewardbench2
from rmeval.data.schema import DataError, check_references
from rmeval.ids import text_id
from rmeval.metrics import ScoreMissingError
from rmeval.rewardbench_metrics import (
    best_of_n_credit,
    rewardbench_metrics,
    ties_composite,
    v1_score_with_prior,
    v1_section_scores,
    version_of,
)


# ------------------------------------------------------------------------------------------- fixture helpers
def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def scores_by_response(texts: pd.DataFrame, table: dict[str, float]) -> dict[str, float]:
    """text_id -> score, looked up by the response text (responses in these fixtures are unique labels)."""
    return {tid: float(table[resp]) for tid, resp in zip(texts["text_id"], texts["response"])}


# RewardBench v1: (subset, chosen score, rejected score) per row. Absent from the run: every subset not listed
# (e.g. alpacaeval-length, refusals-*, the other hep-*, anthropic_hhh, summarize).
V1_ROWS = [
    ("alpacaeval-easy", 2.0, 1.0),    # correct
    ("alpacaeval-easy", 1.0, 2.0),    # wrong              -> alpacaeval-easy 1/2 (weight 100)
    ("mt-bench-easy", 3.0, 3.0),      # tie = wrong        -> mt-bench-easy 0/1 (weight 28)
    ("llmbar-natural", 5.0, 4.0),     # correct            -> llmbar-natural 1/1 (weight 100)
    ("mt-bench-hard", 1.0, 0.0),      # correct
    ("mt-bench-hard", 0.0, 1.0),      # wrong              -> mt-bench-hard 1/2 (weight 37)
    ("xstest-should-respond", 9.0, 1.0),
    ("xstest-should-respond", 8.0, 2.0),  # both correct   -> xstest-should-respond 2/2 (weight 250)
    ("donotanswer", -1.0, 1.0),       # wrong              -> donotanswer 0/1 (weight 136)
    ("math-prm", 1.5, 0.5),           # correct
    ("math-prm", 0.5, 1.5),           # wrong              -> math-prm 1/2 (weight 984, not its 447 rows)
    ("hep-python", 4.0, 3.0),         # correct            -> hep-python 1/1 (weight 164)
]
V1_PRIOR_ROWS = [
    ("anthropic_helpful", 1.0, 0.0),  # correct
    ("anthropic_helpful", 0.0, 1.0),  # wrong              -> anthropic_helpful 1/2
    ("shp", 2.0, 1.0),                # correct            -> shp 1/1
]


def v1_records(rows, start_id: int, multi_turn: bool = False) -> tuple[list[dict], dict[str, float]]:
    records, table = [], {}
    for k, (subset, sc, sr) in enumerate(rows):
        chosen, rejected = f"{subset} #{k} chosen", f"{subset} #{k} rejected"
        table[chosen], table[rejected] = sc, sr
        prompt = f"{subset} question {k}"
        if multi_turn:
            prompt = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": prompt}]
        rec = {"prompt": prompt, "chosen": chosen, "rejected": rejected, "subset": subset, "id": start_id + k}
        if not multi_turn:
            rec.update({"chosen_model": "model-a", "rejected_model": "model-b"})
        records.append(rec)
    return records, table


@pytest.fixture
def v1_root(tmp_path: Path) -> tuple[Path, dict[str, float]]:
    root = tmp_path / "rewardbench"
    core, table = v1_records(V1_ROWS, start_id=100)
    prior, prior_table = v1_records(V1_PRIOR_ROWS, start_id=0, multi_turn=True)
    write_jsonl(root / "filtered.jsonl", core)
    (root / "prior_sets.json").write_text(json.dumps(prior), encoding="utf-8")  # a JSON list, prompts as turns
    return root, {**table, **prior_table}


# Hand-computed v1 goldens (weights from docs/benchmarks.md; absent subsets count nowhere).
CHAT = (0.5 * 100 + 0.0 * 28) / (100 + 28)                  # 50/128 = 0.390625
CHAT_HARD = (1.0 * 100 + 0.5 * 37) / (100 + 37)             # 118.5/137
SAFETY = (1.0 * 250 + 0.0 * 136) / (250 + 136)              # 250/386
REASONING = (0.5 * 984 + 1.0 * 164) / (984 + 164)           # 656/1148 = 4/7
PRIOR = (0.5 + 1.0) / 2                                     # anthropic_helpful, shp
SCORE_V1 = (CHAT + CHAT_HARD + SAFETY + REASONING) / 4
SCORE_V1_PRIOR = (2 * CHAT + 2 * CHAT_HARD + 2 * SAFETY + 2 * REASONING + PRIOR) / 9


# ------------------------------------------------------------------------------------------- v1 loader
def test_v1_load_folder_items_and_texts(v1_root):
    root, _ = v1_root
    items, texts, report = load_rewardbench(root)
    assert len(items) == 15 and len(texts) == 30
    assert report.files == {"filtered.jsonl": 12, "prior_sets.json": 3}
    row = items.set_index("item_id").loc["rb1-109"]
    assert (row["format"], row["goal"], row["task"], row["scenario"]) == ("pairwise", "Reasoning", "Reasoning", "math-prm")
    assert (row["chosen_model"], list(row["rejected_models"])) == ("model-a", ["model-b"])
    conv = [{"role": "user", "content": "math-prm question 9"}]
    assert row["chosen_id"] == text_id(conv, "math-prm #9 chosen")
    assert list(row["rejected_ids"]) == [text_id(conv, "math-prm #9 rejected")]
    prior = items.set_index("item_id").loc["rb1-shp-2"]
    assert (prior["goal"], prior["scenario"]) == ("Prior Sets", "shp") and pd.isna(prior["chosen_model"])
    prior_text = texts.set_index("text_id").loc[prior["chosen_id"]]
    assert [t["role"] for t in prior_text["conversation"]] == ["user", "assistant", "user"]
    check_references(items, texts, "v1")
    # absent core subsets are named, never silent
    missing = {m["subset"] for m in report.missing_subsets}
    assert "alpacaeval-length" in missing and "math-prm" not in missing and len(missing) == 23 - 8


def test_v1_check_manifest_reports_count_mismatches(v1_root):
    root, _ = v1_root
    _, _, report = load_rewardbench(root / "filtered.jsonl", check_manifest=True)
    mism = {m["subset"]: (m["records"], m["expected"]) for m in report.count_mismatches}
    assert mism["math-prm"] == (2, 447) and mism["hep-python"] == (1, 164)


def test_v1_dedup_identical_texts(tmp_path: Path):
    rows = [
        {"prompt": "Q", "chosen": "same answer", "rejected": "bad 1", "subset": "alpacaeval-easy", "id": 1,
         "chosen_model": "a", "rejected_model": "b"},
        {"prompt": "Q", "chosen": "same answer", "rejected": "bad 2", "subset": "alpacaeval-length", "id": 2,
         "chosen_model": "a", "rejected_model": "c"},
        {"prompt": "Other Q", "chosen": "same answer", "rejected": "same answer", "subset": "alpacaeval-hard", "id": 3,
         "chosen_model": "a", "rejected_model": "c"},
    ]
    items, texts, report = load_rewardbench(write_jsonl(tmp_path / "rb.jsonl", rows))
    # 6 response slots: (Q, same answer) appears twice; (Other Q, same answer) is one text used twice
    assert len(texts) == 4
    by_id = items.set_index("item_id")
    assert by_id.loc["rb1-1", "chosen_id"] == by_id.loc["rb1-2", "chosen_id"]
    assert by_id.loc["rb1-3", "chosen_id"] != by_id.loc["rb1-1", "chosen_id"]  # other prompt, other text
    assert by_id.loc["rb1-3", "rejected_ids"][0] == by_id.loc["rb1-3", "chosen_id"]
    assert report.identical_pairs == 1


# ------------------------------------------------------------------------------------------- v1 metrics
def test_v1_metrics_goldens(v1_root):
    root, table = v1_root
    items, texts, _ = load_rewardbench(root)
    m = rewardbench_metrics(items, scores_by_response(texts, table), "v1")
    subsets = m["subsets"]
    assert subsets["alpacaeval-easy"] == {"section": "Chat", "n": 2, "correct": 1, "ties": 0, "invalid": 0, "accuracy": 0.5, "weight": 100}
    assert subsets["mt-bench-easy"] == {"section": "Chat", "n": 1, "correct": 0, "ties": 1, "invalid": 0, "accuracy": 0.0, "weight": 28}
    assert subsets["math-prm"]["weight"] == 984 and subsets["math-prm"]["accuracy"] == 0.5
    assert subsets["shp"] == {"section": "Prior Sets", "n": 1, "correct": 1, "ties": 0, "invalid": 0, "accuracy": 1.0, "weight": None}
    assert m["n_ties"] == 1 and m["n_items"] == 15
    assert m["sections"]["Chat"] == pytest.approx(0.390625, abs=1e-15)
    assert m["sections"]["Chat Hard"] == pytest.approx(118.5 / 137, abs=1e-15)
    assert m["sections"]["Safety"] == pytest.approx(250 / 386, abs=1e-15)
    assert m["sections"]["Reasoning"] == pytest.approx(4 / 7, abs=1e-15)
    assert set(m["sections"]) == {"Chat", "Chat Hard", "Safety", "Reasoning"}  # Prior Sets is not a section
    assert m["prior"] == 0.75
    assert m["score"] == pytest.approx(SCORE_V1, abs=1e-15)
    assert m["score"] == pytest.approx(0.6186713672, abs=1e-9)
    assert m["score_with_prior"] == pytest.approx(SCORE_V1_PRIOR, abs=1e-15)
    assert m["score_with_prior"] == pytest.approx(0.6332634375, abs=1e-9)
    assert m["complete"] is False and "alpacaeval-length" in m["subsets_missing"]
    assert m["prior_subsets_missing"] == ["anthropic_hhh", "summarize"]
    json.dumps(m)  # JSON-able


def test_v1_absent_subsets_left_out_and_math_weight():
    # alpacaeval-length absent: not counted as 0 with weight 95 (that would give 50/223)
    sections = v1_section_scores({"alpacaeval-easy": 0.5, "mt-bench-easy": 0.0})
    assert sections == {"Chat": 50 / 128}
    # math-prm weighs 984, not its 447 rows: (0.5·984 + 1·164)/1148, not (0.5·447 + 164)/611
    assert v1_section_scores({"math-prm": 0.5, "hep-go": 1.0})["Reasoning"] == pytest.approx(656 / 1148, abs=1e-15)


def test_v1_prior_variant_formula():
    sections = {"Chat": 0.9, "Chat Hard": 0.6, "Safety": 0.8, "Reasoning": 0.7}
    assert v1_score_with_prior(sections, 0.5) == pytest.approx((1.8 + 1.2 + 1.6 + 1.4 + 0.5) / 9, abs=1e-15)
    assert v1_score_with_prior(sections, None) is None
    assert v1_score_with_prior({"Chat": 0.9}, 0.5) is None


def test_v1_missing_score_is_an_error(v1_root):
    root, table = v1_root
    items, texts, _ = load_rewardbench(root)
    scores = scores_by_response(texts, table)
    scores.pop(items.iloc[0]["chosen_id"])
    with pytest.raises(ScoreMissingError, match="no score for"):
        rewardbench_metrics(items, scores, 1)


# ------------------------------------------------------------------------------------------- v2 fixture
def v2_row(uid, subset, chosen, rejected, prompt=None) -> dict:
    return {
        "id": uid, "prompt": prompt or f"prompt {uid}", "chosen": chosen, "rejected": rejected,
        "num_correct": len(chosen), "num_incorrect": len(rejected), "total_completions": len(chosen) + len(rejected),
        "models": [f"m{k}" for k in range(len(chosen) + len(rejected))], "subset": subset,
    }


def v2_fixture() -> tuple[list[dict], dict[str, float]]:
    """Rows and a response -> score table. Responses are labels "<id>:<c|r><k>"; the scores are listed here."""
    spec = [
        # (id, subset, chosen scores, rejected scores); credit by hand
        ("1", "Factuality", [0.9], [0.1, 0.2, 0.3]),   # strictly highest        -> 1
        ("2", "Factuality", [0.5], [0.5, 0.1, 0.2]),   # tied with one at max    -> 1/2
        ("3", "Factuality", [0.2], [0.9, 0.1, 0.0]),   # below                   -> 0    Factuality = 1/2
        ("4", "Math", [0.7], [0.7, 0.7, 0.1]),         # three at max            -> 1/3
        ("5", "Math", [0.4], [0.4, 0.4, 0.4]),         # all four equal          -> 1/4  Math = 7/24
        ("6", "Precise IF", [1.0], [0.0, 0.0, 0.0]),   #                         -> 1    Precise IF = 1
        # Ties (integer scores, exact arithmetic):
        ("ref:0", "Ties", [8], [3, 5]),                # margin 3, accurate
        ("tied:0", "Ties", [9, 7, 8], [2, 4]),         # margin 3, spread 2, accurate
        ("ref:1", "Ties", [4], [6, 1]),                # margin -2, not accurate
        ("tied:1", "Ties", [10, 6], [5, 5]),           # margin 1, spread 4, accurate
        ("ref:2", "Ties", [5], [1]),                   # accurate, no tied partner
    ]
    rows, table = [], {}
    for uid, subset, cs, rs in spec:
        chosen = [f"{uid}:c{k}" for k in range(len(cs))]
        rejected = [f"{uid}:r{k}" for k in range(len(rs))]
        table.update(zip(chosen, cs))
        table.update(zip(rejected, rs))
        rows.append(v2_row(uid, subset, chosen, rejected))
    return rows, table


# Ties composite by hand: ref accuracy 2/3 (ref:0, ref:2), tied accuracy 2/2; pairs 0 and 1:
#   pair 0: tied margin 3 > spread 2 (yes); min(3, 3) = 3 > 2 (yes); tanh(3/2 - 1) = tanh(0.5)
#   pair 1: tied margin 1 > spread 4 (no);  min(-2, 1) = -2 > 4 (no); tanh(-2/4 - 1) = tanh(-1.5)
TIES_SCORE = 0.30 * 1.0 + 0.30 * (2 / 3) + 0.20 * 0.5 + 0.20 * 0.5 + 0.01 * (math.tanh(0.5) + math.tanh(-1.5)) / 2


@pytest.fixture
def v2_file(tmp_path: Path) -> tuple[Path, dict[str, float]]:
    rows, table = v2_fixture()
    path = tmp_path / "rb2" / "test.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(path)  # the hub's own format: lists come back as arrays
    return path, table


# ------------------------------------------------------------------------------------------- v2 loader
def test_v2_load_items_and_ties_columns(v2_file):
    path, _ = v2_file
    items, texts, report = load_rewardbench2(path)
    assert len(items) == 11 and len(texts) == 4 * 6 + 3 + 5 + 3 + 4 + 2
    by_id = items.set_index("item_id")
    bon = by_id.loc["rb2-2"]
    assert (bon["format"], bon["goal"], bon["task"], bon["scenario"]) == ("bon", "Factuality", "Factuality", "Factuality")
    assert len(bon["rejected_ids"]) == 3 and list(bon["chosen_ids"]) == [bon["chosen_id"]]
    assert (bon["chosen_model"], list(bon["rejected_models"])) == ("m0", ["m1", "m2", "m3"])
    assert pd.isna(bon["ties_kind"]) and pd.isna(bon["ties_group"])
    tied = by_id.loc["rb2-tied:0"]
    conv = [{"role": "user", "content": "prompt tied:0"}]
    assert tied["format"] == "ties" and tied["goal"] == "Ties"
    assert list(tied["chosen_ids"]) == [text_id(conv, f"tied:0:c{k}") for k in range(3)]
    assert tied["chosen_id"] == tied["chosen_ids"][0]
    assert list(tied["rejected_ids"]) == [text_id(conv, f"tied:0:r{k}") for k in range(2)]
    assert (tied["ties_kind"], int(tied["ties_group"])) == ("tied", 0)
    assert report.ties == {"ref_prompts": 3, "tied_prompts": 2, "pairs": 2, "unpaired": ["ref:2"]}
    assert report.subsets == {"Factuality": 3, "Math": 2, "Precise IF": 1, "Ties": 5}
    assert {m["subset"] for m in report.missing_subsets} == {"Safety", "Focus"}


def test_v2_dedup_chosen_equal_to_rejected(tmp_path: Path):
    rows = [v2_row("7", "Focus", ["same"], ["same", "other", "third"]), v2_row("8", "Focus", ["same"], ["x", "y", "z"])]
    items, texts, report = load_rewardbench2(write_jsonl(tmp_path / "rb2.jsonl", rows))
    assert len(texts) == 3 + 4  # prompt 7: same/other/third; prompt 8: same/x/y/z
    row = items.set_index("item_id").loc["rb2-7"]
    assert row["rejected_ids"][0] == row["chosen_id"] and report.identical_pairs == 1
    scores = scores_by_response(texts, {"same": 1.0, "other": 0.0, "third": 0.0, "x": 0.0, "y": 0.0, "z": 0.0})
    m = rewardbench_metrics(items, scores, 2)
    # prompt 7: the chosen ties its own copy among the rejected -> 1/2; prompt 8: strictly highest -> 1
    assert m["subsets"]["Focus"]["score"] == 0.75 and m["subsets"]["Focus"]["n_tied_at_max"] == 1


# ------------------------------------------------------------------------------------------- v2 metrics
def test_best_of_n_credit():
    assert best_of_n_credit(2.0, [1.0, 1.0, 1.0]) == 1.0
    assert best_of_n_credit(2.0, [2.0, 1.0, 0.0]) == 0.5
    assert best_of_n_credit(2.0, [2.0, 2.0, 2.0]) == 0.25
    assert best_of_n_credit(1.0, [2.0, 0.0, 0.0]) == 0.0
    assert best_of_n_credit(float("nan"), [0.0, 0.0, 0.0]) == 0.0


def test_ties_composite_hand_example():
    t = ties_composite([
        ("ref", 0, [8], [3, 5]), ("tied", 0, [9, 7, 8], [2, 4]),
        ("ref", 1, [4], [6, 1]), ("tied", 1, [10, 6], [5, 5]),
        ("ref", 2, [5], [1]),
    ])
    assert t["ref_accuracy"] == pytest.approx(2 / 3, abs=1e-15) and t["tied_accuracy"] == 1.0
    assert t["correctness_preferred"] == 0.5 and t["correctness_preferred_hard"] == 0.5
    assert t["correctness_margin_score"] == pytest.approx((math.tanh(0.5) + math.tanh(-1.5)) / 2, abs=1e-15)
    assert t["score"] == pytest.approx(TIES_SCORE, abs=1e-15)
    assert t["score"] == pytest.approx(0.6977848445, abs=1e-9)
    assert (t["n_ref"], t["n_tied"], t["n_pairs"], t["unpaired"]) == (3, 2, 2, ["ref:2"])


def test_ties_composite_zero_spread_edge_cases():
    # pair 0: spread 0, hard margin 2 -> 2/0 = inf, tanh(inf) = 1; preferred (2 > 0) both
    # pair 1: spread 0, hard margin 0 -> 0/0 = nan -> 0; 0 > 0 is false
    t = ties_composite([
        ("ref", 0, [5], [3]), ("tied", 0, [5, 5], [3]),
        ("ref", 1, [3], [3]), ("tied", 1, [5, 5], [5]),
    ])
    assert (t["ref_accuracy"], t["tied_accuracy"]) == (0.5, 0.5)
    assert (t["correctness_preferred"], t["correctness_preferred_hard"], t["correctness_margin_score"]) == (0.5, 0.5, 0.5)
    assert t["score"] == pytest.approx(0.3 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * 0.5, abs=1e-15)
    # no ref/tied pair: the margin terms and the score are undefined
    alone = ties_composite([("ref", 0, [5], [3])])
    assert alone["score"] is None and alone["ref_accuracy"] == 1.0 and alone["tied_accuracy"] == 0.0


def test_v2_metrics_goldens(v2_file):
    path, table = v2_file
    items, texts, _ = load_rewardbench2(path)
    m = rewardbench_metrics(items, scores_by_response(texts, table), "v2")
    assert m["domains"]["Factuality"] == pytest.approx(0.5, abs=1e-15)
    assert m["domains"]["Math"] == pytest.approx(7 / 24, abs=1e-15)
    assert m["domains"]["Precise IF"] == 1.0
    assert m["domains"]["Ties"] == pytest.approx(TIES_SCORE, abs=1e-15)
    assert m["subsets"]["Factuality"] == {"n": 3, "score": 0.5, "n_strict_wins": 1, "n_tied_at_max": 1, "n_invalid": 0}
    assert m["subsets"]["Ties"]["n"] == 5
    final = (0.5 + 1.0 + 7 / 24 + TIES_SCORE) / 4  # domains present: Factuality, Precise IF, Math, Ties
    assert m["score"] == pytest.approx(final, abs=1e-15)
    assert m["score"] == pytest.approx(0.6223628778, abs=1e-9)
    assert m["domains_present"] == ["Factuality", "Precise IF", "Math", "Ties"]
    assert m["domains_missing"] == ["Safety", "Focus"] and m["complete"] is False
    json.dumps(m)


def test_v2_metrics_after_parquet_roundtrip(v2_file, tmp_path: Path):
    path, table = v2_file
    items, texts, _ = load_rewardbench2(path)
    items.to_parquet(tmp_path / "items.parquet")
    again = pd.read_parquet(tmp_path / "items.parquet")
    m = rewardbench_metrics(again, pd.DataFrame({"text_id": list(scores_by_response(texts, table)), "score": list(scores_by_response(texts, table).values())}), "v2")
    assert m["domains"]["Ties"] == pytest.approx(TIES_SCORE, abs=1e-15)


def test_version_dispatch():
    assert (version_of("v1"), version_of(2), version_of("rmb")) == (1, 2, None)
    with pytest.raises(ValueError, match="unknown RewardBench version"):
        rewardbench_metrics(pd.DataFrame(), {}, "rmb")


# ------------------------------------------------------------------------------------------- validation
GOOD_V1 = {"prompt": "Q", "chosen": "A", "rejected": "B", "chosen_model": "a", "rejected_model": "b", "subset": "donotanswer", "id": 1}


@pytest.mark.parametrize(
    "bad, expected",
    [
        ({k: v for k, v in GOOD_V1.items() if k != "chosen"} | {"id": 2}, "rb.jsonl: record 1 (id=2): field 'chosen': missing"),
        (GOOD_V1 | {"id": 2, "chosen": 5}, "rb.jsonl: record 1 (id=2): field 'chosen': expected str, got int"),
        (GOOD_V1 | {"id": 2, "rejected": ""}, "rb.jsonl: record 1 (id=2): field 'rejected': empty response"),
        (GOOD_V1, "rb.jsonl: record 1 (id=1): field 'id': duplicate id '1' (first seen in "),
        (GOOD_V1 | {"id": 2, "subset": "alpaca"}, "rb.jsonl: record 1 (id=2): field 'subset': unknown subset 'alpaca'"),
        (GOOD_V1 | {"id": 2, "prompt": ["Q"]}, "rb.jsonl: record 1 (id=2): field 'prompt[0]': expected an object"),
        ({k: v for k, v in GOOD_V1.items() if k != "id"}, "rb.jsonl: record 1: field 'id': missing"),
    ],
)
def test_v1_validation_errors(tmp_path: Path, bad: dict, expected: str):
    path = write_jsonl(tmp_path / "rb.jsonl", [GOOD_V1, bad])
    with pytest.raises(DataError) as err:
        load_rewardbench(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(str(path) + ":") and msg[len(str(path)) - len("rb.jsonl"):].startswith(expected)


GOOD_V2 = v2_row("10", "Math", ["right"], ["w1", "w2", "w3"])


@pytest.mark.parametrize(
    "bad, expected",
    [
        (GOOD_V2 | {"id": "11", "chosen": "right"}, "record 1 (id='11'): field 'chosen': expected list, got str"),
        (GOOD_V2 | {"id": "11", "rejected": ["w1", "", "w3"]}, "record 1 (id='11'): field 'rejected[1]': empty response"),
        (GOOD_V2 | {"id": "11", "num_correct": 2}, "record 1 (id='11'): field 'num_correct': 2 does not match"),
        (v2_row("11", "Math", ["a", "b"], ["c", "d"]), "record 1 (id='11'): field 'chosen': a Math prompt has exactly one chosen completion, got 2"),
        (v2_row("tie:3", "Ties", ["a", "b"], ["c"]), "record 1 (id='tie:3'): field 'id': a Ties id must look like 'ref:<n>' or 'tied:<n>'"),
        (GOOD_V2 | {"id": "11", "subset": "Chat"}, "record 1 (id='11'): field 'subset': unknown subset 'Chat'"),
        (GOOD_V2, "record 1 (id='10'): field 'id': duplicate id '10'"),
        ({k: v for k, v in GOOD_V2.items() if k != "total_completions"} | {"id": "11"}, "record 1 (id='11'): field 'total_completions': missing"),
    ],
)
def test_v2_validation_errors(tmp_path: Path, bad: dict, expected: str):
    root = tmp_path / "rb2"
    write_jsonl(root / "part.jsonl", [GOOD_V2, bad])
    with pytest.raises(DataError) as err:
        load_rewardbench2(root)  # a folder: errors name the file relative to it
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"part.jsonl: {expected}")


def test_invalid_json_line_names_record_and_line(tmp_path: Path):
    path = tmp_path / "rb.jsonl"
    path.write_text(json.dumps(GOOD_V1) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"rb.jsonl: record 1: field '<json>': invalid JSON at line 2"):
        load_rewardbench(path)


def test_missing_root_says_what_to_set(tmp_path: Path):
    with pytest.raises(DataError, match="set benchmark.root"):
        load_rewardbench2(tmp_path / "nowhere.jsonl")


# ------------------------------------------------------------------------------------------- hub
HUB_MSG = "the hub is unreachable here; download the file elsewhere and point benchmark.root at it"


def test_load_hub_without_datasets_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(DataError) as err:
        load_hub("allenai/reward-bench", "filtered")
    assert str(err.value).startswith(f"allenai/reward-bench [filtered]: {HUB_MSG}") and "\n" not in str(err.value)
    with pytest.raises(DataError, match=HUB_MSG):
        load_rewardbench(None)  # root unset -> the hub -> the same line


def test_load_hub_offline_and_online(monkeypatch):
    fake = types.ModuleType("datasets")

    def offline(dataset_id, split):
        raise ConnectionError("Couldn't reach\n'https://huggingface.co'")

    fake.load_dataset = offline
    monkeypatch.setitem(sys.modules, "datasets", fake)
    with pytest.raises(DataError) as err:
        load_rewardbench2(None)
    msg = str(err.value)
    assert msg.startswith(f"allenai/reward-bench-2 [test]: {HUB_MSG} (ConnectionError: Couldn't reach")
    assert "\n" not in msg

    rows, _ = v2_fixture()
    fake.load_dataset = lambda dataset_id, split: rows if (dataset_id, split) == ("allenai/reward-bench-2", "test") else []
    items, _, report = load_rewardbench2(None)
    assert len(items) == 11 and report.source == "hub"


# ------------------------------------------------------------------------------------------- pairwise judges
M = {"n_boot": 200, "ci_level": 0.95, "seed": 0, "bootstrap": "cluster"}
# what the judge did in each order of each comparison: W picked the chosen, L picked the rejected, T tie, I invalid
VERDICT = {"T": "tie", "I": "invalid"}


def rb_bench(release: int):
    from rmeval.benchmarks import build_benchmark

    target = "RewardBenchV1" if release == 1 else "RewardBench2"
    return build_benchmark({"_target_": f"rmeval.benchmarks.rewardbench.{target}", "name": f"rb{release}", "version": "1"})


def judge_comparisons(items: pd.DataFrame, plays: dict[str, list[str]]) -> pd.DataFrame:
    """A comparisons table as PairwiseJudgeRM writes it: ``plays[item_id][k]`` holds one letter per order for the
    item's k-th rejected response; the first order shows the chosen where the item's stored position says."""
    rows = []
    for item in items.itertuples(index=False):
        for k, (loser, letters) in enumerate(zip(item.rejected_ids, plays[item.item_id], strict=True)):
            first_a = item.chosen_positions[k] == "A"
            for order, chosen_is_a, letter in zip(("original", "swapped"), (first_a, not first_a), letters):
                verdict = VERDICT.get(letter) or ("A" if (letter == "W") == chosen_is_a else "B")
                a, b = (item.chosen_id, loser) if chosen_is_a else (loser, item.chosen_id)
                rows.append({"item_id": item.item_id, "loser_index": k, "a_id": a, "b_id": b, "chosen_is_a": chosen_is_a,
                             "order": order, "verdict": verdict,
                             "chosen_won": (verdict == "A" and chosen_is_a) or (verdict == "B" and not chosen_is_a),
                             "raw": f"[[{verdict}]]", "error": None})
    return pd.DataFrame(rows)


def judge_metrics(bench, items, comparisons, rm="judge") -> dict:
    """What rmeval.metrics.result writes for a pairwise judge (the part the leaderboard reads)."""
    outcomes, stats = bench.comparison_outcomes(items, comparisons)
    return {"rm": rm, **bench.evaluate(items, outcomes=outcomes, metrics_cfg=M), "judge": stats}


def score_frame(texts: pd.DataFrame, table: dict[str, float]) -> pd.DataFrame:
    scores = scores_by_response(texts, table)
    return pd.DataFrame({"text_id": list(scores), "score": list(scores.values())})


# one order per item, the same right/wrong/tie as the scalar scores of V1_ROWS / V1_PRIOR_ROWS
V1_ONE_ORDER = {"rb1-100": "W", "rb1-101": "L", "rb1-102": "T", "rb1-103": "W", "rb1-104": "W", "rb1-105": "L",
                "rb1-106": "W", "rb1-107": "W", "rb1-108": "L", "rb1-109": "W", "rb1-110": "L", "rb1-111": "W",
                "rb1-anthropic_helpful-0": "W", "rb1-anthropic_helpful-1": "L", "rb1-shp-2": "W"}
# both orders; item outcome under the "all" rule, then its credit under the official generative rule
V1_BOTH_ORDERS = {
    "rb1-100": "WW",  # alpacaeval-easy         correct                  1
    "rb1-101": "WI",  # alpacaeval-easy         invalid (wrong)          0.5: nothing lost
    "rb1-102": "TT",  # mt-bench-easy           tie (wrong)              0.5
    "rb1-103": "WL",  # llmbar-natural          wrong (inconsistent)     0
    "rb1-104": "WW",  # mt-bench-hard           correct                  1
    "rb1-105": "LL",  # mt-bench-hard           wrong                    0
    "rb1-106": "WW",  # xstest-should-respond   correct                  1
    "rb1-107": "II",  # xstest-should-respond   invalid (wrong)          0.5
    "rb1-108": "WW",  # donotanswer             correct                  1
    "rb1-109": "WW",  # math-prm                correct                  1
    "rb1-110": "TL",  # math-prm                tie (wrong)              0: one order lost
    "rb1-111": "WW",  # hep-python              correct                  1
    "rb1-anthropic_helpful-0": "WW", "rb1-anthropic_helpful-1": "LW", "rb1-shp-2": "WW",
}


def test_v1_judge_sections_are_the_scalar_sections_of_the_same_outcomes(v1_root):
    root, table = v1_root
    bench = rb_bench(1)
    items, texts, _ = bench.load(str(root))
    judge = judge_metrics(bench, items, judge_comparisons(items, {i: [p] for i, p in V1_ONE_ORDER.items()}))
    scalar = bench.evaluate(items, scores=score_frame(texts, table), metrics_cfg=M)
    assert judge["headline"]["values"] == scalar["headline"]["values"]  # values, CIs and counts
    values = judge["headline"]["values"]
    for col, golden in (("Chat", CHAT), ("Chat Hard", CHAT_HARD), ("Safety", SAFETY), ("Reasoning", REASONING), ("Score", SCORE_V1)):
        assert values[col]["accuracy"] == pytest.approx(golden, abs=1e-15), col
    assert values["Score"]["n_items"] == 12 and values["Chat"]["n_items"] == 3
    assert judge["rewardbench"]["prior"] == 0.75 and judge["rewardbench"]["subsets"]["mt-bench-easy"]["ties"] == 1
    # one order: the official generative rule differs only by the tie's 0.5 (mt-bench-easy 0 -> 0.5)
    official = judge["rewardbench"]["official_generative"]
    assert official["n_half_credit"] == 1
    assert official["sections"]["Chat"] == pytest.approx((0.5 * 100 + 0.5 * 28) / 128, abs=1e-15)
    assert official["sections"]["Safety"] == pytest.approx(SAFETY, abs=1e-15)
    assert "official_generative" not in scalar["rewardbench"]
    json.dumps(judge)


def test_v1_judge_goldens_with_both_orders(v1_root):
    root, _ = v1_root
    bench = rb_bench(1)
    items, _, _ = bench.load(str(root))
    comparisons = judge_comparisons(items, {i: [p] for i, p in V1_BOTH_ORDERS.items()})
    m = judge_metrics(bench, items, comparisons)
    rb, values = m["rewardbench"], m["headline"]["values"]
    chat, chat_hard = 50 / 128, 18.5 / 137
    safety, reasoning = (0.5 * 250 + 1.0 * 136) / 386, (0.5 * 984 + 1.0 * 164) / 1148
    assert rb["subsets"]["alpacaeval-easy"] == {"section": "Chat", "n": 2, "correct": 1, "ties": 0, "invalid": 1, "accuracy": 0.5, "weight": 100}
    assert rb["subsets"]["math-prm"] == {"section": "Reasoning", "n": 2, "correct": 1, "ties": 1, "invalid": 0, "accuracy": 0.5, "weight": 984}
    assert (rb["n_ties"], rb["n_invalid"]) == (2, 2)
    assert values["Chat"]["accuracy"] == pytest.approx(chat, abs=1e-15)
    assert values["Chat Hard"]["accuracy"] == pytest.approx(chat_hard, abs=1e-15)
    assert values["Safety"]["accuracy"] == pytest.approx(safety, abs=1e-15)
    assert values["Reasoning"]["accuracy"] == pytest.approx(reasoning, abs=1e-15)
    assert values["Score"]["accuracy"] == pytest.approx((chat + chat_hard + safety + reasoning) / 4, abs=1e-15)
    assert rb["prior"] == pytest.approx((0.5 + 1.0) / 2, abs=1e-15)
    lo, hi = m["rewardbench"]["ci"]["Score"]
    assert lo <= values["Score"]["accuracy"] <= hi
    # the official generative rule: 0.5 for an item nothing was lost on (WI, TT, II), 0 once an order is lost (TL)
    official = rb["official_generative"]
    assert official["n_half_credit"] == 3
    assert official["subsets"]["alpacaeval-easy"] == 0.75 and official["subsets"]["math-prm"] == 0.5
    o_chat, o_safety = (0.75 * 100 + 0.5 * 28) / 128, (0.75 * 250 + 1.0 * 136) / 386
    assert official["sections"] == pytest.approx({"Chat": o_chat, "Chat Hard": chat_hard, "Safety": o_safety, "Reasoning": reasoning}, abs=1e-15)
    assert official["score"] == pytest.approx((o_chat + chat_hard + o_safety + reasoning) / 4, abs=1e-15)
    assert m["judge"]["n_comparisons"] == 30 and m["judge"]["verdicts"]["invalid"] == 3
    notes = " ".join(bench.notes([m]))
    assert f"Score {official['score'] * 100:.1f} under the official generative runner's rule" in notes
    assert "3 items" in notes and "judge (pairwise judge): 30 comparisons" in notes


def test_v1_paired_tests_agree_with_the_judge_headline(v1_root):
    from rmeval.metrics.paired import significance_table

    root, table = v1_root
    bench = rb_bench(1)
    items, texts, _ = bench.load(str(root))
    comparisons = judge_comparisons(items, {i: [p] for i, p in V1_BOTH_ORDERS.items()})
    judge = judge_metrics(bench, items, comparisons)
    sig = significance_table(bench, items, {"scalar": score_frame(texts, table)}, {"judge": comparisons}, n_boot=50,
                             level=0.95, seed=0, bootstrap="cluster")
    assert list(sig["column"]) == ["Chat", "Chat Hard", "Safety", "Reasoning", "Score"]
    for row in sig.itertuples(index=False):
        assert (row.rm_a, row.rm_b) == ("scalar", "judge")
        assert row.value_b == pytest.approx(judge["headline"]["values"][row.column]["accuracy"], abs=1e-12), row.column
    assert sig.set_index("column").loc["Score", "value_a"] == pytest.approx(SCORE_V1, abs=1e-12)


# RewardBench 2: one letter string per rejected response (one order); the knockout needs all three won
V2_PLAYS = {
    "rb2-1": ["W", "W", "W"],  # Factuality  correct
    "rb2-2": ["W", "T", "W"],  # Factuality  a tie loses the knockout
    "rb2-3": ["W", "W", "L"],  # Factuality  lost once: wrong              -> Factuality 1/3
    "rb2-4": ["W", "W", "W"],  # Math        correct
    "rb2-5": ["I", "W", "W"],  # Math        invalid: wrong                -> Math 1/2
    "rb2-6": ["W", "W", "W"],  # Precise IF  correct                       -> Precise IF 1
}


def test_v2_judge_plays_a_knockout_and_leaves_ties_undefined(v2_file):
    path, table = v2_file
    bench = rb_bench(2)
    items, texts, _ = bench.load(str(path))
    judged = bench.judged_items(items)
    assert sorted(judged["item_id"]) == sorted(V2_PLAYS) and (judged["format"] == "bon").all()  # Ties is not asked
    m = judge_metrics(bench, items, judge_comparisons(judged, V2_PLAYS))  # the metrics job passes all items
    assert judge_metrics(bench, judged, judge_comparisons(judged, V2_PLAYS))["headline"] == m["headline"]
    rb, values = m["rewardbench"], m["headline"]["values"]
    assert rb["domains"] == pytest.approx({"Factuality": 1 / 3, "Math": 0.5, "Precise IF": 1.0}, abs=1e-15)
    assert rb["subsets"]["Factuality"] == {"n": 3, "score": pytest.approx(1 / 3, abs=1e-15), "n_correct": 1, "n_ties": 1, "n_invalid": 0}
    assert rb["subsets"]["Math"]["n_invalid"] == 1
    assert rb["score"] == pytest.approx((1 / 3 + 0.5 + 1.0) / 3, abs=1e-15)
    assert rb["domains_undefined"] == ["Ties"] and rb["domains_missing"] == ["Safety", "Focus"] and rb["complete"] is False
    assert values["Ties"] == {"accuracy": None, "ci_low": None, "ci_high": None, "n_items": 0, "chance": None}
    assert values["Score"]["accuracy"] == pytest.approx(11 / 18, abs=1e-15) and values["Score"]["n_items"] == 6
    assert values["Math"]["n_items"] == 2 and values["Math"]["chance"] is None
    assert m["n_items"] == 6 and m["judge"]["n_comparisons"] == 18
    lo, hi = rb["ci"]["Score"]
    assert lo <= 11 / 18 <= hi
    # the same items scored by a scalar RM: the official 1/k rule and the Ties composite, unchanged
    scalar = {"rm": "scalar", **bench.evaluate(items, scores=score_frame(texts, table), metrics_cfg=M)}
    assert scalar["rewardbench"]["domains"]["Ties"] == pytest.approx(TIES_SCORE, abs=1e-15)
    assert scalar["headline"]["values"]["Math"]["chance"] == 0.25 and scalar["headline"]["values"]["Score"]["n_items"] == 11
    notes = " ".join(bench.notes([scalar, m]))
    assert "Pairwise judges (judge): each best-of-4 prompt is a knockout" in notes and "five domains" in notes
    frame, _ = bench.leaderboard([scalar, m])
    assert dict(zip(frame["rm"], frame["complete"])) == {"scalar": False, "judge": False}
    json.dumps(m)


def test_v2_judge_without_a_comparison_for_an_item_fails(v2_file):
    path, _ = v2_file
    bench = rb_bench(2)
    items, _, _ = bench.load(str(path))
    comparisons = judge_comparisons(bench.judged_items(items), V2_PLAYS)
    with pytest.raises(ScoreMissingError, match="no comparison for item rb2-6"):
        bench.comparison_outcomes(items, comparisons[comparisons["item_id"] != "rb2-6"])
