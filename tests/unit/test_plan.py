"""The cost plan (rmeval.cost): requests counted as the judge sends them (both orders, samples, dedup), cache hits
and submitted batches left out, tokens and prices as stated, and the price block validated like every setting."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rmeval.config import ConfigError, compose_rm
from rmeval.cost import (CHARS_PER_TOKEN, EXPECTED_OUTPUT_TOKENS, TOKENS_PER_MESSAGE, TOKENS_PER_REPLY, judge_requests,
                         plan_frame, plan_judge, plan_markdown, plan_pointwise)
from rmeval.llm import GenerationCache
from rmeval.llm.base import ChatResult
from rmeval.llm.openai_compat import OpenAICompatBackend
from rmeval.llm.pricing import PriceConfig
from rmeval.rms.judge import PairwiseJudgeRM

PRICE = {"input_per_mtok": 5.0, "output_per_mtok": 15.0, "batch_discount": 0.5, "read_on": "2026-12-06"}


def tiny_benchmark():
    conv = [{"role": "user", "content": "Name a prime."}]
    texts = pd.DataFrame({"text_id": ["c", "r1", "r2"], "prompt_id": "p", "conversation": [conv] * 3,
                          "response": ["Seven is prime.", "Eight.", "Nine, I think"]})
    items = pd.DataFrame({"item_id": ["pair", "bon"], "chosen_id": ["c", "c"], "rejected_ids": [["r1"], ["r1", "r2"]],
                          "chosen_positions": [["A"], ["A", "B"]]})
    return items, texts


def judge(**kw):
    backend = {"_target_": "rmeval.llm.openai_compat.OpenAICompatBackend", "name": "j", "model": "m", "api_key_env": None,
               "concurrency": 2, "price": PRICE}
    return PairwiseJudgeRM(name="j", backend=OpenAICompatBackend(**{k: v for k, v in backend.items() if k != "_target_"}),
                           max_tokens=100, **kw), {"name": "j", "backend": backend}


def test_requests_are_the_judges_own_and_deduplicated(tmp_path):
    items, texts = tiny_benchmark()
    one, cfg = judge()
    assert len(judge_requests(one, items, texts)) == 3  # one pair + a best-of-3 (2 losers)
    both, _ = judge(both_orders=True, samples=2, temperature=0.7)
    assert len(judge_requests(both, items, texts)) == 3 * 2 * 2
    row = plan_judge("b", cfg, one, items, texts, tmp_path / "none.jsonl")
    # (item "pair", loser r1, A) and (item "bon", loser r1, A) are the same request: sent once
    assert (row["requests"], row["distinct"], row["to_send"], row["cached"]) == (3, 2, 2, 0)
    sent = judge_requests(one, items, texts)[1:]
    chars = sum(len(m["content"]) for r in sent for m in r.messages)
    assert row["input_tokens"] == -(-chars // CHARS_PER_TOKEN) + 2 * (TOKENS_PER_MESSAGE + TOKENS_PER_REPLY)
    assert row["output_tokens_max"] == 200 and row["output_tokens_expected"] == 200  # min(expected 200, max_tokens 100) x 2
    assert row["cost_online_usd"] == pytest.approx((row["input_tokens"] * 5 + 200 * 15) / 1e6)
    assert row["cost_batch_usd"] == pytest.approx(row["cost_online_usd"] / 2)


def test_cache_hits_and_submitted_batches_are_not_sent_again(tmp_path):
    items, texts = tiny_benchmark()
    one, cfg = judge()
    requests = judge_requests(one, items, texts)
    fp = one.backend.fingerprint()
    cache_path = tmp_path / "gen.jsonl"
    cache = GenerationCache(cache_path)
    cache.append(ChatResult(key="x", text="[[A]]", completion_tokens=7, cache_key=requests[0].cache_key(fp)))
    journal = tmp_path / "gen.batches.jsonl"
    journal.write_text(json.dumps({"event": "submitting", "ref": "r", "round": 0, "ids": [requests[2].cache_key(fp)]}) + "\n"
                       + json.dumps({"event": "submitted", "ref": "r", "batch_id": "batch_1"}) + "\n")
    row = plan_judge("b", cfg, one, items, texts, cache_path)
    assert (row["distinct"], row["cached"], row["in_batches"], row["to_send"]) == (2, 1, 1, 0)
    assert row["input_tokens"] == 0 and row["cost_online_usd"] == 0


def test_price_arithmetic_and_missing_batch_price():
    price = PriceConfig(input_per_mtok=3.0, output_per_mtok=15.0, batch_discount=0.5, read_on="2026-12-06")
    assert price.cost(1_000_000, 100_000) == pytest.approx(4.5)
    assert price.cost(1_000_000, 100_000, batch=True) == pytest.approx(2.25)
    assert PriceConfig(input_per_mtok=1.0, output_per_mtok=1.0, read_on="2026-12-06").cost(10, 10, batch=True) is None


def test_markdown_states_the_estimate_and_totals(tmp_path):
    items, texts = tiny_benchmark()
    one, cfg = judge()
    rows = [plan_judge("b", cfg, one, items, texts, tmp_path / "g.jsonl"),
            plan_pointwise("b", {"name": "rm", "model": "org/not-local", "resources": {"tokens_per_s": 1000.0}}, texts),
            plan_pointwise("b", {"name": "length"}, texts)]
    md = plan_markdown(plan_frame(rows))
    assert f"{CHARS_PER_TOKEN:g} characters per token" in md and f"expected {EXPECTED_OUTPUT_TOKENS}" in md
    assert "Total, API judges:" in md and "2026-12-06" in md
    assert "| b | rm | local RM | 3 |" in md and "| b | length | no model |" in md
    assert rows[1]["gpu_hours"] == pytest.approx(rows[1]["input_tokens"] / 1000 / 3600)


@pytest.mark.parametrize("override,field", [("++rm.backend.price.per_token=1", "per_token"),
                                            ("rm.backend.price.read_on=yesterday", "read_on"),
                                            ("rm.backend.mode=later", "mode")])
def test_price_and_mode_are_validated(override, field):
    with pytest.raises(ConfigError, match=field):
        compose_rm("gpt4o-judge", [override])


def test_every_api_judge_yaml_composes_with_its_price():
    for name in ("gpt4o-judge", "claude-3.5-sonnet-judge", "gemini-1.5-pro-judge", "mistral-large-judge"):
        price = compose_rm(name).rm.backend.price
        assert price.input_per_mtok > 0 and price.read_on


def test_shards_usage_adds_up_and_an_unpriced_shard_leaves_the_cost_unknown():
    from rmeval.cost import merged_usage

    a = {"requests": 3, "answered": {"online": 1, "batch": 2}, "input_tokens": 300, "output_tokens": 30,
         "cost_usd": 0.5, "price_read_on": "2026-12-06", "estimated_input_tokens": 310}
    b = {**a, "requests": 2, "answered": {"online": 2, "batch": 0}, "input_tokens": 100, "cost_usd": 0.25}
    both = merged_usage([a, None, b])
    assert both["requests"] == 5 and both["answered"] == {"online": 3, "batch": 2}
    assert both["input_tokens"] == 400 and both["cost_usd"] == 0.75 and both["estimated_input_tokens"] == 620
    assert merged_usage([a, {**b, "cost_usd": None}])["cost_usd"] is None
    assert merged_usage([None, None]) is None
