"""JudgeBench: the reader (both splits, categories, labels, positions), the official double-game rule for pairwise
judges against hand-made verdicts, scalar RMs against hand-made scores, one-line errors, and the real release
files where JUDGEBENCH_ROOT points at them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from rmeval.benchmarks import build_benchmark
from rmeval.benchmarks.judgebench import SPLIT_FILES
from rmeval.data.schema import DataError

M = {"n_boot": 200, "ci_level": 0.95, "seed": 0, "bootstrap": "cluster"}
SOURCES = {"Knowledge": "mmlu-pro-law", "Reasoning": "livebench-reasoning", "Math": "livebench-math", "Coding": "livecodebench"}


def record(i: int, category: str, label: str, **extra) -> dict:
    """Pair i: the correct response says "right i", the other "wrong i", stored in the order the label says."""
    right, wrong = f"right {i}", f"wrong {i}"
    a, b = (right, wrong) if label == "A>B" else (wrong, right)
    return {"pair_id": f"p{i}", "original_id": str(i), "source": SOURCES[category], "question": f"question {i}?",
            "response_model": "gpt-4o-2024-05-13", "response_A": a, "response_B": b, "label": label, **extra}


def write_split(folder: Path, records: list, split: str = "gpt") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SPLIT_FILES[split]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def judgebench(root, **kw):
    return build_benchmark({"_target_": "rmeval.benchmarks.judgebench.JudgeBenchBenchmark", "name": "judgebench",
                            "version": "1", "root": str(root), **kw})


def comparisons_table(items: pd.DataFrame, verdicts: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """A judge's comparisons from verdict letters per pair: (original order, swapped order), A/B meaning the
    response shown first/second in that order, as PairwiseJudgeRM writes them."""
    rows = []
    for item in items.itertuples(index=False):
        shown_first = item.chosen_positions[0] == "A"
        for order, chosen_is_a, verdict in zip(("original", "swapped"), (shown_first, not shown_first), verdicts[item.pair_id]):
            a, b = (item.chosen_id, item.rejected_ids[0]) if chosen_is_a else (item.rejected_ids[0], item.chosen_id)
            rows.append({"item_id": item.item_id, "loser_index": 0, "a_id": a, "b_id": b, "chosen_is_a": chosen_is_a,
                         "order": order, "verdict": verdict,
                         "chosen_won": (verdict == "A" and chosen_is_a) or (verdict == "B" and not chosen_is_a),
                         "raw": f"[[{verdict}]]", "error": None})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------- reader
def test_reader_maps_labels_categories_and_release_positions(tmp_path):
    recs = [record(0, "Knowledge", "A>B"), record(1, "Reasoning", "B>A"), record(2, "Math", "A>B"), record(3, "Coding", "B>A")]
    write_split(tmp_path / "data", recs)
    bench = judgebench(tmp_path)  # the repository's root: the split's file is found in data/
    items, texts, report = bench.load(bench.source().path)
    assert report["pairs_per_category"] == {"Knowledge": 1, "Reasoning": 1, "Math": 1, "Coding": 1}
    assert report["labels"] == {"A>B": 2, "B>A": 2} and report["split"] == "gpt" and report["identical_pairs"] == 0
    by_pair = items.set_index("pair_id")
    text = dict(zip(texts["text_id"], texts["response"]))
    for i in range(4):
        row = by_pair.loc[f"p{i}"]
        assert text[row["chosen_id"]] == f"right {i}" and [text[t] for t in row["rejected_ids"]] == [f"wrong {i}"]
        # the first order shows response_A as A, as the official runner does
        assert list(row["chosen_positions"]) == ["A" if recs[i]["label"] == "A>B" else "B"]
    assert by_pair.loc["p0", "goal"] == "Knowledge" and by_pair.loc["p0", "scenario"] == "mmlu-pro-law"
    assert set(texts["source_model"]) == {"gpt-4o-2024-05-13"}
    seeded = judgebench(tmp_path, positions="seeded", position_seed=3)
    items3, _, report3 = seeded.load(str(tmp_path))
    assert report3["positions"] == "seeded"
    from rmeval.data.schema import assign_positions

    assert list(items3["chosen_positions"]) == list(assign_positions(items3, 3)["chosen_positions"])


def test_the_claude_split_reads_its_own_file(tmp_path):
    write_split(tmp_path, [record(0, "Math", "A>B")], "gpt")
    write_split(tmp_path, [record(5, "Coding", "B>A"), record(6, "Coding", "A>B")], "claude")
    items, _, report = judgebench(tmp_path, split="claude").load(str(tmp_path))
    assert sorted(items["pair_id"]) == ["p5", "p6"] and report["pairs_per_category"]["Coding"] == 2
    assert report["file"].endswith(SPLIT_FILES["claude"])


def test_a_folder_without_the_splits_file_names_it(tmp_path):
    write_split(tmp_path, [record(0, "Math", "A>B")], "gpt")
    with pytest.raises(DataError, match=r"field '<file>': dataset=judgebench,response_model=claude-3-5-sonnet-20240620.jsonl"):
        judgebench(tmp_path, split="claude").load(str(tmp_path))


# ------------------------------------------------------------------------------------------- scalar RMs
def test_scalar_rm_golden(tmp_path):
    """Hand-made scores: one response scored once each; a pair is right iff r(correct) > r(incorrect), a tie wrong.
    Knowledge: p0 right, p1 wrong, p2 tie -> 1/3; Reasoning: p3 right, p4 right -> 1; Math: p5 wrong -> 0; Coding:
    p6 right -> 1. Overall over all 7 pairs = 4/7 (pair-weighted, not the mean of the categories, 7/12)."""
    recs = [record(0, "Knowledge", "A>B"), record(1, "Knowledge", "B>A"), record(2, "Knowledge", "A>B"),
            record(3, "Reasoning", "B>A"), record(4, "Reasoning", "A>B"), record(5, "Math", "A>B"), record(6, "Coding", "B>A")]
    write_split(tmp_path, recs)
    bench = judgebench(tmp_path)
    items, texts, _ = bench.load(str(tmp_path))
    given = {"right 0": 2.0, "wrong 0": 1.0, "right 1": 0.0, "wrong 1": 5.0, "right 2": 3.0, "wrong 2": 3.0,
             "right 3": 1.0, "wrong 3": -1.0, "right 4": 9.0, "wrong 4": 8.0, "right 5": 0.5, "wrong 5": 0.7,
             "right 6": 4.0, "wrong 6": 3.0}
    scores = pd.DataFrame({"text_id": texts["text_id"], "score": [given[r] for r in texts["response"]], "n_tokens": 1, "truncated": False})
    m = bench.evaluate(items, scores=scores, metrics_cfg=M)
    head = m["headline"]["values"]
    assert list(head) == ["Knowledge", "Reasoning", "Math", "Coding", "Overall"] and m["headline"]["primary"] == "Overall"
    assert head["Knowledge"]["accuracy"] == pytest.approx(1 / 3) and head["Reasoning"]["accuracy"] == 1.0
    assert head["Math"]["accuracy"] == 0.0 and head["Coding"]["accuracy"] == 1.0
    assert head["Overall"]["accuracy"] == pytest.approx(4 / 7) and head["Overall"]["n_items"] == 7
    assert m["columns"]["Knowledge"]["n_ties"] == 1 and m["columns"]["Overall"]["n_correct"] == 4
    lo, hi = head["Overall"]["ci_low"], head["Overall"]["ci_high"]
    assert lo <= 4 / 7 <= hi and lo < hi
    # the paired tests' columns give the same values from the same outcomes
    from rmeval.metrics import item_outcomes

    out = item_outcomes(items, dict(zip(scores["text_id"], scores["score"])))
    cols = {c.name: c for c in bench.significance_columns(items)}
    assert list(cols) == list(bench.headline_columns)
    for name, cell in head.items():
        assert cols[name].value(out) == pytest.approx(cell["accuracy"]), name


# ------------------------------------------------------------------------------------------- pairwise judges
# (label, verdict in the original order, verdict in the swapped order, correct under the official double game)
DOUBLE_GAME = [
    ("A>B", "A", "B", True),        # right in both orders: +2
    ("A>B", "A", "tie", True),      # one right + one tie: +1 counts correct
    ("B>A", "tie", "A", True),      # the same with the correct response stored as B (swapped: it is shown as A)
    ("A>B", "A", "invalid", True),  # one right + one unparseable: +1
    ("A>B", "A", "A", False),       # one right + one wrong (position bias: always A): 0, not correct
    ("B>A", "tie", "tie", False),   # two ties: 0
    ("A>B", "invalid", "invalid", False),
    ("B>A", "A", "tie", False),     # one wrong + one tie: -1
]


def test_pairwise_judge_double_game_golden(tmp_path):
    """Hand-made verdicts per order through the metrics stage's function: +1 per order picking the labelled winner,
    -1 per order picking the other, ties and invalid 0; correct iff the sum is > 0. Categories: Knowledge p0-p3,
    Math p4-p7. RMB's rule (the chosen must win in both orders) is unchanged for other benchmarks."""
    from rmeval.benchmarks.base import Benchmark
    from rmeval.metrics import rm_metrics
    from rmeval.metrics.paired import rm_outcomes

    recs = [record(i, "Knowledge" if i < 4 else "Math", label) for i, (label, *_rest) in enumerate(DOUBLE_GAME)]
    write_split(tmp_path, recs)
    bench = judgebench(tmp_path)
    items, _, report = bench.load(str(tmp_path))
    comp = comparisons_table(items, {f"p{i}": (v1, v2) for i, (_, v1, v2, _) in enumerate(DOUBLE_GAME)})
    outcomes, stats = bench.comparison_outcomes(items, comp)
    correct = dict(zip(items["pair_id"], outcomes["correct"]))
    assert [correct[f"p{i}"] for i in range(len(DOUBLE_GAME))] == [case[3] for case in DOUBLE_GAME]
    by_pair = dict(zip(items["pair_id"], zip(outcomes["tie"], outcomes["invalid"])))
    assert by_pair["p4"] == (True, False) and by_pair["p5"] == (True, False)  # net 0 without an invalid verdict: a tie
    assert by_pair["p6"] == (False, True) and by_pair["p7"] == (False, False)  # two invalid: invalid; net -1: wrong
    assert stats["order_rule"] == "net" and stats["n_pairs_both_orders"] == 6  # p3 and p6 have an invalid verdict

    result = rm_metrics(bench, items, report, "judge", M, comparisons=comp)
    head = {k: v["accuracy"] for k, v in result["headline"]["values"].items()}
    assert head == {"Knowledge": 1.0, "Reasoning": None, "Math": 0.0, "Coding": None, "Overall": 0.5}
    assert result["headline"]["values"]["Reasoning"]["n_items"] == 0
    assert result["judge"]["consistency_rate"] is not None  # position consistency is reported
    note = " ".join(bench.notes([result]))
    assert "both orders net" in note and "consistent across both orders" in note
    paired = rm_outcomes(items, {}, {"judge": comp}, bench.order_rule)["judge"]
    assert paired["correct"].tolist() == outcomes["correct"].tolist()  # the paired tests use the same rule

    from rmeval.metrics import comparison_outcomes

    default, default_stats = comparison_outcomes(items, comp)  # RMB's rule: one right + one tie or invalid is not enough
    default_correct = dict(zip(items["pair_id"], default["correct"]))
    assert [default_correct[f"p{i}"] for i in range(4)] == [True, False, False, False]
    assert "order_rule" not in default_stats and Benchmark.order_rule == "all"


