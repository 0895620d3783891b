"""The smoke experiment through profiles/slurm on a real (one-node, local) SLURM cluster, with the tiny classifier
in two score shards, gives the same leaderboards and scores as a local run. Start the cluster first:
tests/slurm/start_cluster.sh (as root; Debian's slurm-wlm and munge), then python -m pytest -m slurm tests/slurm."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rmeval.scoring import read_scores
from scale_helpers import assert_no_overlap, planned

pytestmark = pytest.mark.slurm
RMS = "rms=[random,length,tiny-classifier]"
SHARDED = "overrides=[++rm_overrides.tiny-classifier.score.shards=2]"


def _cluster_up() -> str | None:
    """None when a SLURM node answers idle; else why the test cannot run."""
    if shutil.which("sinfo") is None:
        return "sinfo not found: apt-get install -y slurm-wlm munge, then tests/slurm/start_cluster.sh"
    try:
        state = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as err:
        return f"sinfo failed ({err}): start the cluster with tests/slurm/start_cluster.sh"
    if state.returncode != 0 or not any(s.strip() in ("idle", "mix", "alloc") for s in state.stdout.split()):
        return f"no SLURM node up (sinfo: {(state.stdout + state.stderr).strip() or 'nothing'}): tests/slurm/start_cluster.sh"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm not installed: pip install -e '.[slurm]'"
    return None


def _snakemake(root: Path, workdir: Path, *args: str) -> float:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(root / "Snakefile"), "--directory", str(workdir), *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return time.perf_counter() - start


def _result_files(workdir: Path) -> list[str]:
    boards = sorted(str(p.relative_to(workdir)) for p in (workdir / "results/runs/smoke/leaderboard").glob("*.csv"))
    scores = sorted(str(p.relative_to(workdir)) for p in (workdir / "results/scores").glob("*/*.parquet"))
    return boards + scores


def test_slurm_run_with_two_shards_equals_the_local_run(project_root, tmp_path):
    why = _cluster_up()
    if why:
        pytest.skip(why)
    local, cluster = tmp_path / "local", tmp_path / "slurm"
    t_local = _snakemake(project_root, local, "--cores", "8", "--config", "experiment=smoke", RMS)
    t_slurm = _snakemake(
        project_root, cluster, "--workflow-profile", str(project_root / "profiles/slurm"), "--jobs", "4",
        "--slurm-no-account", "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
        "--config", "experiment=smoke", RMS, SHARDED,
    )
    print(f"local run {t_local:.0f} s, slurm run {t_slurm:.0f} s")
    shards = sorted(p.name for p in (cluster / "results/scores/smoke/tiny-classifier").glob("shard-*.parquet"))
    assert shards == ["shard-0-of-2.parquet", "shard-1-of-2.parquet"]
    log = next((cluster / ".snakemake/log").glob("*.snakemake.log")).read_text()
    assert log.count("has been submitted with SLURM jobid") == planned(log)  # every job went through sbatch
    assert "score_merge               2" in log  # one merge of 2 shards per benchmark
    assert_no_overlap(local, ["tiny-classifier"])
    files = _result_files(local)
    assert files == _result_files(cluster) and any(f.startswith("results/scores/smoke/") for f in files)
    for name in files:
        if name.endswith(".csv"):
            pd.testing.assert_frame_equal(pd.read_csv(local / name), pd.read_csv(cluster / name))
        else:
            (a, _), (b, meta) = read_scores(local / name), read_scores(cluster / name)
            pd.testing.assert_frame_equal(a, b, check_exact=True)
            if name.endswith("smoke/tiny-classifier.parquet"):
                assert [s["path"] for s in meta["shards"]] == [f"results/scores/smoke/tiny-classifier/{s}" for s in shards]
