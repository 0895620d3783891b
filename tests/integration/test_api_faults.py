"""Issue 11, API client and generation cache: a fault-injecting chat-completions server on 127.0.0.1 (429 with
Retry-After, 5xx, resets, timeouts, garbage, 401, Ctrl-C mid-run) against OpenAICompatBackend + GenerationCache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from email.utils import formatdate

import pytest
from helpers import FaultServer, closed_port_url

from rmeval.llm import ChatRequest, GenerationCache, generate_cached
from rmeval.llm.base import scrub_secrets
from rmeval.llm.cache import RequestsFailedError
from rmeval.llm.openai_compat import BackendAuthError, EndpointUnreachableError, OpenAICompatBackend, retry_after_seconds

SECRET = "sk-live-Zq81xYw2Vb7Nd4Kp0sT6"


def backend(url, **kw):
    defaults = dict(model="judge-x", base_url=url, api_key_env=None, concurrency=4, max_retries=4,
                    backoff_base_s=0.01, backoff_max_s=0.02, timeout_s=0.4, retry_after_max_s=5.0)
    return OpenAICompatBackend(**{**defaults, **kw})


def req(text, key=None, seed=0):
    return ChatRequest(key=key or text, messages=[{"role": "user", "content": text}], max_tokens=8, seed=seed)


def cache_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# ----------------------------------------------------------------------------------------- 1: Retry-After
def test_retry_after_parses_seconds_dates_and_ms():
    now = 1_000_000.0
    assert retry_after_seconds({"retry-after": "3"}, now) == 3.0
    assert retry_after_seconds({"retry-after": formatdate(now + 7, usegmt=True)}, now) == pytest.approx(7.0, abs=1.0)
    assert retry_after_seconds({"retry-after": formatdate(now - 50, usegmt=True)}, now) == 0.0
    assert retry_after_seconds({"retry-after-ms": "250"}, now) == 0.25
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


@pytest.mark.parametrize("retry_after,cap,low,high", [("1", 5.0, 0.95, 1.6), ("30", 0.3, 0.28, 0.9)])
def test_retry_after_is_honoured_up_to_the_cap(retry_after, cap, low, high):
    server = FaultServer(retry_after=retry_after)
    try:
        results = generate_cached(backend(server.url, retry_after_max_s=cap), [req("q fault=429:1")], None, progress=False)
        assert results[0].ok and results[0].attempts == 2
        (t1, _), (t2, _) = server.arrivals
        assert low <= t2 - t1 <= high
    finally:
        server.close()


def test_retry_after_as_http_date():
    server = FaultServer(retry_after=formatdate(time.time() + 2, usegmt=True))
    try:
        generate_cached(backend(server.url), [req("q fault=429:1")], None, progress=False)
        (t1, _), (t2, _) = server.arrivals
        assert 0.9 <= t2 - t1 <= 2.8  # HTTP dates have 1 s resolution
    finally:
        server.close()


# ----------------------------------------------------------------------------------------- 2: stop at once
INTERRUPTED_RUN = textwrap.dedent("""
    import sys
    from rmeval.llm import ChatRequest, GenerationCache, generate_cached
    from rmeval.llm.openai_compat import OpenAICompatBackend
    be = OpenAICompatBackend(model="judge-x", base_url=sys.argv[1], api_key_env=None, concurrency=4, timeout_s=float(sys.argv[4]),
                             max_retries=4, backoff_base_s=0.01, backoff_max_s=0.02)
    texts = [line.rstrip("\\n") for line in open(sys.argv[3])]
    reqs = [ChatRequest(key=f"r{i}", messages=[{"role": "user", "content": t}], max_tokens=8) for i, t in enumerate(texts)]
    generate_cached(be, reqs, GenerationCache(sys.argv[2]), progress=False)
