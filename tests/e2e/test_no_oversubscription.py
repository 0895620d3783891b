"""`snakemake --cores 8` on a machine with fewer CPUs runs one local-model score job at a time (each claims all of
Snakemake's cores), and torch in each uses at most the machine's CPUs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scale_helpers import assert_no_overlap

pytestmark = pytest.mark.e2e


def test_cores_8_runs_one_cpu_scoring_job_at_a_time(project_root, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "8", "--config", "experiment=smoke", "rms=[tiny-classifier,tiny-dpo]", "benchmarks=[smoke,example]",
           "downstream__enabled=false"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert_no_overlap(tmp_path, ["tiny-classifier", "tiny-dpo"])  # 4 jobs of 8 threads each, never side by side
