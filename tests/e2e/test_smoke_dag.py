"""The whole DAG on the smoke experiment in a temporary directory, targeting one file, and override reruns."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import run_snakemake

pytestmark = pytest.mark.e2e
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(project_root: Path, workdir: Path, *args: str, overrides: str | None = "[experiment=smoke]") -> str:
    cmd = [*SNAKEMAKE, "-s", str(project_root / "Snakefile"), "--directory", str(workdir), "--cores", "2", *args]
    if overrides is not None:
        cmd += ["--config", f"overrides={overrides}"]
    proc = run_snakemake(cmd, timeout=600, label=f"{workdir.name} {overrides or ''}".strip())  # reports progress
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> count from a dry run's job-stats table."""
    table = output.split("Job stats:")[1] if "Job stats:" in output else ""
    jobs = {}
    for line in table.splitlines():
        m = re.match(r"^([A-Za-z_]\w*)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


@pytest.fixture(scope="module")
def smoke_run(project_root, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke_dag")
    snakemake(project_root, workdir)
    return workdir


def test_smoke_dag_produces_the_leaderboard(smoke_run):
    board = pd.read_csv(smoke_run / "results/runs/smoke/leaderboard/smoke.csv")
    assert set(board["rm"]) == {"random", "length", "tiny-classifier", "tiny-dpo", "tiny-judge"}
    assert board.iloc[0]["rm"] == "length"  # the fixture's better answers are longer
    md = (smoke_run / "results/runs/smoke/leaderboard/smoke.md").read_text()
    assert "| 1 | length |" in md and "Chance level" in md
    metrics = json.loads((smoke_run / "results/metrics/smoke/tiny-classifier.json").read_text())
    assert metrics["overall"]["micro"]["accuracy"] is not None
    assert metrics["provenance"]["scoring"]["fingerprint"]["dtype"] == "float32"
    judge = json.loads((smoke_run / "results/metrics/smoke/tiny-judge.json").read_text())
    comparisons = pd.read_parquet(smoke_run / "results/scores/smoke/tiny-judge.comparisons.parquet")
    assert judge["judge"]["n_comparisons"] == len(comparisons) == 2 * 45  # both orders, one per (item, loser)
    assert sum(judge["judge"]["verdicts"].values()) == len(comparisons)
    assert metrics["provenance"]["git_commit"] is None or len(metrics["provenance"]["git_commit"]) >= 40
    scores = pd.read_parquet(smoke_run / "results/scores/smoke/tiny-classifier.parquet")
    texts = pd.read_parquet(smoke_run / "results/data/smoke/texts.parquet")
    assert len(scores) == len(texts) and scores["text_id"].is_unique
    for log in ("logs/data/smoke.log", "logs/score/smoke/length.log", "logs/metrics/smoke/random.log"):
        assert (smoke_run / log).exists()


def test_smoke_dag_produces_downstream_correlation_and_every_plot(smoke_run):
    down = json.loads((smoke_run / "results/downstream/smoke/length.json").read_text())
    split = down["split"]
    assert split["n_prompts_benchmark"] > 0 and split["n_prompts_downstream"] > 0
    assert any(row["n"] == "pool" and row["goal"] == "all" for row in down["bon"])
    table = pd.read_csv(smoke_run / "results/runs/smoke/correlation/smoke.csv")
    # 5 RMs (the pairwise judge picks by knockout); 0 where a component is empty in the benchmark half
    assert 5 in set(table["n_rms"]) and set(table["n_rms"]) <= {0, 5}
    knockout = json.loads((smoke_run / "results/downstream/smoke/tiny-judge.json").read_text())
    assert knockout["selection"].startswith("knockout") and sum(knockout["knockout_verdicts"].values()) > 0
    assert {"pearson", "spearman", "kendall"} <= set(table.columns)
    for name in ("leaderboard", "scenario_heatmap", "pairwise_vs_bon", "accuracy_by_gap", "bon_curves",
                 "correlation_scatter", "correlation_heatmap", "significance_matrix", "position_bias"):
        for ext in ("png", "pdf"):
            assert (smoke_run / f"results/runs/smoke/plots/smoke/{name}.{ext}").stat().st_size > 1000, name


def test_report_collects_the_plots(project_root, smoke_run):
    snakemake(project_root, smoke_run, "--report", "results/runs/smoke/report.html")
    report = smoke_run / "results/runs/smoke/report.html"
    html = report.read_text(errors="replace")
    # the report embeds the 7 PNGs and the leaderboard (compressed), so it is far larger than an empty one
    assert html.lstrip().lower().startswith("<!doctype html") and report.stat().st_size > 300_000


def test_nothing_to_do_on_a_second_run(project_root, smoke_run):
    assert planned_jobs(snakemake(project_root, smoke_run, "-n")) == {}


AGGREGATES = {"significance": 2, "leaderboard": 2, "leaderboard_all": 1, "correlation": 1, "correlation_all": 1,
              "plots": 1, "plots_metrics_only": 1, "plots_all": 1, "site_benchmark": 2, "site": 1, "run_config": 1, "all": 1}


def test_override_changes_rerun_exactly_the_affected_jobs(project_root, smoke_run):
    fewer = planned_jobs(snakemake(project_root, smoke_run, "-n", overrides='["experiment=smoke","rms.names=[random,length]"]'))
    assert fewer == AGGREGATES
    boot = planned_jobs(snakemake(project_root, smoke_run, "-n", overrides="[experiment=smoke,metrics.n_boot=300]"))
    assert boot == {"metrics": 10, "downstream": 5, **AGGREGATES}
    rm_knob = planned_jobs(snakemake(project_root, smoke_run, "-n", overrides="[experiment=smoke,++rm_overrides.tiny-classifier.max_length=64]"))
    # that RM on both benchmarks; downstream only where there are judge scores (smoke)
    assert rm_knob.get("score") == 2 and rm_knob.get("metrics") == 2 and rm_knob.get("downstream") == 1
    assert "data" not in rm_knob


def test_targeting_one_metrics_file_builds_only_what_it_needs(project_root, tmp_path):
    snakemake(project_root, tmp_path, "results/metrics/smoke/length.json")
    assert (tmp_path / "results/metrics/smoke/length.json").exists()
    assert not (tmp_path / "results/scores/smoke/random.parquet").exists()
    assert not (tmp_path / "resources/models/tiny-classifier").exists()
    assert not (tmp_path / "results/runs/smoke/leaderboard").exists()


def test_a_typo_fails_the_dry_run_with_one_line(project_root, tmp_path):
    cmd = [*SNAKEMAKE, "-s", str(project_root / "Snakefile"), "--directory", str(tmp_path), "-n",
           "--config", "overrides=[experiment=smoke,rms.names=[random,lenght]]"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "unknown RM 'lenght'" in proc.stdout + proc.stderr


def test_two_benchmarks_in_one_dag_and_the_cross_benchmark_results(smoke_run):
    """The smoke fixture and the custom example run through one DAG; all.md has one row per RM, both headlines."""
    md = (smoke_run / "results/runs/smoke/leaderboard/all.md").read_text()
    assert "smoke: Overall" in md and "example: Accuracy" in md
    board = pd.read_csv(smoke_run / "results/runs/smoke/leaderboard/all.csv")
    assert set(board["rm"]) == {"random", "length", "tiny-classifier", "tiny-dpo", "tiny-judge"}
    assert {"smoke", "smoke lo", "smoke hi", "example", "example lo", "example hi"} <= set(board.columns)
    assert board.iloc[0]["rm"] == "length"  # the longer answer wins in both benchmarks' data
    example = pd.read_csv(smoke_run / "results/runs/smoke/leaderboard/example.csv")
    items = pd.read_parquet(smoke_run / "results/data/example/items.parquet")
    assert set(items["format"]) == {"pairwise", "bon"} and int(example.iloc[0]["Accuracy n"]) == len(items)
    corr = pd.read_csv(smoke_run / "results/runs/smoke/correlation/all.csv")
    assert {"benchmark", "metric", "pool", "downstream", "spearman"} <= set(corr.columns)
    assert {"smoke", "example"} <= set(corr["benchmark"]) and set(corr["pool"]) == {"smoke"}
    assert set(zip(corr["benchmark"], corr["metric_data"])) == {("smoke", "benchmark half"), ("example", "all items")}
    summary = (smoke_run / "results/runs/smoke/correlation/all.summary.md").read_text()
    assert "- smoke: metrics on the benchmark half" in summary and "**Warning: only 5 RMs.**" in summary
    assert (smoke_run / "results/runs/smoke/plots/all/correlation_heatmap.png").stat().st_size > 1000
    assert (smoke_run / "results/runs/smoke/plots/example/leaderboard.png").stat().st_size > 1000


def test_targeting_one_file_of_each_benchmark(project_root, tmp_path):
    snakemake(project_root, tmp_path, "results/metrics/smoke/random.json", "results/runs/smoke/leaderboard/example.md")
    assert (tmp_path / "results/metrics/smoke/random.json").exists()
    assert (tmp_path / "results/runs/smoke/leaderboard/example.md").exists()
    assert not (tmp_path / "results/runs/smoke/leaderboard/smoke.md").exists()
    assert not (tmp_path / "results/metrics/smoke/length.json").exists()


def test_config_pairs_are_hydra_overrides_and_typos_fail(project_root, tmp_path):
    """`--config rms=smoke` schedules the smoke list; an unknown key fails the dry run with one line."""
    cmd = [*SNAKEMAKE, "-s", str(project_root / "Snakefile"), "--directory", str(tmp_path), "-n", "--cores", "1"]
    out = subprocess.run([*cmd, "--config", "experiment=smoke", "rms=baselines"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    jobs = planned_jobs(out.stdout + out.stderr)
    assert jobs["score"] == 4  # random and length on two benchmarks
    assert "results/scores/smoke/tiny-classifier.parquet" not in out.stdout + out.stderr
    bad = subprocess.run([*cmd, "--config", "experiment=smoke", "rmz=smoke"], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0
    lines = [ln for ln in (bad.stdout + bad.stderr).splitlines() if "rmz" in ln]
    assert lines and "Could not override 'rmz'" in lines[0]


def test_default_statistics_cluster_cis_ranks_and_significance(smoke_run):
    """Issue 12's done-when on the smoke DAG: cluster CIs named in metrics and leaderboard, ranks from the paired
    tests (issue 26: 1 + the number of RMs significantly better), the significance table for every pair of RMs and
    every headline column, length bias in every metrics file and on the leaderboard."""
    metrics = json.loads((smoke_run / "results/metrics/smoke/length.json").read_text())
    assert metrics["ci"]["bootstrap"] == "cluster" and "length_bias" in metrics
    md = (smoke_run / "results/runs/smoke/leaderboard/smoke.md").read_text()
    assert "cluster bootstrap over prompts" in md and "1 + the number of RMs significantly better" in md
    assert "length-controlled" in md and "prefers longer" in md
    sig = pd.read_csv(smoke_run / "results/runs/smoke/significance/smoke.csv")
    assert set(sig["column"]) == {"Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair", "Overall"}
    assert len(sig[sig["column"] == "Overall"]) == 10  # 5 RMs: every pair once
    board = pd.read_csv(smoke_run / "results/runs/smoke/leaderboard/smoke.csv")
    assert board.iloc[0]["rank"] == 1 and {"Overall n", "length-controlled", "prefers longer"} <= set(board.columns)
    ex = pd.read_csv(smoke_run / "results/runs/smoke/significance/example.csv")
    assert set(ex["column"]) == {"Pairwise", "BoN", "Accuracy"}


def test_judge_comparison_shards_in_the_dag(project_root, tmp_path):
    """score.shards on a pairwise judge: one compare job per shard and one merge per benchmark; none unsharded."""
    sharded = planned_jobs(snakemake(project_root, tmp_path, "-n", overrides="[experiment=smoke,++rm_overrides.tiny-judge.score.shards=3]"))
    assert sharded.get("compare") == 6 and sharded.get("compare_merge") == 2
    plain = planned_jobs(snakemake(project_root, tmp_path, "-n"))
    assert plain.get("compare") == 2 and "compare_merge" not in plain


def test_smoke_dag_reproduces_the_golden_numbers(smoke_run):
    """Every leaderboard, metrics, downstream, correlation and significance number of the smoke run equals the
    committed golden copy (tests/golden/smoke_outputs.py; provenance and timings aside)."""
    from golden.smoke_outputs import GOLDEN, content, result_files

    produced = result_files(smoke_run)
    expected = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file())
    assert sorted(produced) == expected
    changed = [rel for rel in expected if content(produced[rel]) != (GOLDEN / rel).read_text(encoding="utf-8")]
    assert not changed, f"numbers differ from tests/golden/smoke in {changed}"