""")


def run_until_interrupted(server, cache_path, texts, tmp_path, timeout_s=20.0):
    """Run the client in a subprocess, Ctrl-C it while 4 requests are in flight, then let those 4 answer."""
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n")
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED_RUN, server.url, str(cache_path), str(tmp_path / "texts.txt"), str(timeout_s)],
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while server.waiting < 4 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert server.waiting == 4, "the client never had 4 requests in flight"
    t_interrupt = time.time()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)  # nothing new may arrive while the in-flight requests hang
    server.release.set()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0, stderr
    return t_interrupt


def test_ctrl_c_sends_nothing_more_and_keeps_the_answers_in_flight(tmp_path):
    server = FaultServer(free_answers=10)
    try:
        cache_path = tmp_path / "gen.jsonl"
        texts = [f"question {i}" for i in range(60)]
        t_interrupt = run_until_interrupted(server, cache_path, texts, tmp_path)
        late = [c for t, c in server.arrivals if t > t_interrupt]
        assert late == []  # the old client sent every queued request after Ctrl-C
        assert sum(server.answered.values()) == 14
        assert len(GenerationCache(cache_path)) == 14  # 10 before the interrupt + the 4 that were in flight
    finally:
        server.close()


def test_an_error_while_keeping_an_answer_stops_the_run(tmp_path):
    server = FaultServer()
    try:
        class DiskFull(GenerationCache):
            def append(self, result):
                if len(self) >= 3:
                    raise OSError(28, "No space left on device")
                super().append(result)

        be = backend(server.url, concurrency=2)
        with pytest.raises(OSError, match="No space left"):
            generate_cached(be, [req(f"question {i}") for i in range(50)], DiskFull(tmp_path / "gen.jsonl"), progress=False)
        time.sleep(0.3)
        assert len(server.arrivals) <= 3 + 1 + 2  # kept, failed, and at most `concurrency` in flight
    finally:
        server.close()


# ----------------------------------------------------------------------------------------- 3: 401/403 stop the job
@pytest.mark.parametrize("status", ["401", "403"])
def test_auth_errors_stop_the_run_with_one_line(status, tmp_path, monkeypatch):
    monkeypatch.setenv("RMEVAL_TEST_KEY", SECRET)
    server = FaultServer(echo_secret=SECRET)
    try:
        be = backend(server.url, api_key_env="RMEVAL_TEST_KEY", concurrency=2)
        with pytest.raises(BackendAuthError) as info:
            generate_cached(be, [req(f"q{i} fault={status}:99") for i in range(30)], GenerationCache(tmp_path / "g.jsonl"), progress=False)
        message = str(info.value)
        assert "RMEVAL_TEST_KEY" in message and server.url in message and f"HTTP {status}" in message
        assert "\n" not in message and SECRET not in message
        assert len(server.arrivals) <= 2 + 2  # no retries, nothing submitted after the first refusal
    finally:
        server.close()


# ----------------------------------------------------------------------------------------- 4: each distinct request once
def test_identical_requests_are_sent_once():
    server = FaultServer()
    try:
        plan = [req("same question", key=f"k{i}") for i in range(5)] + [req("other", key="o1"), req("other", key="o2"),
                                                                         req("other", key="o3", seed=1)]
        results = generate_cached(backend(server.url), plan, None, progress=False)
        assert [r.key for r in results] == [r.key for r in plan]
        assert all(r.ok for r in results) and results[0].text == results[4].text
        assert server.calls == {"same question": 1, "other": 2}  # the seed makes o3 a distinct request
    finally:
        server.close()


# ----------------------------------------------------------------------------------------- 5: torn tail
def test_torn_last_line_is_repaired_before_appending(tmp_path):
    server = FaultServer()
    try:
        path = tmp_path / "gen.jsonl"
        be = backend(server.url)
        generate_cached(be, [req("a"), req("b")], GenerationCache(path), progress=False)
        whole = path.read_text()
        path.write_text(whole + whole.splitlines()[0][:40])  # a kill in the middle of a write
        cache = GenerationCache(path)
        assert cache.torn_lines == 1 and len(cache) == 2
        generate_cached(be, [req("a"), req("b"), req("c")], cache, progress=False)
        again = GenerationCache(path)
        assert again.torn_lines == 0 and len(again) == 3  # before the fix: "c" glued to the fragment, lost, warned forever
        assert server.calls["c"] == 1 and server.calls["a"] == 1
    finally:
        server.close()


def test_a_record_glued_to_a_fragment_is_recovered(tmp_path):
    server = FaultServer()
    try:
        path = tmp_path / "gen.jsonl"
        be = backend(server.url)
        generate_cached(be, [req("a"), req("b")], GenerationCache(path), progress=False)
        first, second = path.read_text().splitlines()
        path.write_text(first[:30] + second + "\n")  # what older versions wrote after a crash
        cache = GenerationCache(path)
        assert len(cache) == 1 and cache.recovered_lines == 1
        assert GenerationCache(path).torn_lines == 0
    finally:
        server.close()


# ----------------------------------------------------------------------------------------- 6: no key in results
def test_error_text_is_scrubbed_of_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("RMEVAL_TEST_KEY", SECRET)
    server = FaultServer(echo_secret=SECRET)
    try:
        path = tmp_path / "gen.jsonl"
        be = backend(server.url, api_key_env="RMEVAL_TEST_KEY")
        results = generate_cached(be, [req("q fault=400:9")], GenerationCache(path), progress=False, cache_errors=True)
        assert not results[0].ok and "400" in results[0].error
        assert SECRET not in results[0].error and "[redacted]" in results[0].error
        assert SECRET not in path.read_text() and "header" not in path.read_text().lower()
    finally:
        server.close()


@pytest.mark.parametrize("text", [
    f"Incorrect API key provided: {SECRET}", "Authorization: Bearer abc.def.ghi", '{"api_key": "hunter2hunter2"}',
    "token 0123456789abcdef0123456789abcdef01",
])
def test_scrub_secrets_golden(text):
    out = scrub_secrets(text)
    assert "[redacted]" in out and not any(s in out for s in (SECRET, "abc.def.ghi", "hunter2hunter2", "0123456789abcdef0123456789abcdef01"))


def test_scrub_secrets_keeps_ordinary_text():
    text = "verdict [[A]] for question 12: InternalServerError: Error code: 500 - {'error': {'message': '500'}}"
    assert scrub_secrets(text) == text


# ----------------------------------------------------------------------------------------- done when: the campaign
FAULTS = ["429:2", "500:1", "503:2", "reset:1", "slow:1", "garbage:1", "notchat:1", "500:1 ", "reset:2", "429:1"]


def test_fault_campaign_with_ctrl_c_loses_and_duplicates_nothing(tmp_path):
    """Mixed faults, repeated requests and a Ctrl-C mid-run, then a resume: every distinct request is answered exactly
    once over both runs, nothing is sent after the interrupt, the cache ends with one line per distinct request."""
    distinct = [f"question {i}" + (f" fault={FAULTS[i % len(FAULTS)]}" if i % 3 == 0 else "") for i in range(40)]
    plan = distinct + distinct[::4]  # 10 repeats of requests already in the plan
    server = FaultServer(retry_after="0.05", slow_s=3.5, free_answers=12)
    try:
        cache_path = tmp_path / "gen.jsonl"
        t_interrupt = run_until_interrupted(server, cache_path, plan, tmp_path, timeout_s=2.5)
        assert [c for t, c in server.arrivals if t > t_interrupt] == []
        first_run = len(GenerationCache(cache_path))
        assert 12 <= first_run < len(distinct)
        reqs = [ChatRequest(key=f"r{i}", messages=[{"role": "user", "content": t}], max_tokens=8) for i, t in enumerate(plan)]
        results = generate_cached(backend(server.url, timeout_s=0.3), reqs, GenerationCache(cache_path), progress=False)
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        assert [r.key for r in results] == [f"r{i}" for i in range(len(plan))]
        assert all(r.text == f"verdict [[A]] for {t[:60]}" for r, t in zip(results, plan))
        assert server.answered == {t: 1 for t in distinct}  # 0 lost, 0 duplicated, each distinct request once
        lines = cache_lines(cache_path)
        assert len(lines) == len({row["cache_key"] for row in lines}) == len(distinct)
    finally:
        server.close()


APPENDER = textwrap.dedent("""
    import sys, time
    from rmeval.llm.base import ChatResult
    from rmeval.llm.cache import GenerationCache
    path, writer, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    while time.time() < start:
        time.sleep(0.001)
    for i in range(150):
        cache = GenerationCache(path) if i % 25 == 0 else cache  # reopening checks (and would repair) the tail
        cache.append(ChatResult(key=f"{writer}{i}", text="x" * 5000, cache_key=f"{writer}-{i}"))
