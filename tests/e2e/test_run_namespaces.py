"""Runs with different names keep their summaries apart: a second run with another RM list leaves the first run's
leaderboards, paired tests, correlations and plots byte for byte as they were, reuses its score files, and gives
byte for byte what it gives when run alone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

COMMON = ["experiment=smoke", "benchmarks=[smoke]"]
RUN_A = [*COMMON, "run=a", "rms=[random,length]"]
RUN_B = [*COMMON, "run=b", "rms=[length,tiny-classifier]"]


def snakemake(project_root: Path, workdir: Path, config: list[str], *args: str) -> str:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", *args, "--config", *config]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout + proc.stderr


def summaries(workdir: Path, run: str) -> dict[str, bytes]:
    """Every file of the run's folder but its config record (which names the run's folder and git state)."""
    folder = workdir / "results/runs" / run
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "config.yaml"}


def test_two_named_runs_keep_their_summaries_and_share_scores(project_root, tmp_path):
    both, alone = tmp_path / "both", tmp_path / "alone"
    snakemake(project_root, both, RUN_A)
    first = summaries(both, "a")
    assert {"leaderboard/smoke.md", "leaderboard/all.md", "significance/smoke.csv", "correlation/all.csv",
            "plots/smoke/leaderboard.png", "plots/smoke/leaderboard.pdf"} <= set(first)
    assert "plots/smoke/position_bias.png" not in first  # no pairwise judge in the run: no empty figure
    length_scores = both / "results/scores/smoke/length.parquet"
    made = length_scores.stat().st_mtime_ns

    plan = snakemake(project_root, both, RUN_B, "-n")
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.split("Job stats:")[1], re.M))
    assert stats["score"] == "1"  # tiny-classifier's: run b reuses run a's scores of length
    assert "Missing output files: results/scores/smoke/length.parquet" not in plan
    snakemake(project_root, both, RUN_B)
    assert length_scores.stat().st_mtime_ns == made
    assert summaries(both, "a") == first  # run a untouched by run b

    snakemake(project_root, alone, RUN_B)
    assert summaries(both, "b") == summaries(alone, "b")  # run b as if it ran alone
    assert "tiny-classifier" in (both / "results/runs/b/leaderboard/smoke.md").read_text()
    assert "tiny-classifier" not in (both / "results/runs/a/leaderboard/smoke.md").read_text()

    record = yaml.safe_load((both / "results/runs/b/config.yaml").read_text())
    assert record["run"] == "b" and record["settings"]["rms"]["names"] == ["length", "tiny-classifier"]
    assert set(record["rms"]) == {"length", "tiny-classifier"} and set(record["benchmarks"]) == {"smoke"}
    assert "run=b" in record["overrides"]


def test_reusing_a_run_name_with_other_rms_says_so(project_root, tmp_path):
    folder = tmp_path / "results/runs/a"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump({"run": "a", "settings": {"rms": {"names": ["random"]},
                                                                                 "benchmarks": {"names": ["smoke"]}}}))
    out = snakemake(project_root, tmp_path, RUN_A, "-n")
    assert "run 'a': " in out and "other rms ['random'] -> ['random', 'length']" in out
    assert "--config run=<another name>" in out
