"""Checks against the RMB release itself (RMB_ROOT); skipped cleanly where it is absent."""

from __future__ import annotations

import pytest

from rmeval.benchmarks import build_benchmark
from rmeval.benchmarks.rmb import RMBBenchmark
from rmeval.metrics import evaluate
from rmeval.rms.baselines import RandomRM
from rmeval.scoring import score_texts

pytestmark = pytest.mark.rmb

BENCH = {"name": "rmb", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "version": "1", "check_manifest": True,
         "sample": {"per_scenario": None, "seed": 0}}


@pytest.fixture(scope="module")
def rmb(rmb_root):
    return build_benchmark(BENCH).load(rmb_root)


def test_counts_match_the_release(rmb):
    items, texts, report = rmb
    counts = report["counts"]
    n_pairs = sum(v.get("pairwise", 0) for v in counts["items"].values())
    n_bon = sum(v.get("bon", 0) for v in counts["items"].values())
    missing = {m["file"]: m["records"] for m in report["missing_files"]}
    # The full release has 17,131 pairs; whatever this copy lacks must be named with its size, never skipped.
    assert n_pairs + sum(n for f, n in missing.items() if f.startswith("Pairwise_set")) == 17_131
    assert n_bon + sum(n for f, n in missing.items() if f.startswith("BoN_set")) == 3_786
    assert counts["items"]["Helpfulness"]["bon"] == 2_109 and counts["items"]["Harmlessness"]["bon"] == 1_677
    if len(missing) == 3:  # the shared copy: three large pairwise files are absent
        assert n_pairs == 14_543 and n_bon == 3_786
        assert counts["slots"] == 41_586 and counts["unique_texts"] == 18_397 == len(texts)
        assert set(missing) == {
            "Pairwise_set/Harmlessness/S11.json",
            "Pairwise_set/Helpfulness/Brainstorming/Idea Development.json",
            "Pairwise_set/Helpfulness/Generation/Creative Writing.json",
        }
    assert report["identical_pairs"] == 11 or missing
    assert items["item_id"].is_unique and texts["text_id"].is_unique


def test_scenarios_and_judge_scores(rmb):
    items, texts, report = rmb
    harm = items[items["goal"] == "Harmlessness"]
    assert "S1 Violent Crimes" in set(harm["scenario"]) and "multi Multiple Hazards" in set(harm["scenario"])
    helpful = items[(items["goal"] == "Helpfulness") & (items["format"] == "bon")]
    assert helpful["task"].nunique() == 12 and helpful["scenario"].nunique() == 37
    if report["has_judge_scores"]:
        gaps = items["chosen_score"] - items["rejected_scores"].map(max)
        assert gaps.min() >= 0.5 and gaps.max() <= 2.5


def test_random_baseline_sits_at_chance(rmb):
    items, texts, _ = rmb
    scores, _ = score_texts(RandomRM(seed=0), texts, progress=False)
    result = evaluate(items, scores, RMBBenchmark.components, n_boot=500, seed=0)
    for goal in ("Helpfulness", "Harmlessness"):
        for fmt in ("pairwise", "bon"):
            node = result["goals"][goal][fmt]
            assert node["ci_low"] - 0.02 <= node["chance"] <= node["ci_high"] + 0.02, (goal, fmt, node)
    assert abs(result["goals"]["Helpfulness"]["pairwise"]["accuracy"] - 0.5) < 0.03


def test_length_baseline_golden_through_the_benchmark_object(rmb):
    """The RMB numbers of the benchmark interface equal those of the release loader before it (to 1e-12): the
    length baseline (characters) on the shared copy, every headline column and its item count; no record of the
    release is filed under another folder than its category_path says."""
    import pandas as pd

    from rmeval.benchmarks import build_benchmark

    items, texts, report = rmb
    if len(report["missing_files"]) != 3:
        pytest.skip("golden numbers are for the shared copy (three pairwise files absent)")
    assert report["category_mismatches"] == []
    scores = pd.DataFrame({"text_id": texts["text_id"], "score": texts["response"].str.len().astype(float)})
    m = build_benchmark(BENCH).evaluate(items, scores=scores, metrics_cfg={"n_boot": 200})
    golden = {"Help-Pair": (0.6482970671712394, 8456), "Help-BoN": (0.48933143669985774, 2109),
              "Harm-Pair": (0.5431246919664859, 6087), "Harm-BoN": (0.3643410852713178, 1677), "Overall": (0.5112735702772252, None)}
    for col, (acc, n) in golden.items():
        cell = m["headline"]["values"][col]
        assert abs(cell["accuracy"] - acc) < 1e-12, col
        assert n is None or cell["n_items"] == n
    assert m["overall"]["micro"]["accuracy"] == m["headline"]["values"]["Overall"]["accuracy"]
