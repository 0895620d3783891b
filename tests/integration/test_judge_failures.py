"""Issue 11, item 3: a judge whose every request is refused (401) or whose every answer is invalid stops its job with
one error line and writes no comparisons, so no metrics file and no leaderboard row can follow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ChatServer, chat_completion

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


def run_compare(url, bench_files, tmp_path, env_extra=None):
    out = tmp_path / "judge.comparisons.parquet"
    env = {**os.environ, "RMEVAL_CONF_DIR": str(CONF), "PYTHONPATH": os.pathsep.join(sys.path), **(env_extra or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "rmeval.stages.compare", "rm=gpt4o-judge", f"rm.backend.base_url={url}", "rm.backend.concurrency=2",
         "rm.backend.max_retries=1", "++rm.backend.backoff_base_s=0.01", f"++io.items={bench_files / 'items.parquet'}",
         f"++io.texts={bench_files / 'texts.parquet'}", f"++io.cache_dir={tmp_path / 'cache'}", f"++io.out={out}",
         "scoring.progress=false"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return proc, out


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
    import time

    from helpers import FaultServer

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
