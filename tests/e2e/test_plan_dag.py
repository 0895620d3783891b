"""`snakemake --cores 1 plan` is a target of its own: not part of `all`, no API key, no network, no model load; it
writes the run's plan under results/runs/<run>/plan/ and prints it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def test_the_plan_target_prints_the_bill_without_a_key(project_root, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "1", "plan", "--config", "experiment=smoke", "benchmarks=[smoke]", "rms=[length,gpt4o-judge]"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    md = (tmp_path / "results/runs/smoke/plan/cost.md").read_text()
    assert "gpt4o-judge" in md and "Total, API judges: $" in md and "| smoke | length |" in md
    assert "Total, API judges: $" in out  # printed, not only written
    assert not (tmp_path / "results/scores").exists()  # nothing scored, nothing judged