""")


def test_two_jobs_appending_to_one_generation_cache_lose_nothing(tmp_path):
    path = tmp_path / "gen.jsonl"
    path.write_text("")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), w, str(start)], env=env) for w in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    cache = GenerationCache(path)
    assert len(cache) == 300 and cache.torn_lines == 0


# ----------------------------------------------------------------------------------------- issue 25, item 2
class _InterruptWhileBuilt(dict):
    """A chat message that, while the client builds its request (after the stop checks of ``_one``), sends SIGINT to
    the main thread and waits until the run says it is stopping: the request would then leave after the interrupt."""

    def __init__(self, *args, **kw):
        import threading

        super().__init__(*args, **kw)
        self.tripped, self.stopping = False, threading.Event()

    def items(self):
        import threading

        if threading.current_thread() is not threading.main_thread() and not self.tripped:
            self.tripped = True
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C
            assert self.stopping.wait(10)  # the main thread took the KeyboardInterrupt and set the stop flag
        return super().items()


def test_a_request_built_before_ctrl_c_is_not_sent_after_it():
    """Issue 25, item 2: the old client checked the stop flag only before building a request, so a pool thread that
    passed that check sent its request after Ctrl-C; the check now runs in the HTTP client right before the send."""
    import logging

    trip = _InterruptWhileBuilt(role="user", content="tripwire")

    class Stopping(logging.Handler):
        def emit(self, record):
            if "stopping after KeyboardInterrupt" in record.getMessage():
                trip.stopping.set()

    handler, server = Stopping(), FaultServer()
    logging.getLogger("rmeval").addHandler(handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            backend(server.url, concurrency=1).generate([ChatRequest(key="t", messages=[trip], max_tokens=8)], progress=False)
        assert trip.tripped and server.calls["tripwire"] == 0
    finally:
        logging.getLogger("rmeval").removeHandler(handler)
        server.close()


# ----------------------------------------------------------------------------------------- issue 25, item 3
def test_transport_failures_are_not_results_and_a_rerun_sends_only_them(tmp_path):
    server = FaultServer(retry_after="0.01")
    try:
        path = tmp_path / "gen.jsonl"
        plan = [req(f"q{i}" + (" fault=503:2" if i % 3 == 0 else "")) for i in range(9)] + [req("q1", key="again")]
        be = backend(server.url, max_retries=1)
        with pytest.raises(RequestsFailedError, match=r"^openai: 3 of 9 request\(s\) failed after every retry \(first: InternalServerError"
                           ) as info:
            generate_cached(be, plan, GenerationCache(path), progress=False)
        assert "the 6 answered are cached, so a rerun sends only the failed ones" in str(info.value)
        assert len(GenerationCache(path)) == 6  # every answer kept, no failure stored as a result
        before = sum(server.calls.values())
        results = generate_cached(backend(server.url, max_retries=2), plan, GenerationCache(path), progress=False)
        assert all(r.ok for r in results)
        assert sum(server.calls.values()) - before == 3  # only the 3 failed ones, each answered at its next try
    finally:
        server.close()


def test_a_request_refused_for_good_stays_a_result():
    server = FaultServer()
    try:
        results = generate_cached(backend(server.url), [req("q fault=400:9"), req("ok")], None, progress=False)
        assert not results[0].ok and not results[0].transient and results[1].ok
    finally:
        server.close()


# ----------------------------------------------------------------------------------------- issue 25, item 5
def test_a_dead_endpoint_stops_after_a_few_refused_connections():
    """Issue 25, item 5: a closed port was retried in full for every request (here 20 × 7 attempts, backoff 0.2 s)."""
    url = closed_port_url()
    be = backend(url, concurrency=2, max_retries=6, backoff_base_s=0.2, backoff_max_s=0.2)
    start = time.time()
    with pytest.raises(EndpointUnreachableError) as info:
        generate_cached(be, [req(f"q{i}") for i in range(20)], None, progress=False)
    assert time.time() - start < 1.0
    message = str(info.value)
    assert "\n" not in message and url in message and "3 times in a row" in message and "max_connect_failures: 3" in message


def test_resets_from_a_live_server_do_not_count_as_a_dead_endpoint():
    server = FaultServer()
    try:
        results = generate_cached(backend(server.url, concurrency=1, max_retries=5, max_connect_failures=1),
                                  [req("q fault=reset:4")], None, progress=False)
        assert results[0].ok and results[0].attempts == 5
    finally:
        server.close()


# ----------------------------------------------------------------------------------------- issue 25, item 6
def test_a_key_echoed_in_a_completion_is_never_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("RMEVAL_TEST_KEY", SECRET)
    server = FaultServer(echo_secret=SECRET)
    try:
        path = tmp_path / "gen.jsonl"
        be = backend(server.url, api_key_env="RMEVAL_TEST_KEY")
        results = generate_cached(be, [req("q fault=echo:1")], GenerationCache(path), progress=False)
        assert results[0].ok and results[0].text.endswith("(your key is [redacted])")
        assert SECRET not in path.read_text() and "[redacted]" in path.read_text()
    finally:
        server.close()