# ------------------------------------------------------------------------------------------- bad records
@pytest.mark.parametrize("change,field,problem", [
    ({"label": None}, "label", "null"),
    ({"label": "A=B"}, "label", "unknown label 'A=B'"),
    ({"source": "gsm8k"}, "source", "unknown source 'gsm8k'"),
    ({"response_B": ""}, "response_B", "empty response"),
    ({"question": "  "}, "question", "empty question"),
])
def test_bad_records_fail_with_one_line(tmp_path, change, field, problem):
    bad = {k: v for k, v in {**record(1, "Math", "A>B"), **change}.items() if v is not None}
    path = write_split(tmp_path, [record(0, "Math", "A>B"), bad])
    with pytest.raises(DataError) as err:
        judgebench(tmp_path).load(str(tmp_path))
    msg = str(err.value)
    assert "\n" not in msg
    missing = "missing" if change.get("label", "") is None else problem
    assert msg.startswith(f"{path}: record 1 (line 2) (pair_id='p1'): field '{field}': {missing}")


def test_duplicate_pair_id_names_both_records(tmp_path):
    path = write_split(tmp_path, [record(0, "Math", "A>B"), record(0, "Coding", "B>A")])
    with pytest.raises(DataError, match=r"record 1 \(line 2\) \(pair_id='p0'\): field 'pair_id': duplicate id 'p0' \(first seen in .* record 0\)"):
        judgebench(tmp_path).load(str(path))


