"""Issue 11, item 3: a judge whose every request is refused (401) or whose every answer is invalid stops its job with
one error line and writes no comparisons, so no metrics file and no leaderboard row can follow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import re
import time

import pandas as pd
import pytest
from helpers import ChatServer, FaultServer, chat_completion, closed_port_url

from rmeval.benchmarks import build_benchmark
from rmeval.rms.judge import NoValidOutputError, require_some_valid

CONF = Path(__file__).resolve().parents[2] / "conf"
SECRET = "sk-proj-Qw3rTy7UiOp9AsDf2GhJ"


def test_require_some_valid():
    require_some_valid([False, True], [None, "x"], "judge j")
    require_some_valid([], [], "judge j")  # nothing asked, nothing to say
    with pytest.raises(NoValidOutputError, match=r"^judge j: all 2 outputs are invalid, so no result is written; first error: boom$"):
        require_some_valid([False, False], [None, "boom"], "judge j")
    with pytest.raises(NoValidOutputError, match="; no verdict$"):
        require_some_valid([False], [None], "judge j", "no verdict")


@pytest.fixture(scope="module")
def bench_files(smoke_root, tmp_path_factory):
    bench = {"name": "smoke", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}, "position_seed": 0}
    items, texts, _ = build_benchmark(bench).load(smoke_root)
    out = tmp_path_factory.mktemp("bench")
    items.head(6).to_parquet(out / "items.parquet")
    texts.to_parquet(out / "texts.parquet")
    return out


def compare_command(url, bench_files, tmp_path, *overrides):
    return [sys.executable, "-m", "rmeval.stages.compare", "rm=gpt4o-judge", f"rm.backend.base_url={url}", "rm.backend.concurrency=2",
            "rm.backend.max_retries=1", "++rm.backend.backoff_base_s=0.01", "++rm.backend.backoff_max_s=0.02",
            f"++io.items={bench_files / 'items.parquet'}", f"++io.texts={bench_files / 'texts.parquet'}",
            f"++io.cache_dir={tmp_path / 'cache'}", f"++io.out={tmp_path / 'judge.comparisons.parquet'}", "scoring.progress=false",
            *overrides]


def run_compare(url, bench_files, tmp_path, env_extra=None, *overrides):
    env = {**os.environ, "RMEVAL_CONF_DIR": str(CONF), "PYTHONPATH": os.pathsep.join(sys.path), "OPENAI_API_KEY": "local",
           **(env_extra or {})}
    proc = subprocess.run(compare_command(url, bench_files, tmp_path, *overrides), cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    return proc, tmp_path / "judge.comparisons.parquet"


def test_every_answer_invalid_fails_the_job_and_writes_nothing(bench_files, tmp_path):
    server = ChatServer(lambda body: (200, chat_completion(body["model"], "Both answers are fine.")))
    try:
        proc, out = run_compare(server.url, bench_files, tmp_path, {"OPENAI_API_KEY": "local"})
    finally:
        server.close()
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: pairwise judge gpt4o-judge: all ") and "no [[A]]/[[B]]/[[C]] verdict" in lines[0]
    assert not out.exists()


def test_a_refused_key_fails_the_job_with_one_line(bench_files, tmp_path):
    server = ChatServer(lambda body: (401, f'{{"error": {{"message": "bad key {SECRET}"}}}}'.encode()))
    try:
        proc, out = run_compare(server.url, bench_files, tmp_path, {"OPENAI_API_KEY": SECRET})
    finally:
        server.close()
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0] and server.url in lines[0] and "HTTP 401" in lines[0]
    assert SECRET not in proc.stderr + proc.stdout and not out.exists()
    assert len(server.arrivals) <= 2  # concurrency 2: nothing after the first refusals


def test_allow_all_invalid_warns_but_backend_failures_still_stop(caplog):
    require_some_valid([False, False], [None, None], "judge j", allow_all_invalid=True)  # unparseable: warned
    assert "all 2 outputs are invalid (allow_all_invalid: true" in caplog.text
    with pytest.raises(NoValidOutputError, match="first error: APIConnectionError"):
        require_some_valid([False, False], ["APIConnectionError: down", "APIConnectionError: down"], "judge j", allow_all_invalid=True)


def test_allow_all_invalid_is_a_judge_setting_and_other_families_reject_it():
    import pytest

    from rmeval.config import ConfigError, compose_rm
    from rmeval.rms import build_rm

    cfg = compose_rm("tiny-judge", conf_dir=CONF)
    assert cfg.rm.allow_all_invalid is True
    node = {"_target_": "rmeval.rms.baselines.LengthRM", "name": "len", "allow_all_invalid": True}
    with pytest.raises(ConfigError, match="field 'allow_all_invalid'"):
        build_rm(node)


def test_sigterm_stops_the_compare_stage_keeps_answers_and_sends_nothing_more(bench_files, tmp_path):
    server = FaultServer(free_answers=3)
    env = {**os.environ, "RMEVAL_CONF_DIR": str(CONF), "PYTHONPATH": os.pathsep.join(sys.path), "OPENAI_API_KEY": "local"}
    out = tmp_path / "judge.comparisons.parquet"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rmeval.stages.compare", "rm=gpt4o-judge", f"rm.backend.base_url={server.url}",
             "rm.backend.concurrency=2", f"++io.items={bench_files / 'items.parquet'}", f"++io.texts={bench_files / 'texts.parquet'}",
             f"++io.cache_dir={tmp_path / 'cache'}", f"++io.out={out}", "scoring.progress=false"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while server.waiting < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert server.waiting == 2
        t_signal = time.time()
        proc.terminate()  # SIGTERM, as Snakemake sends it
        time.sleep(0.5)
        server.release.set()
        _, stderr = proc.communicate(timeout=60)
    finally:
        server.close()
    assert proc.returncode == 130
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: interrupted (signal 15)")
    assert [c for t, c in server.arrivals if t > t_signal] == [] and not out.exists()
    cached = list((tmp_path / "cache").glob("*.jsonl"))
    assert len(cached) == 1 and len(cached[0].read_text().splitlines()) == 5  # 3 answered + the 2 in flight


# ------------------------------------------------------------------------------------- issue 25: items 3, 5, 6
def error_lines(proc):
    return [line for line in proc.stderr.strip().splitlines() if line]


def test_transport_failures_fail_the_compare_job_and_a_plain_rerun_sends_only_them(bench_files, tmp_path):
    """Item 3: before, a comparison whose every retry failed was stored as an invalid verdict (counted wrong, exit 0)
    and a rerun sent nothing."""
    server = FaultServer(storm=0.5, retry_after="0.01")
    try:
        proc, out = run_compare(server.url, bench_files, tmp_path)
        assert proc.returncode == 1, proc.stderr
        lines = error_lines(proc)
        found = re.match(r"^error: gpt4o: (\d+) of (\d+) request\(s\) failed after every retry \(first: \w+.*\); "
                         r"the (\d+) answered are cached, so a rerun sends only the failed ones$", lines[0])
        assert len(lines) == 1 and found, lines
        failed, total, answered = map(int, found.groups())
        assert failed > 0 and failed + answered == total and not out.exists()
        server.storm, before = 0.0, sum(server.calls.values())
        proc, out = run_compare(server.url, bench_files, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert sum(server.calls.values()) - before == failed  # only the failed requests are sent again
        comparisons = pd.read_parquet(out)
        assert len(comparisons) == total and (comparisons["verdict"] == "A").all()
    finally:
        server.close()


def test_a_dead_endpoint_fails_the_compare_job_at_once(bench_files, tmp_path):
    """Item 5: before, a closed port was retried max_retries times for every comparison (here 6 × backoff 0.2 s)."""
    url = closed_port_url()
    start = time.time()
    proc, out = run_compare(url, bench_files, tmp_path, None, "rm.backend.max_retries=6", "++rm.backend.backoff_base_s=0.2",
                            "++rm.backend.backoff_max_s=0.2")
    lines = error_lines(proc)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: backend gpt4o: {url} refused or could not be reached 3 times in a row and never answered")
    assert time.time() - start < 15 and not out.exists()  # the job's own start-up is most of it


def test_a_key_echoed_by_the_endpoint_is_not_stored(bench_files, tmp_path):
    """Item 6: before, the key an endpoint echoed inside a completion was written to the raw column and the cache."""
    server = ChatServer(lambda body: (200, chat_completion(body["model"], f"[[A]] (request made with {SECRET})")))
    try:
        proc, out = run_compare(server.url, bench_files, tmp_path, {"OPENAI_API_KEY": SECRET})
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    raw = pd.read_parquet(out)["raw"]
    assert (raw == "[[A]] (request made with [redacted])").all()
    stored = [out.read_bytes()] + [p.read_bytes() for p in (tmp_path / "cache").glob("*.jsonl")]
    assert len(stored) == 2 and not any(SECRET.encode() in data for data in stored)


# ------------------------------------------------------------------------------------- issue 25: the fault campaign
def test_fault_campaign_sigterm_during_a_storm_then_resume(bench_files, tmp_path):
    """Items 2, 3 and 5 on the compare stage (run directly, as Snakemake runs it): SIGTERM while a storm of 429, 5xx and
    resets is on and every slot holds a request: 0 sends after the signal, the answers kept; a plain rerun in the same
    storm with 1 retry fails with one line naming the failed requests; one with 8 retries answers every comparison,
    each exactly once over the three runs; then the endpoint dies: one line, at once."""
    server = FaultServer(storm=0.4, retry_after="0.02", hold_after=10)
    env = {**os.environ, "RMEVAL_CONF_DIR": str(CONF), "PYTHONPATH": os.pathsep.join(sys.path), "OPENAI_API_KEY": "local"}
    storm = ("rm.backend.concurrency=3", "rm.backend.max_retries=8")
    try:
        proc = subprocess.Popen(compare_command(server.url, bench_files, tmp_path, *storm), cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while server.waiting < 3 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert server.waiting == 3 and server.faults > 0
        t_signal = time.time()
        proc.terminate()
        time.sleep(0.5)
        server.release.set()
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130 and len(stderr.strip().splitlines()) == 1, stderr
        assert [c for t, c in server.arrivals if t > t_signal] == []  # 0 sends after the signal
        cache = next((tmp_path / "cache").glob("*.jsonl"))
        assert len(cache.read_text().splitlines()) == sum(server.answered.values())  # every answer kept, the held ones too

        server.hold_after = None
        proc, _ = run_compare(server.url, bench_files, tmp_path, None, "rm.backend.concurrency=3")  # 1 retry: some fail
        found = re.search(r"gpt4o: (\d+) of (\d+) request\(s\) failed after every retry", proc.stderr)
        assert proc.returncode == 1 and found and int(found.group(1)) > 0, proc.stderr
        proc, out = run_compare(server.url, bench_files, tmp_path, None, *storm)
        assert proc.returncode == 0, proc.stderr
        comparisons = pd.read_parquet(out)
        assert (comparisons["verdict"] == "A").all() and len(server.answered) == len(comparisons)
        assert set(server.answered.values()) == {1}  # 0 lost, 0 sent twice over the three runs
        print(f"campaign: {len(server.arrivals)} sends, {server.faults} faults injected, {len(comparisons)} comparisons")
    finally:
        server.close()
    (tmp_path / "dead").mkdir()
    proc3, _ = run_compare(closed_port_url(), bench_files, tmp_path / "dead", None, *storm)
    assert proc3.returncode == 1 and "refused or could not be reached 3 times in a row" in proc3.stderr
