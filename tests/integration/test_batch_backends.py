"""Issue 23: the batch backends (rmeval.llm.batch) against a fake provider on 127.0.0.1 with both batch APIs' shapes
(tests/integration/fake_server/batch_server.py): the same comparisons table as the online backend, a SIGKILL while
polling then a rerun that submits no second batch, expired batches and failed lines resubmitted once and then kept
invalid, a rejected input file and a 401 as one line, and the plan's token estimate against the server's usage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fake_server"))
from batch_server import BatchServer  # noqa: E402

from rmeval.benchmarks import build_benchmark  # noqa: E402
from rmeval.cost import judge_requests, plan_judge  # noqa: E402
from rmeval.llm import ChatRequest, GenerationCache, generate_cached  # noqa: E402
from rmeval.llm.batch import BatchRejectedError  # noqa: E402
from rmeval.llm.openai_compat import BackendAuthError, OpenAICompatBackend  # noqa: E402
from rmeval.rms.judge import PairwiseJudgeRM  # noqa: E402

CONF = Path(__file__).resolve().parents[2] / "conf"
PRICE = {"input_per_mtok": 5.0, "output_per_mtok": 15.0, "batch_discount": 0.5, "read_on": "2026-12-06"}


@pytest.fixture(scope="module")
def bench(smoke_root):
    spec = {"name": "smoke", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}, "position_seed": 0}
    items, texts, _ = build_benchmark(spec).load(smoke_root)
    return items.head(8), texts


@pytest.fixture
def server():
    s = BatchServer()
    yield s
    s.close()


def backend(url, mode="online", api="openai", **batch):
    return OpenAICompatBackend(name="fake", model="judge-x", base_url=url, api_key_env=None, concurrency=4, max_retries=1,
                               backoff_base_s=0.01, backoff_max_s=0.02, mode=mode, price=PRICE,
                               batch={"api": api, "poll_interval_s": 0.01, **batch})


def compare(url, items, texts, cache, **kw):
    judge = PairwiseJudgeRM(name="fake-judge", backend=backend(url, **kw), both_orders=True, max_tokens=64)
    return judge.compare(items, texts, cache=GenerationCache(cache), progress=False)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_batch_mode_gives_the_online_comparisons_table(api, bench, server, tmp_path):
    items, texts = bench
    online = compare(server.url, items, texts, tmp_path / "online.jsonl")
    assert server.batches == 0 and server.online_requests > 0
    batch = compare(server.url, items, texts, tmp_path / "batch.jsonl", mode="batch", api=api, max_requests=7)
    pd.testing.assert_frame_equal(online, batch)
    assert set(batch["verdict"]) == {"A", "B"}
    assert server.batch_requests == server.online_requests  # each distinct request once, in ceil(n / 7) batches
    assert server.batches == -(-server.online_requests // 7)
    again = compare(server.url, items, texts, tmp_path / "batch.jsonl", mode="batch", api=api)
    pd.testing.assert_frame_equal(online, again)
    assert server.batch_requests == server.online_requests  # the rerun reads the cache


def test_sigkill_while_polling_then_rerun_submits_no_second_batch(bench, server, tmp_path):
    items, texts = bench
    items.to_parquet(tmp_path / "items.parquet")
    texts.to_parquet(tmp_path / "texts.parquet")
    server.polls_to_finish = 10**9  # nothing ends until the test says so
    command = [sys.executable, "-m", "rmeval.stages.compare", "rm=gpt4o-judge", f"rm.backend.base_url={server.url}",
               "rm.backend.mode=batch", "rm.backend.batch.poll_interval_s=0.05", f"++io.items={tmp_path / 'items.parquet'}",
               f"++io.texts={tmp_path / 'texts.parquet'}", f"++io.cache_dir={tmp_path / 'cache'}",
               f"++io.out={tmp_path / 'out.parquet'}", "scoring.progress=false"]
    env = {**os.environ, "RMEVAL_CONF_DIR": str(CONF), "PYTHONPATH": os.pathsep.join(sys.path), "OPENAI_API_KEY": "local"}
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while server.polls < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert server.batches == 1 and server.polls >= 3, proc.communicate()[0] if proc.poll() is not None else "no poll"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    submitted = server.batch_requests
    server.polls_to_finish = 1
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert server.batches == 1 and server.batch_requests == submitted  # reattached: nothing paid twice
    assert "reattached to 1 batch(es)" in done.stdout
    from rmeval.scoring import read_scores

    table, meta = read_scores(tmp_path / "out.parquet")
    assert len(table) == sum(len(r) for r in items["rejected_ids"]) and (table["verdict"] != "invalid").all()
    assert "answered online 0, in batches" in done.stdout and "at the YAML's price" in done.stdout
    usage = meta["usage"]  # what the metrics file's judge block reports
    assert usage["answered"] == {"online": 0, "batch": usage["requests"]} and usage["input_tokens"] > 0
    assert usage["cost_usd"] > 0 and usage["estimated_input_tokens"] > 0


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_expired_batch_and_failed_lines_are_resubmitted_once_then_kept_invalid(api, tmp_path):
    server = BatchServer(expire={1})
    try:
        texts = [f"question {i}" for i in range(6)] + ["flaky fail=once", "broken fail=always"]
        reqs = [ChatRequest(key=f"k{i}", messages=[{"role": "user", "content": t}], max_tokens=8) for i, t in enumerate(texts)]
        be = backend(server.url, mode="batch", api=api, max_requests=4)  # batch 1 (expires half-done) and batch 2
        results = generate_cached(be, reqs, GenerationCache(tmp_path / "g.jsonl"), progress=False)
        assert server.batches == 3  # two first batches, one follow-up with the expired and failed requests
        ok = {r.key for r in results if r.ok}
        assert ok == {f"k{i}" for i in range(7)}
        broken = results[7]
        assert broken.error.startswith("batch ") and "failed in 2 batches" in broken.error and not broken.transient
        again = generate_cached(be, reqs, GenerationCache(tmp_path / "g.jsonl"), progress=False)
        assert server.batches == 3 and [r.ok for r in again] == [r.ok for r in results]  # nothing sent again
    finally:
        server.close()


def test_rejected_input_file_is_one_line(tmp_path):
    server = BatchServer(reject={1})
    try:
        be = backend(server.url, mode="batch")
        with pytest.raises(BatchRejectedError) as info:
            generate_cached(be, [ChatRequest(key="k", messages=[{"role": "user", "content": "q"}])], GenerationCache(tmp_path / "g.jsonl"),
                            progress=False)
        assert "rejected batch batch_1" in str(info.value) and "line 1: invalid_request" in str(info.value)
        assert "\n" not in str(info.value)
    finally:
        server.close()


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_401_is_one_line_naming_the_key_variable(api, tmp_path, monkeypatch):
    server = BatchServer(key="sk-right-key-0000")
    monkeypatch.setenv("RMEVAL_TEST_KEY", "sk-wrong-key-1111")
    try:
        be = OpenAICompatBackend(name="fake", model="m", base_url=server.url, api_key_env="RMEVAL_TEST_KEY", max_retries=1,
                                 mode="batch", batch={"api": api, "poll_interval_s": 0.01})
        with pytest.raises(BackendAuthError) as info:
            generate_cached(be, [ChatRequest(key="k", messages=[{"role": "user", "content": "q"}])], GenerationCache(tmp_path / "g.jsonl"),
                            progress=False)
        message = str(info.value)
        assert "HTTP 401" in message and "RMEVAL_TEST_KEY" in message and "\n" not in message and "sk-wrong" not in message
        assert server.batches == 0
    finally:
        server.close()


def test_plan_token_estimate_is_within_15_percent_of_the_servers_usage(bench, server, tmp_path):
    items, texts = bench
    judge = PairwiseJudgeRM(name="fake-judge", backend=backend(server.url), both_orders=True, max_tokens=64)
    cfg = {"name": "fake-judge", "backend": {"_target_": "rmeval.llm.openai_compat.OpenAICompatBackend", "base_url": "https://api.example.com/v1",
                                             "concurrency": 4, "price": PRICE}}
    row = plan_judge("smoke", cfg, judge, items, texts, tmp_path / "g.jsonl")
    judge.compare(items, texts, cache=GenerationCache(tmp_path / "g.jsonl"), progress=False)
    assert server.online_requests == row["to_send"] == len({r.cache_key(judge.backend.fingerprint()) for r in judge_requests(judge, items, texts)})
    assert abs(row["input_tokens"] - server.usage["prompt_tokens"]) <= 0.15 * server.usage["prompt_tokens"], (row["input_tokens"], server.usage)