def test_unknown_split_fails_at_compose_time():
    from rmeval.config import ConfigError, compose_benchmark

    with pytest.raises(ConfigError, match=r"field 'split': got 'llama', expected gpt or claude"):
        compose_benchmark("judgebench", ["benchmark.split=llama"])
    with pytest.raises(ConfigError, match="positions"):
        compose_benchmark("judgebench", ["benchmark.positions=random"])


# ------------------------------------------------------------------------------------------- the release files
@pytest.fixture(scope="module")
def release_root() -> Path:
    root = os.environ.get("JUDGEBENCH_ROOT")
    if not root or not all((Path(root) / name).is_file() for name in SPLIT_FILES.values()):
        pytest.skip("JUDGEBENCH_ROOT not set or without both split files: the JudgeBench release is not available here")
    return Path(root)


@pytest.mark.parametrize("split,pairs,categories,labels,identical", [
    ("gpt", 350, {"Knowledge": 154, "Reasoning": 98, "Math": 56, "Coding": 42}, {"A>B": 193, "B>A": 157}, 0),
    ("claude", 270, {"Knowledge": 154, "Reasoning": 51, "Math": 34, "Coding": 31}, {"A>B": 143, "B>A": 127}, 1),
])
def test_release_files(release_root, split, pairs, categories, labels, identical):
    from rmeval.config import compose_benchmark

    name = "judgebench" if split == "gpt" else "judgebench_claude"
    bench = build_benchmark(compose_benchmark(name, [f"benchmark.root={release_root}"]))
    items, texts, report = bench.load(bench.source().path)
    assert len(items) == report["n_pairs"] == pairs and items["item_id"].is_unique
    assert report["pairs_per_category"] == categories and report["labels"] == labels
    assert report["identical_pairs"] == identical  # the claude split has one pair with byte-identical responses
    assert items.groupby("goal").size().to_dict() == categories
    assert (items["format"] == "pairwise").all() and len(texts) == 2 * pairs - identical


def test_hub_path_reads_the_split_through_datasets(tmp_path):
    """With no root, the split is read through datasets.load_dataset(dataset, split=..., revision=...); here the
    dataset id is a local folder in the hub's layout (data/<split>-*.parquet), read by the same call."""
    pytest.importorskip("datasets")
    (tmp_path / "hub" / "data").mkdir(parents=True)
    pd.DataFrame([record(0, "Math", "A>B"), record(1, "Coding", "B>A")]).to_parquet(tmp_path / "hub/data/gpt-00000-of-00001.parquet")
    pd.DataFrame([record(2, "Knowledge", "B>A")]).to_parquet(tmp_path / "hub/data/claude-00000-of-00001.parquet")
    bench = build_benchmark({"_target_": "rmeval.benchmarks.judgebench.JudgeBenchBenchmark", "name": "judgebench_claude",
                             "version": "1", "dataset": str(tmp_path / "hub"), "split": "claude"})
    assert bench.source().kind == "hub"
    items, _, report = bench.load(None)
    assert list(items["pair_id"]) == ["p2"] and report["hub"]["split"] == "claude"
    assert report["pairs_per_category"] == {"Knowledge": 1, "Reasoning": 0, "Math": 0, "Coding": 0}
