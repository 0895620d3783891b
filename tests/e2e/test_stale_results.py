"""Stale results never look current (issue 25, item 1): after a config change, a score or compare job that fails
or is killed leaves no result that the next run calls up to date, and a missing intermediate is rebuilt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
BASE = ["benchmarks=[example]", "rms=[random,tiny-classifier,tiny-judge]", "metrics__n_boot=50",
        "downstream__enabled=false"]
NOTHING = "Nothing to be done"
SCORES = Path("results/scores/example")


def command(project_root: Path, workdir: Path, overrides: list[str], *args: str) -> list[str]:
    extra = [f"overrides=[{','.join(overrides)}]"] if overrides else []
    return [*SNAKEMAKE, "-s", str(project_root / "Snakefile"), "--directory", str(workdir), "--cores", "2", *args,
            "--config", *BASE, *extra]


def run(project_root: Path, workdir: Path, overrides: list[str] = (), *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(command(project_root, workdir, list(overrides), *args), capture_output=True, text=True,
                          timeout=600)
    proc.out = proc.stdout + proc.stderr
    return proc


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.out[-4000:]
    return proc.out


def run_killing(project_root: Path, workdir: Path, overrides: list[str], stage: str, out: str) -> str:
    """Run the workflow and SIGTERM the job of ``python -m rmeval.stages.<stage>`` writing ``out`` once it starts."""
    proc = subprocess.Popen(command(project_root, workdir, overrides), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    killed = None
    while killed is None and proc.poll() is None:
        killed = job_pid(workdir, stage, out)
        if killed is None:
            time.sleep(0.02)
    if killed is not None:
        os.kill(killed, signal.SIGTERM)
    output = proc.communicate(timeout=600)[0]
    assert killed is not None, f"the {stage} job never started:\n{output[-4000:]}"
    assert proc.returncode != 0, output[-4000:]
    return output


def job_pid(workdir: Path, stage: str, out: str) -> int | None:
    """The pid of this workdir's ``python -m rmeval.stages.<stage> ... ++io.out=<out>`` process, if it runs."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if argv[1:3] == ["-m", f"rmeval.stages.{stage}"] and f"++io.out={out}" in argv and cwd == str(workdir):
            return int(entry.name)
    return None


@pytest.fixture(scope="module")
def workdir(project_root, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stale").resolve()
    ok(run(project_root, path))
    return path


def assert_current(project_root: Path, workdir: Path, overrides: list[str], score_file: Path, since: float) -> None:
    """A plain rerun rebuilt the score file and everything that reads it, and then there is nothing left to do."""
    assert (workdir / score_file).exists()
    for reader in ("results/runs/rmb/leaderboard/example.csv", "results/runs/rmb/leaderboard/all.csv",
                   f"results/metrics/example/{score_file.name.split('.')[0]}.json"):
        assert (workdir / reader).stat().st_mtime >= (workdir / score_file).stat().st_mtime >= since, reader
    assert NOTHING in ok(run(project_root, workdir, overrides, "-n"))


def test_a_failed_score_job_is_retried_not_called_up_to_date(project_root, workdir):
    ok(run(project_root, workdir))
    # a folder that exists (so the dry run's path check passes) but holds no model: the score job fails
    (workdir / "not-a-model").mkdir(exist_ok=True)
    broken = [f"++rm_overrides.tiny-classifier.model={workdir / 'not-a-model'}"]
    for attempt in range(2):  # the second attempt must fail the same way, not say "Nothing to be done"
        proc = run(project_root, workdir, broken)
        assert proc.returncode != 0 and NOTHING not in proc.out, f"attempt {attempt}:\n{proc.out[-4000:]}"
        assert "Error in rule score" in proc.out and not (workdir / SCORES / "tiny-classifier.parquet").exists()
    # back to the good config: the missing score file is rebuilt (a missing intermediate), then its readers
    since = time.time()
    ok(run(project_root, workdir))
    assert_current(project_root, workdir, [], SCORES / "tiny-classifier.parquet", since - 1)


def test_a_killed_score_job_after_a_change_is_rerun(project_root, workdir):
    ok(run(project_root, workdir))
    changed = ["++rm_overrides.tiny-classifier.max_length=64"]
    since = time.time()
    run_killing(project_root, workdir, changed, "score", str(SCORES / "tiny-classifier.parquet"))
    out = ok(run(project_root, workdir, changed))
    assert NOTHING not in out
    assert_current(project_root, workdir, changed, SCORES / "tiny-classifier.parquet", since)


def test_a_killed_compare_job_after_a_change_is_rerun(project_root, workdir):
    ok(run(project_root, workdir))
    changed = ["++rm_overrides.tiny-judge.seed=1"]
    since = time.time()
    run_killing(project_root, workdir, changed, "compare", str(SCORES / "tiny-judge.comparisons.parquet"))
    out = ok(run(project_root, workdir, changed))
    assert NOTHING not in out
    assert_current(project_root, workdir, changed, SCORES / "tiny-judge.comparisons.parquet", since)


def test_a_missing_intermediate_is_rebuilt_before_its_readers_are_up_to_date(project_root, workdir):
    ok(run(project_root, workdir))
    score_file = SCORES / "random.parquet"
    (workdir / score_file).unlink()
    since = time.time()
    ok(run(project_root, workdir))
    assert_current(project_root, workdir, [], score_file, since - 1)


def test_targeting_one_file_rebuilds_a_missing_intermediate_it_reads(project_root, workdir):
    """Snakemake asks for a missing intermediate only when a job that must run reads it, so with the files made
    from it in place, `snakemake <one of them>` said "Nothing to be done" (rule all lists the intermediates, which
    covers a plain run only); each job's stamp (common.smk: rebuilt_if_missing) now makes it run."""
    ok(run(project_root, workdir))
    deleted = [SCORES / "random.parquet", SCORES / "tiny-judge.comparisons.parquet"]
    for path in deleted:
        (workdir / path).unlink()
    targets = ["results/metrics/example/random.json", "results/runs/rmb/leaderboard/example.csv"]
    since = time.time()
    assert NOTHING not in ok(run(project_root, workdir, [], *targets))
    board = (workdir / "results/runs/rmb/leaderboard/example.csv").stat().st_mtime
    for path in deleted:
        metrics = workdir / f"results/metrics/example/{path.name.split('.')[0]}.json"
        assert board >= metrics.stat().st_mtime >= (workdir / path).stat().st_mtime >= since - 1, path
    assert NOTHING in ok(run(project_root, workdir, [], "-n", *targets))
