"""RewardBench v1 and v2 through the DAG, from local files in the hub schema, with the baseline RMs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from test_smoke_dag import snakemake  # same folder

pytestmark = pytest.mark.e2e


def v1_rows():
    rows = []
    for i, subset in enumerate(["alpacaeval-easy", "mt-bench-hard", "donotanswer", "hep-python", "math-prm"] * 4):
        long, short = "a detailed, careful and complete answer " * (1 + i % 3), "short answer"
        chosen, rejected = (long, short) if i % 4 else (short, long)
        rows.append({"prompt": f"question {i}?", "chosen": chosen, "rejected": rejected, "chosen_model": "m1",
                     "rejected_model": "m2", "subset": subset, "id": i})
    return rows


def v2_rows():
    rows = []
    for i, subset in enumerate(["Factuality", "Precise IF", "Math", "Safety", "Focus"] * 3):
        rows.append({"id": str(i), "prompt": f"task {i}", "chosen": ["the right and longer answer " * 2],
                     "rejected": ["no", "wrong", "bad answer"], "num_correct": 1, "num_incorrect": 3,
                     "total_completions": 4, "models": ["a", "b", "c", "d"], "subset": subset})
    return rows


@pytest.mark.parametrize("bench,rows,column", [("rewardbench", v1_rows, "Chat"), ("rewardbench2", v2_rows, "Factuality")])
def test_rewardbench_through_the_dag(project_root, tmp_path, bench, rows, column):
    data = tmp_path / f"{bench}.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows()) + "\n")
    snakemake(project_root, tmp_path, overrides=f"[benchmark={bench},benchmark.root={data},rms=baselines]")
    board = pd.read_csv(tmp_path / f"results/runs/rmb/leaderboard/{bench}.csv")
    assert set(board["rm"]) == {"random", "length"} and column in board.columns
    length = board.set_index("rm").loc["length"]
    if bench == "rewardbench2":
        assert length["Score"] == pytest.approx(1.0)  # the chosen is always the longest of four
    else:
        assert length["Chat"] == pytest.approx(0.75)  # 3 of every 4 chosen answers are the longer one
    md = (tmp_path / f"results/runs/rmb/leaderboard/{bench}.md").read_text()
    assert "| 1 | length |" in md
    assert not (tmp_path / "results/runs/rmb/correlation").exists()  # no judge scores: no downstream stage


def test_rewardbench_without_a_root_plans_a_hub_load(project_root, tmp_path, monkeypatch):
    """No REWARDBENCH_ROOT: the dry run plans the data job reading the hub through `datasets` (no input file),
    instead of failing on a missing `download` key (issue 11 item 8)."""
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k not in ("REWARDBENCH_ROOT",)}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(tmp_path), "-n",
           "--cores", "1", "--config", "benchmark=rewardbench", "rms=baselines"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "results/data/rewardbench/items.parquet" in out and "ConfigAttributeError" not in out
