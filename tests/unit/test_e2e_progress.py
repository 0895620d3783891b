"""Tests that run a whole Snakemake DAG report its progress while they run, visibly under ``python -m pytest -q``
(pytest captures the test's output; tests/helpers.py's ``say`` writes through its terminal reporter instead)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from helpers import run_snakemake

# What Snakemake prints per job (its default output): the job's message, its end, the step count.
FAKE_SNAKEMAKE = textwrap.dedent("""
    for k in (1, 2, 3):
        print(f"Job {k}: Scoring the texts of part {k}")
        print(f"Finished jobid: {k} (Rule: score)")
        print(f"{k} of 3 steps ({k * 100 // 3}%) done", flush=True)
    """)


def test_progress_shows_under_quiet_pytest_with_capture(tmp_path, project_root):
    test = tmp_path / "test_long_dag.py"
    test.write_text(textwrap.dedent(f"""
        import sys
        from helpers import run_snakemake

        def test_a_quick_one():  # its dot is on the line when the next test reports progress
            pass

        def test_a_long_dag():
            proc = run_snakemake([sys.executable, "-c", {FAKE_SNAKEMAKE!r}], timeout=60, label="fake run")
            assert proc.returncode == 0 and "3 of 3 steps" in proc.stdout
        """))
    # The project's pytest settings (tests/ on the path) and its tests/conftest.py, on a test file outside tests/.
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(project_root / "pyproject.toml"),
           "--rootdir", str(project_root), "-p", "conftest", str(test)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=project_root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[:3] == [".", "  fake run: 1/3 steps (33%), last: score (Scoring the texts of part 1)",
                         "  fake run: 3/3 steps (100%), last: score (Scoring the texts of part 3)"], proc.stdout
    assert "2/3 steps" not in proc.stdout  # within 10 s of the first line: left out
    assert "2 passed" in proc.stdout


def test_a_run_past_its_timeout_is_killed_with_its_output():
    with pytest.raises(subprocess.TimeoutExpired) as info:
        run_snakemake([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"],
                      timeout=1, label="slow")
    assert info.value.output == "started\n"


def test_a_failing_run_returns_its_code_and_output():
    proc = run_snakemake([sys.executable, "-c", "print('no'); raise SystemExit(3)"], timeout=60, label="x")
    assert proc.returncode == 3 and proc.stdout == "no\n" and proc.stderr == ""
