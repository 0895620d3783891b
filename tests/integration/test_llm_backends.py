"""LLM backends: the OpenAI-compatible client against a local fault-injecting server on 127.0.0.1 (429, 500,
timeouts, malformed JSON, a kill followed by a resume), and HF local generation on a tiny model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from helpers import ChatServer, chat_completion

from rmeval.llm import ChatRequest, GenerationCache, generate_cached
from rmeval.llm.cache import RequestsFailedError
from rmeval.llm.openai_compat import BackendConfigError, OpenAICompatBackend


class FaultServer(ChatServer):
    """Chat-completions server. A request whose last message contains 'fault=<kind>:<n>' fails n times with
    <kind> (429, 500, slow, badjson) before answering; every answer is 'verdict [[A]] for <content>'."""

    def __init__(self, delay_s: float = 0.0):
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()
        self.delay_s = delay_s
        super().__init__(self.respond)

    def respond(self, body: dict) -> tuple[int, bytes]:
        content = body["messages"][-1]["content"]
        with self.lock:
            self.calls[content] = self.calls.get(content, 0) + 1
            attempt = self.calls[content]
        if self.delay_s:
            time.sleep(self.delay_s)
        if "fault=" in content:
            kind, n = content.split("fault=")[1].split()[0].split(":")
            if attempt <= int(n):
                if kind == "slow":
                    time.sleep(2.0)
                elif kind == "badjson":
                    return 200, b"{not json at all"
                else:
                    return int(kind), json.dumps({"error": {"message": kind}}).encode()
        n = len(content.split())
        return 200, chat_completion(body["model"], f"verdict [[A]] for {content[:60]}", n, 3)


@pytest.fixture
def server():
    s = FaultServer()
    yield s
    s.close()


def backend(url, **kw):
    defaults = dict(model="judge-x", base_url=url, api_key_env=None, concurrency=4, max_retries=3,
                    backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=0.5)
    return OpenAICompatBackend(**{**defaults, **kw})


def req(i, text=None):
    return ChatRequest(key=f"r{i}", messages=[{"role": "user", "content": text or f"question {i}"}], max_tokens=8, seed=0)


def test_retries_on_429_500_timeout_and_malformed_json(server):
    requests = [req(0, "a fault=429:2"), req(1, "b fault=500:1"), req(2, "c fault=slow:1"), req(3, "d fault=badjson:1"), req(4)]
    results = generate_cached(backend(server.url), requests, cache=None, progress=False)
    assert [r.ok for r in results] == [True] * 5
    assert [r.attempts for r in results] == [3, 2, 2, 2, 1]
    assert results[0].text == "verdict [[A]] for a fault=429:2"
    assert results[4].prompt_tokens == 2 and results[4].completion_tokens == 3
    assert [r.key for r in results] == [f"r{i}" for i in range(5)]


def test_gives_up_after_bounded_retries_and_fails_without_caching(server, tmp_path):
    cache = GenerationCache(tmp_path / "gen.jsonl")
    be = backend(server.url, max_retries=2)
    with pytest.raises(RequestsFailedError, match=r"1 of 1 request\(s\) failed after every retry \(first: InternalServerError"):
        generate_cached(be, [req(0, "x fault=500:9")], cache, progress=False)
    assert len(cache) == 0  # failures are not cached: a rerun retries them
    assert server.calls["x fault=500:9"] == 3
    result = be.generate([req(0, "x fault=500:9")], progress=False)[0]
    assert not result.ok and result.transient and result.attempts == 3 and "InternalServerError" in result.error


def test_client_errors_are_not_retried(server):
    results = generate_cached(backend(server.url), [req(0, "y fault=400:5")], cache=None, progress=False)
    assert not results[0].ok and results[0].attempts == 1


def test_cache_reuses_and_keys_include_the_seed(server, tmp_path):
    cache = GenerationCache(tmp_path / "gen.jsonl")
    be = backend(server.url)
    generate_cached(be, [req(i) for i in range(3)], cache, progress=False)
    again = generate_cached(be, [req(i) for i in range(3)], GenerationCache(tmp_path / "gen.jsonl"), progress=False)
    assert all(server.calls[f"question {i}"] == 1 for i in range(3)) and all(r.ok for r in again)
    reseeded = ChatRequest(key="r0", messages=req(0).messages, max_tokens=8, seed=1)
    generate_cached(be, [reseeded], cache, progress=False)
    assert server.calls["question 0"] == 2


def test_missing_api_key_is_one_clear_line(server, monkeypatch):
    monkeypatch.delenv("RMEVAL_TEST_KEY", raising=False)
    with pytest.raises(BackendConfigError, match="RMEVAL_TEST_KEY is not set"):
        generate_cached(backend(server.url, api_key_env="RMEVAL_TEST_KEY"), [req(0)], cache=None, progress=False)


def test_api_key_never_reaches_the_cache_or_results(server, tmp_path, monkeypatch):
    monkeypatch.setenv("RMEVAL_TEST_KEY", "sk-secret-123")
    cache = GenerationCache(tmp_path / "gen.jsonl")
    be = backend(server.url, api_key_env="RMEVAL_TEST_KEY")
    generate_cached(be, [req(0)], cache, progress=False)
    assert "sk-secret-123" not in (tmp_path / "gen.jsonl").read_text()
    assert "sk-secret-123" not in json.dumps(be.fingerprint())


def test_kill_then_resume_loses_and_duplicates_nothing(tmp_path):
    server = FaultServer(delay_s=0.05)
    try:
        cache_path = tmp_path / "gen.jsonl"
        script = textwrap.dedent(f"""
            from rmeval.llm import ChatRequest, GenerationCache, generate_cached
            from rmeval.llm.openai_compat import OpenAICompatBackend
            be = OpenAICompatBackend(model="judge-x", base_url="{server.url}", api_key_env=None, concurrency=2, timeout_s=5)
            reqs = [ChatRequest(key=f"r{{i}}", messages=[{{"role": "user", "content": f"question {{i}}"}}], max_tokens=8) for i in range(60)]
            generate_cached(be, reqs, GenerationCache("{cache_path}"), progress=False)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.time() + 60
        while time.time() < deadline and (not cache_path.exists() or len(cache_path.read_text().splitlines()) < 10):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done_before = len(GenerationCache(cache_path))
        assert 10 <= done_before < 60
        calls_before = dict(server.calls)
        reqs = [req(i) for i in range(60)]
        results = generate_cached(backend(server.url, timeout_s=5), reqs, GenerationCache(cache_path), progress=False)
        assert all(r.ok for r in results) and [r.key for r in results] == [f"r{i}" for i in range(60)]
        final = GenerationCache(cache_path)
        assert len(final) == 60
        # nothing finished before the kill was asked again; lines on disk have no duplicate keys
        cached_before = {f"question {i}" for i in range(60)} - {c for c in server.calls if server.calls[c] > calls_before.get(c, 0)}
        assert len(cached_before) >= done_before
        keys = [json.loads(line)["cache_key"] for line in cache_path.read_text().splitlines() if line.strip().startswith("{")]
        assert len(keys) == len(set(keys)) == 60
    finally:
        server.close()


