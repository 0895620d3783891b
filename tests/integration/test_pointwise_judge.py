"""The construction judge: strict JSON parsing goldens, retries with a new seed per attempt (batched by attempt),
invalid judgments kept, cost accounting, the OpenAI-compatible path against the local fault-injecting server,
and expected-value scoring on a tiny causal LM (deterministic, independent of the batch)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from test_llm_backends import FaultServer

from rmeval.construct.pointwise_judge import (
    JUDGMENT_COLUMNS,
    SCORE_PREFIX,
    PointwiseJudge,
    load_judge_template,
    parse_judgment,
    score_token_ids,
    summary,
)
from rmeval.llm.base import ChatBackend, ChatResult
from rmeval.llm.cache import GenerationCache
from rmeval.llm.openai_compat import OpenAICompatBackend

GOOD = '{"key_features": ["answers the question", "is correct"], "score": 4.5}'


# ------------------------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize("text,score,features", [
    (GOOD, 4.5, ["answers the question", "is correct"]),
    ('Key features first.\n```json\n{"key_features": ["safe"], "score": 2}\n```', 2.0, ["safe"]),
    ('{"key_features": ["a"], "score": 3} and some trailing words {not json}', 3.0, ["a"]),
    ('{"key_features": ["a"], "score": 1} then {"key_features": ["b"], "score": 5}', 5.0, ["b"]),
    ('{"key_features": ["a", "b"], "score": 4.5}', 4.5, ["a", "b"]),
    ('{"key_features": "one feature", "score": 1.5}', 1.5, ["one feature"]),
    ('{"key_features": [], "score": 5.0}', 5.0, []),
    ('{"score": 3, "key_features": ["nested {braces} in a string"], "extra": {"k": 1}}', 3.0, ["nested {braces} in a string"]),
])
def test_parse_judgment_valid(text, score, features):
    assert parse_judgment(text) == (score, features, None)


@pytest.mark.parametrize("text,error", [
    ('{"key_features": ["a"], "score": 4.3}', "score not a 0.5 step"),
    ('{"key_features": ["a"], "score": 0}', "score out of range"),
    ('{"key_features": ["a"], "score": 6}', "score out of range"),
    ('{"key_features": ["a"], "score": "4"}', "score not a number"),
    ('{"key_features": ["a"], "score": true}', "score not a number"),
    ('{"key_features": ["a"], "score": NaN}', "score out of range"),
    ('{"key_features": ["a"]}', "missing score"),
    ('{"score": 4}', "missing key_features"),  # decided: key features are required (they come before the score)
    ('{"key_features": [1, 2], "score": 4}', "key_features not a list of strings"),
    ('{"key_features": ["a"], "score": 4} and then {"note": "last object wins"}', "missing score"),
    ("verdict [[A]] for something", "not JSON"),
    ('{"key_features": ["a"], "score": 4', "not JSON"),
    ("", "empty output"),
    (None, "empty output"),
])
def test_parse_judgment_invalid(text, error):
    score, features, err = parse_judgment(text)
    assert score is None and features is None
    assert err.startswith(error) and "\n" not in err


# ------------------------------------------------------------------------------------------------ fakes
class SeedJudge(ChatBackend):
    """Answers by request seed: seeds listed in ``bad_seeds`` get prose, the others valid JSON; records each batch."""

    name = "seedjudge"

    def __init__(self, bad_seeds=(0,), prompt_tokens=100, completion_tokens=50):
        self.bad_seeds, self.pt, self.ct = set(bad_seeds), prompt_tokens, completion_tokens
        self.batches: list[list[tuple[str, int]]] = []

    def fingerprint(self):
        return {"backend": "seedjudge", "bad": sorted(self.bad_seeds)}

    def generate(self, requests, progress=True, on_result=None):
        self.batches.append([(r.key, r.seed) for r in requests])
        out = []
        for i, r in enumerate(requests):
            text = f"I think it is good (seed {r.seed})" if r.seed in self.bad_seeds else \
                f'Features first.\n{{"key_features": ["k{r.seed}"], "score": {1 + r.seed % 9 / 2}}}'
            res = ChatResult(key=r.key, text=text, prompt_tokens=self.pt, completion_tokens=self.ct)
            if on_result:
                on_result(i, res)
            out.append(res)
        return out


def rows(n=3, goal="Helpfulness"):
    return pd.DataFrame({
        "text_id": [f"t{i}" for i in range(n)],
        "conversation": [[{"role": "user", "content": f"question {i} " + "more words " * i}] for i in range(n)],
        "response": [f"answer {i} " * (i + 1) for i in range(n)],
        "goal": [goal if i % 2 == 0 else "Harmlessness" for i in range(n)],
    })


# ------------------------------------------------------------------------------------------------ generate mode
def test_default_template_has_the_placeholders_and_renders():
    _, path = load_judge_template(None)
    assert path.name == "pointwise_judge_v1.txt" and path.parent.name == "templates"
    judge = PointwiseJudge(name="j", backend=SeedJudge())
    prompt = judge.prompt([{"role": "user", "content": "hi {there}"}], "resp {x}", "harmlessness")
    assert "User: hi {there}" in prompt and "resp {x}" in prompt and "harmlessness" in prompt
    assert '{"key_features": [' in prompt and "{goal}" not in prompt


def test_retry_with_a_new_seed_gives_a_valid_judgment_after_two_attempts(tmp_path):
    backend = SeedJudge(bad_seeds={0})
    judge = PointwiseJudge(name="fake", backend=backend, max_attempts=3, seed=0)
    cache = GenerationCache(tmp_path / "gen.jsonl")
    df = judge.judge(rows(4), cache=cache, progress=False)
    assert list(df.columns) == JUDGMENT_COLUMNS and list(df["text_id"]) == ["t0", "t1", "t2", "t3"]
    assert df["valid"].all() and (df["attempts"] == 2).all() and df["error"].isna().all()
    assert (df["score"] == 1.5).all() and json.loads(df["key_features"][0]) == ["k1"]
    assert df["raw"][0].startswith("Features first.")
    # all first attempts in one batch (seed 0), then all second attempts (seed 1)
    assert [sorted({s for _, s in b}) for b in backend.batches] == [[0], [1]]
    assert [len(b) for b in backend.batches] == [4, 4]
    # a rerun on the same cache asks the backend nothing
    again = judge.judge(rows(4), cache=GenerationCache(tmp_path / "gen.jsonl"), progress=False)
    assert len(backend.batches) == 2
    pd.testing.assert_frame_equal(df, again)


def test_all_attempts_bad_is_kept_invalid_with_raw_text_and_counted():
    backend = SeedJudge(bad_seeds={5, 6, 7})
    judge = PointwiseJudge(name="fake", backend=backend, max_attempts=3, seed=5)
    df = judge.judge(rows(3), progress=False)
    assert len(df) == 3 and not df["valid"].any() and df["score"].isna().all()
    assert (df["attempts"] == 3).all() and df["key_features"].isna().all()
    assert df["raw"][0] == "I think it is good (seed 7)"  # the last attempt's raw output
    assert df["error"].str.startswith("not JSON").all()
    assert [sorted({s for _, s in b}) for b in backend.batches] == [[5], [6], [7]]
    s = judge.summary(df)
    assert s["valid"] == 0 and s["invalid"] == 3 and s["attempts"] == {"3": 3} and s["invalid_reasons"] == {"not JSON": 3}


def test_cost_accounting_sums_every_attempt():
    backend = SeedJudge(bad_seeds={0}, prompt_tokens=1000, completion_tokens=200)
    judge = PointwiseJudge(name="fake", backend=backend, max_attempts=3, price_per_1k_prompt=0.005, price_per_1k_completion=0.015)
    df = judge.judge(rows(2), progress=False)
    assert (df["prompt_tokens"] == 2000).all() and (df["completion_tokens"] == 400).all()
    assert np.allclose(df["cost_usd"], 2 * (1.0 * 0.005 + 0.2 * 0.015))
    s = summary(df)
    assert s["prompt_tokens"] == 4000 and s["completion_tokens"] == 800
    assert math.isclose(s["cost_usd"], 4 * 0.008) and s["attempts"] == {"2": 2} and s["scores"] == {"1.5": 2}
    json.dumps(s)  # the stage writes it as JSON


def test_bad_inputs_are_one_clear_line():
    judge = PointwiseJudge(name="fake", backend=SeedJudge())
    with pytest.raises(KeyError, match="lack column"):
        judge.judge(rows(2).drop(columns="goal"), progress=False)
    with pytest.raises(ValueError, match="text t0: field 'goal'"):
        judge.judge(rows(2, goal="Honesty"), progress=False)
    with pytest.raises(ValueError, match="expected_value needs rmeval.llm.hf_local.HFLocalBackend"):
        PointwiseJudge(name="fake", backend=SeedJudge(), mode="expected_value")
    with pytest.raises(ValueError, match="mode"):
        PointwiseJudge(name="fake", backend=SeedJudge(), mode="sample")
    with pytest.raises(FileNotFoundError, match="not found"):
        PointwiseJudge(name="fake", backend=SeedJudge(), template="no_such_template")


def test_openai_compatible_judge_against_the_fault_server(tmp_path):
    server = FaultServer()
    try:
        backend = OpenAICompatBackend(model="judge-x", base_url=server.url, api_key_env=None, concurrency=4, max_retries=3,
                                      backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5)
        judge = PointwiseJudge(name="server", backend=backend, max_attempts=3, price_per_1k_completion=1.0)
        data = rows(3)
        data.loc[1, "response"] = "an answer that trips fault=500:1 once"
        df = judge.judge(data, cache=GenerationCache(tmp_path / "gen.jsonl"), progress=False)
        assert len(df) == 3 and not df["valid"].any()
        assert (df["attempts"] == 3).all() and df["error"].str.startswith("not JSON").all()
        assert df["raw"].str.startswith("verdict [[A]] for ").all()
        assert (df["completion_tokens"] == 9).all() and np.allclose(df["cost_usd"], 0.009)
        calls = sorted(server.calls.values())  # one prompt per text; the server counts calls per prompt
        assert calls == [3, 3, 4]  # three judge attempts each (new seed), plus one 500 retried inside the backend
    finally:
        server.close()


# ------------------------------------------------------------------------------------------------ expected value
@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from rmeval.rms.tiny_lm import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("judge") / "tiny-lm", seed=3)


def test_score_digits_are_single_tokens_after_the_prefix(tiny_lm):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_lm)
    ids = score_token_ids(tok, "<|assistant|>" + SCORE_PREFIX)
    assert tok.convert_ids_to_tokens(ids) == ["1", "2", "3", "4", "5"]

    def words(text, add_special_tokens=False):  # a tokenizer that glues a digit onto the preceding word
        return {"input_ids": [hash(w) for w in text.split()]}

    with pytest.raises(ValueError, match="not one separate token"):
        score_token_ids(words, '"score":')


def test_expected_value_mode_is_deterministic_and_batch_independent(tiny_lm, tmp_path):
    from rmeval.llm.hf_local import HFLocalBackend

    data = rows(5)
    judge = PointwiseJudge(name="tiny-ev", backend=HFLocalBackend(model=str(tiny_lm), dtype="float32", device="cpu", batch_size=4),
                           mode="expected_value", price_per_1k_prompt=1.0)
    batched = judge.judge(data, progress=False)
    assert list(batched.columns) == [*JUDGMENT_COLUMNS, "expected_score"]
    assert batched["valid"].all() and batched["key_features"].isna().all() and (batched["attempts"] == 1).all()
    assert batched["expected_score"].between(1, 5).all() and batched["score"].between(1, 5).all()
    assert ((batched["score"] * 2) % 1 == 0).all()
    assert np.allclose(batched["score"], np.floor(batched["expected_score"] * 2 + 0.5) / 2)
    assert batched["expected_score"].nunique() > 1  # the texts differ, so do their score distributions
    p = json.loads(batched["raw"][0])["p"]
    assert set(p) == {"1", "2", "3", "4", "5"} and 0 < sum(p.values()) <= 1
    assert (batched["prompt_tokens"] > 0).all() and (batched["completion_tokens"] == 0).all()
    assert np.allclose(batched["cost_usd"], batched["prompt_tokens"] / 1000)

    judge.backend.config.batch_size = 1
    single = judge.judge(data, progress=False)
    assert np.abs(single["expected_score"] - batched["expected_score"]).max() < 1e-5
    assert list(single["score"]) == list(batched["score"])
    again = judge.judge(data, progress=False)
    assert list(again["expected_score"]) == list(single["expected_score"])

    cache_path = tmp_path / "ev.jsonl"
    first = judge.judge(data, cache=GenerationCache(cache_path), progress=False)
    lines = cache_path.read_text().splitlines()
    assert len(lines) == 5
    class NoForward:
        device = judge.backend.model.device

        def __call__(self, *args, **kwargs):
            raise AssertionError("a cached rerun ran the model")

    judge.backend.model = NoForward()
    from_cache = judge.judge(data, cache=GenerationCache(cache_path), progress=False)
    assert cache_path.read_text().splitlines() == lines
    pd.testing.assert_frame_equal(first, from_cache)
