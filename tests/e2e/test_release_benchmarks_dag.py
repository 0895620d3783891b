"""JudgeBench (both splits) and RM-Bench through the DAG on their real release files (JUDGEBENCH_ROOT, RMBENCH_ROOT;
skipped where absent): data, score, metrics, paired tests and leaderboards with the model-free RMs on every pair,
then the pairwise judge path on a seeded subsample of JudgeBench (the data report keeps the counts from before
sampling). The release counts are checked along the way: 350 and 270 JudgeBench pairs by category and label;
RM-Bench's 129 / 228 / 284 / 157 prompts per file, 9 pairs each, math reported missing where its file is absent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from test_smoke_dag import snakemake  # same folder

pytestmark = pytest.mark.e2e

SCALAR_RMS = ["random", "length"]  # model-free: the whole release is scored in seconds (tiny-classifier runs in the smoke DAG)
JUDGEBENCH = {
    "judgebench": (350, {"Knowledge": 154, "Reasoning": 98, "Math": 56, "Coding": 42}, {"A>B": 193, "B>A": 157}),
    "judgebench_claude": (270, {"Knowledge": 154, "Reasoning": 51, "Math": 34, "Coding": 31}, {"A>B": 143, "B>A": 127}),
}
RMBENCH = {"chat": 129, "code": 228, "safety-refuse": 284, "safety-response": 157}


@pytest.fixture(scope="module")
def roots() -> dict[str, Path]:
    from rmeval.benchmarks.judgebench import SPLIT_FILES

    judgebench, rmbench = os.environ.get("JUDGEBENCH_ROOT"), os.environ.get("RMBENCH_ROOT")
    if not judgebench or not all((Path(judgebench) / f).is_file() for f in SPLIT_FILES.values()):
        pytest.skip("JUDGEBENCH_ROOT not set or without both split files: the JudgeBench release is not available here")
    if not rmbench or not (Path(rmbench) / "chat_filtered.json").is_file():
        pytest.skip("RMBENCH_ROOT not set or not RM-Bench's data/ folder: the RM-Bench release is not available here")
    return {"judgebench": Path(judgebench), "rmbench": Path(rmbench)}


def summary(workdir: Path, kind: str, name: str) -> Path:
    """A run's summary file (leaderboard, significance) wherever the layout puts it under results/."""
    found = sorted(workdir.glob(f"results/**/{kind}/{name}"))
    assert found, f"no results/**/{kind}/{name} under {workdir}"
    return found[0]


@pytest.fixture(scope="module")
def release_run(roots, project_root, tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("release_dag")
    snakemake(project_root, workdir, overrides=f"[benchmarks.names=[{','.join([*JUDGEBENCH, 'rmbench'])}],"
                                               f"rms.names=[{','.join(SCALAR_RMS)}],run=release]")
    return workdir


@pytest.mark.parametrize("bench", list(JUDGEBENCH))
def test_judgebench_release_through_the_dag(release_run, bench):
    pairs, categories, labels = JUDGEBENCH[bench]
    report = json.loads((release_run / f"results/data/{bench}/report.json").read_text())
    assert report["n_pairs"] == pairs and report["pairs_per_category"] == categories and report["labels"] == labels
    items = pd.read_parquet(release_run / f"results/data/{bench}/items.parquet")
    assert len(items) == pairs and items.groupby("goal").size().to_dict() == categories
    board = pd.read_csv(summary(release_run, "leaderboard", f"{bench}.csv"))
    assert set(board["rm"]) == set(SCALAR_RMS)
    assert {"Knowledge", "Reasoning", "Math", "Coding", "Overall"} <= set(board.columns)
    metrics = json.loads((release_run / f"results/metrics/{bench}/length.json").read_text())
    head = metrics["headline"]["values"]
    assert head["Overall"]["n_items"] == pairs and {c: head[c]["n_items"] for c in categories} == categories
    assert head["Overall"]["ci_low"] <= head["Overall"]["accuracy"] <= head["Overall"]["ci_high"]
    assert "Numbers are percentages" in summary(release_run, "leaderboard", f"{bench}.md").read_text()
    assert summary(release_run, "significance", f"{bench}.csv").exists()


def test_rmbench_release_through_the_dag(release_run, roots):
    report = json.loads((release_run / "results/data/rmbench/report.json").read_text())
    assert report["prompts_per_domain"] == RMBENCH
    items = pd.read_parquet(release_run / "results/data/rmbench/items.parquet")
    assert items.groupby(["source_file", "source_index"]).size().eq(9).all()
    assert items.groupby("scenario").size().to_dict() == {k: 9 * v for k, v in RMBENCH.items()}
    board = pd.read_csv(summary(release_run, "leaderboard", "rmbench.csv"))
    assert set(board["rm"]) == set(SCALAR_RMS)
    md = summary(release_run, "leaderboard", "rmbench.md").read_text()
    if (roots["rmbench"] / "math_filtered.json").exists():
        assert not report["missing_files"] and board["complete"].all()
        return
    # the shared copy lacks math_filtered.json: named in the data report, every metrics file and the leaderboard
    assert [m["file"] for m in report["missing_files"]] == ["math_filtered.json"]
    for rm in SCALAR_RMS:
        metrics = json.loads((release_run / f"results/metrics/rmbench/{rm}.json").read_text())
        assert [m["file"] for m in metrics["data"]["missing_files"]] == ["math_filtered.json"]
        assert metrics["domains_missing"] == ["Math"] and metrics["headline"]["values"]["Math"]["accuracy"] is None
        assert metrics["headline"]["values"]["Average"]["accuracy"] is not None  # over Chat, Code, Safety, stated
    assert "math_filtered.json (Math)" in md and "means over the 3 domains present" in md
    assert not board["complete"].any()


def test_judgebench_pairwise_judge_path(roots, project_root, tmp_path_factory):
    """The local tiny judge on one pair per source (17 pairs): both orders judged, combined by JudgeBench's net rule;
    the data report still counts the full release."""
    workdir = tmp_path_factory.mktemp("judgebench_judge")
    snakemake(project_root, workdir, overrides="[benchmarks.names=[judgebench],rms.names=[tiny-judge],"
                                               "benchmark.sample.per_scenario=1,run=judge]")
    report = json.loads((workdir / "results/data/judgebench/report.json").read_text())
    assert report["n_pairs"] == 350 and report["pairs_per_category"] == JUDGEBENCH["judgebench"][1]
    before = report["counts_before_sampling"]["items"]
    assert sum(n for per_fmt in before.values() for n in per_fmt.values()) == 350
    items = pd.read_parquet(workdir / "results/data/judgebench/items.parquet")
    assert len(items) == items["scenario"].nunique() == 17  # 14 mmlu-pro subjects + 3 LiveBench/LiveCodeBench sources
    comparisons = pd.read_parquet(workdir / "results/scores/judgebench/tiny-judge.comparisons.parquet")
    assert len(comparisons) == 2 * len(items) and set(comparisons["order"]) == {"original", "swapped"}
    first = comparisons[comparisons["order"] == "original"].merge(items[["item_id", "label"]], on="item_id")
    assert (first["chosen_is_a"] == (first["label"] == "A>B")).all()  # the first order shows response_A as A
    metrics = json.loads((workdir / "results/metrics/judgebench/tiny-judge.json").read_text())
    assert metrics["judge"]["order_rule"] == "net" and metrics["judge"]["n_comparisons"] == 2 * len(items)
    assert "both orders net" in summary(workdir, "leaderboard", "judgebench.md").read_text()