def test_hf_local_backend_greedy_batched_equals_single(tmp_path):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from rmeval.llm.hf_local import HFLocalBackend
    from rmeval.tiny import train_tokenizer

    tok = train_tokenizer(vocab_size=300, seed=0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "lm")
    tok.save_pretrained(tmp_path / "lm")
    be = HFLocalBackend(model=str(tmp_path / "lm"), batch_size=4, dtype="float32")
    reqs = [ChatRequest(key=f"k{i}", messages=[{"role": "user", "content": "hello " * (i + 1)}], max_tokens=6) for i in range(4)]
    batched = be.generate(reqs, progress=False)
    be.config.batch_size = 1
    single = be.generate(reqs, progress=False)
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(r.completion_tokens <= 6 and r.prompt_tokens > 0 for r in batched)
    sampled = [ChatRequest(key="s", messages=reqs[0].messages, max_tokens=6, temperature=1.0, seed=s) for s in (1, 1, 2)]
    out = be.generate(sampled, progress=False)
    assert out[0].text == out[1].text  # same seed, same sample, whatever else is generated


def test_vllm_backend_without_the_package_says_so(monkeypatch):
    import builtins

    from rmeval.llm.vllm_offline import VLLMBackend

    real_import = builtins.__import__

    def no_vllm(name, *args, **kwargs):
        if name == "vllm" or name.startswith("vllm."):
            raise ImportError("no vllm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_vllm)
    with pytest.raises(BackendConfigError, match="vllm package is not installed"):
        VLLMBackend(model="x").llm()
