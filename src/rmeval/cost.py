"""The bill before the run, and after it: what each RM of a run will send and cost, and what a judge's run did cost.

**Plan** (``plan_rm``; the ``plan`` target writes it for every RM x benchmark, no API call, no model load). For a
pairwise judge, the requests are the judge's own (``PairwiseJudgeRM.plan``: one per (item, loser), doubled by
``both_orders``, times ``samples``), deduplicated by generation-cache key as ``generate_cached`` does; requests whose
answer is in the generation cache, or that sit in a batch already submitted (``rmeval.llm.batch``'s journal), are
not sent again. Input tokens are counted with the judge's tokenizer where its model is a local folder, else
estimated at ``CHARS_PER_TOKEN`` characters per token plus OpenAI's chat overhead (3 tokens per message, 3 for the
reply); output tokens are bounded by ``max_tokens`` and expected at ``EXPECTED_OUTPUT_TOKENS`` per request (a short
explanation and the verdict), or at the mean of the answers already cached once ``MEASURED_FROM`` are. Cost is at
the backend YAML's ``price`` (online, and at its batch discount); wall time online is bounded by ``concurrency``
requests in flight at ``ONLINE_LATENCY_S`` each and by the YAML's rate limits, in batch mode by the provider's 24 h
window. A local model (a served judge, a scoring RM) gets its texts, tokens and GPU-hours at the YAML's measured
``resources.tokens_per_s`` (else "unknown").

**Actual cost** (``usage_report``): the token usage the provider returned for a judge's distinct requests (read from
the generation cache, so a rerun reports what the answers cost when they were bought), priced at the YAML's price,
at the batch discount for answers that came from a batch, next to the plan's estimate for the same requests.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rmeval.llm.base import ChatRequest
from rmeval.llm.batch import Journal
from rmeval.llm.cache import GenerationCache
from rmeval.llm.pricing import PriceConfig, node

CHARS_PER_TOKEN = 4.0
TOKENS_PER_MESSAGE, TOKENS_PER_REPLY = 3, 3
EXPECTED_OUTPUT_TOKENS = 200
MEASURED_FROM = 20
ONLINE_LATENCY_S = 5.0
LOCAL_HOSTS = ("127.0.0.1", "localhost", "0.0.0.0", "[::1]")

COLUMNS = ["benchmark", "rm", "kind", "mode", "requests", "distinct", "cached", "in_batches", "to_send", "input_tokens",
           "output_tokens_max", "output_tokens_expected", "counted_with", "price_read_on", "cost_online_usd",
           "cost_batch_usd", "cost_online_max_usd", "cost_batch_max_usd", "wall_time_h", "gpu_hours", "note"]


def judge_requests(judge, items: pd.DataFrame, texts: pd.DataFrame) -> list[ChatRequest]:
    """Every request ``judge.compare`` sends for these items (its own plan, each sample with its seed)."""
    _, requests = judge.plan(items, texts)
    if judge.samples == 1:
        return requests
    return [dataclasses.replace(r, key=f"{r.key}/s{j}", seed=s) for r in requests for j, s in enumerate(judge.sample_seeds())]


class TokenCounter:
    """Input tokens of chat requests: a local tokenizer's count, else characters / ``CHARS_PER_TOKEN``; both plus
    the chat overhead."""

    def __init__(self, tokenizer_path: str | None = None):
        self.tokenizer, self.source = None, f"{CHARS_PER_TOKEN:g} chars/token"
        if tokenizer_path and Path(tokenizer_path).is_dir():
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
            self.source = f"tokenizer {tokenizer_path}"

    def texts(self, texts: Sequence[str]) -> int:
        if self.tokenizer is None:
            return math.ceil(sum(len(t) for t in texts) / CHARS_PER_TOKEN)
        return sum(len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"])

    def requests(self, requests: Sequence[ChatRequest]) -> int:
        contents = [m.get("content") or "" for r in requests for m in r.messages]
        return self.texts(contents) + TOKENS_PER_MESSAGE * len(contents) + TOKENS_PER_REPLY * len(requests)


def _get(cfg: Any, key: str, default: Any = None) -> Any:
    return (cfg.get(key, default) if hasattr(cfg, "get") else getattr(cfg, key, default)) if cfg is not None else default


def is_paid_api(rm_cfg: Any) -> bool:
    """A judge behind a remote API (not a server the job starts, not a local backend)."""
    backend = _get(rm_cfg, "backend")
    url = str(_get(backend, "base_url") or "https://api.openai.com/v1")
    return (backend is not None and "openai_compat" in str(_get(backend, "_target_")) and _get(rm_cfg, "server") is None
            and not any(host in url for host in LOCAL_HOSTS))


def _wall_time_h(n: int, input_tokens: int, expected_out: int, backend: Any) -> float:
    concurrency = int(_get(backend, "concurrency", 1) or 1)
    limits = _get(backend, "limits") or {}
    minutes = n * ONLINE_LATENCY_S / concurrency / 60
    if _get(limits, "requests_per_min"):
        minutes = max(minutes, n / float(_get(limits, "requests_per_min")))
    if _get(limits, "tokens_per_min"):
        minutes = max(minutes, (input_tokens + expected_out) / float(_get(limits, "tokens_per_min")))
    return minutes / 60


def plan_judge(benchmark: str, rm_cfg: Any, judge, items: pd.DataFrame, texts: pd.DataFrame, cache_path: Path) -> dict:
    """One plan row for a pairwise judge (module docstring)."""
    requests = judge_requests(judge, items, texts)
    fp = judge.backend.fingerprint()
    first: dict[str, ChatRequest] = {}
    for r in requests:
        first.setdefault(r.cache_key(fp), r)
    cache = GenerationCache(cache_path) if Path(cache_path).exists() else None
    cached = [k for k in first if cache is not None and k in cache]
    journal = Journal(Path(str(cache_path).removesuffix(".jsonl") + ".batches.jsonl"))
    pending = {cid for bid, b in journal.batches.items() if bid not in journal.ended for cid in b["ids"]}
    in_batches = [k for k in first if k in pending and k not in cached]
    send = [r for k, r in first.items() if k not in pending and (cache is None or k not in cache)]
    backend = _get(rm_cfg, "backend")
    local = None if is_paid_api(rm_cfg) else (_get(backend, "model") if "hf_local" in str(_get(backend, "_target_")) else None)
    counter = TokenCounter(local)
    input_tokens = counter.requests(send)
    measured = [cache.get(k, k).completion_tokens for k in cached] if cache is not None else []
    per = (sum(measured) / len(measured)) if len(measured) >= MEASURED_FROM and any(measured) else EXPECTED_OUTPUT_TOKENS
    out_max = sum(r.max_tokens for r in send)
    out_expected = round(sum(min(per, r.max_tokens) for r in send))
    row = {"benchmark": benchmark, "rm": judge.name, "kind": "api judge" if is_paid_api(rm_cfg) else "local judge",
           "mode": str(_get(backend, "mode", "online")), "requests": len(requests), "distinct": len(first),
           "cached": len(cached), "in_batches": len(in_batches), "to_send": len(send), "input_tokens": input_tokens,
           "output_tokens_max": out_max, "output_tokens_expected": out_expected, "counted_with": counter.source,
           "note": f"expected output: {'mean of ' + str(len(measured)) + ' cached answers' if per != EXPECTED_OUTPUT_TOKENS else str(EXPECTED_OUTPUT_TOKENS) + ' tokens per request'}"}
    if row["kind"] == "api judge":
        price = node(PriceConfig, _get(backend, "price"), f"rm {judge.name}: backend.price")
        row.update(_priced(price, input_tokens, out_expected, out_max))
        row["wall_time_h"] = _wall_time_h(len(send), input_tokens, out_expected, backend)
        if row["mode"] == "batch":
            row["note"] += "; batch: results within the provider's 24 h window (usually much sooner)"
    else:
        row.update(_gpu(rm_cfg, input_tokens + out_expected))
    return row


def _priced(price: PriceConfig | None, input_tokens: int, out_expected: int, out_max: int) -> dict:
    if price is None:
        return {"note": "no price: add a price block to the backend YAML"}
    return {"price_read_on": price.read_on, "cost_online_usd": price.cost(input_tokens, out_expected),
            "cost_batch_usd": price.cost(input_tokens, out_expected, batch=True),
            "cost_online_max_usd": price.cost(input_tokens, out_max), "cost_batch_max_usd": price.cost(input_tokens, out_max, batch=True)}


def _gpu(rm_cfg: Any, tokens: int) -> dict:
    rate = _get(_get(rm_cfg, "resources") or {}, "tokens_per_s")
    return {"gpu_hours": tokens / float(rate) / 3600 if rate else None}


def plan_pointwise(benchmark: str, rm_cfg: Any, texts: pd.DataFrame) -> dict:
    """One plan row for an RM that scores each unique text once (a local model, a baseline or an ensemble)."""
    from rmeval.rms.judge import render_conversation

    unique = texts.drop_duplicates("text_id")
    model = _get(rm_cfg, "model")
    row = {"benchmark": benchmark, "rm": str(_get(rm_cfg, "name")), "mode": "local", "requests": len(unique),
           "distinct": len(unique), "to_send": len(unique)}
    if model is None:
        return {**row, "kind": "no model", "note": "model-free, a combination of other RMs, or not runnable: no cost"}
    local = _get(rm_cfg, "tokenizer") or model
    counter = TokenCounter(str(local) if Path(str(local)).is_dir() else None)
    tokens = counter.texts([render_conversation(list(c)) + "\n\n" + r for c, r in zip(unique["conversation"], unique["response"])])
    return {**row, "kind": "local RM", "input_tokens": tokens, "counted_with": counter.source, **_gpu(rm_cfg, tokens)}


def plan_frame(rows: Sequence[dict]) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=COLUMNS)


def _money(x: Any) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"${x:,.2f}"


def _num(x: Any, fmt: str = "{:,.0f}") -> str:
    return "–" if x is None or pd.isna(x) else fmt.format(x)


def plan_markdown(frame: pd.DataFrame) -> str:
    """The plan as a markdown page: API judges (requests, tokens, cost online and in batch, wall time), then local models."""
    api = frame[frame["kind"] == "api judge"]
    local = frame[frame["kind"] != "api judge"]
    lines = ["# Cost plan", "",
             f"Tokens: the judge's tokenizer where its model is a local folder, else {CHARS_PER_TOKEN:g} characters per token "
             f"plus {TOKENS_PER_MESSAGE} per message and {TOKENS_PER_REPLY} per reply. Output: at most max_tokens per request; "
             f"expected {EXPECTED_OUTPUT_TOKENS} per request (a short explanation and the verdict) unless {MEASURED_FROM} or more "
             f"answers are cached (then their mean). Online wall time: concurrency requests in flight at {ONLINE_LATENCY_S:g} s "
             "each, bounded by the YAML's rate limits. Requests already in the generation cache or in a submitted batch are "
             "not sent again. Prices: each backend YAML's price block (read on the date shown).", ""]
    if len(api):
        lines += ["## API judges", "",
                  "| benchmark | judge | mode | requests | to send | cached | in batches | input tokens | output tokens (expected / max) "
                  "| online (expected / max) | batch (expected / max) | price read on | online wall time |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
        for r in api.itertuples(index=False):
            lines.append(f"| {r.benchmark} | {r.rm} | {r.mode} | {_num(r.requests)} | {_num(r.to_send)} | {_num(r.cached)} | {_num(r.in_batches)} | "
                         f"{_num(r.input_tokens)} | {_num(r.output_tokens_expected)} / {_num(r.output_tokens_max)} | "
                         f"{_money(r.cost_online_usd)} / {_money(r.cost_online_max_usd)} | {_money(r.cost_batch_usd)} / "
                         f"{_money(r.cost_batch_max_usd)} | {r.price_read_on or 'no price'} | {_num(r.wall_time_h, '{:.1f} h')} |")
        totals = api[["cost_online_usd", "cost_batch_usd", "cost_online_max_usd", "cost_batch_max_usd"]].sum(min_count=1)
        lines += ["", f"Total, API judges: {_money(totals['cost_online_usd'])} online, {_money(totals['cost_batch_usd'])} with "
                  f"batch pricing (at most {_money(totals['cost_online_max_usd'])} / {_money(totals['cost_batch_max_usd'])} if "
                  "every answer used max_tokens).", ""]
    if len(local):
        lines += ["## Local models", "", "| benchmark | RM | kind | texts or requests | tokens | counted with | GPU-hours |",
                  "|---|---|---|---:|---:|---|---:|"]
        for r in local.itertuples(index=False):
            tokens = None if pd.isna(r.input_tokens) else r.input_tokens + (0 if pd.isna(r.output_tokens_expected) else r.output_tokens_expected)
            gpu = "unknown (no resources.tokens_per_s)" if r.kind != "no model" and pd.isna(r.gpu_hours) else _num(r.gpu_hours, "{:.2f}")
            lines.append(f"| {r.benchmark} | {r.rm} | {r.kind} | {_num(r.to_send)} | {_num(tokens)} | {r.counted_with or '–'} | {gpu} |")
    return "\n".join(lines) + "\n"


def usage_report(judge, requests: Sequence[ChatRequest], cache: GenerationCache, price: Any) -> dict:
    """The provider's token usage for the judge's distinct requests (from the cache) and its cost, next to the plan's
    estimate of the same requests' input tokens."""
    fp = judge.backend.fingerprint()
    first = {r.cache_key(fp): r for r in requests}
    usage = {"online": [0, 0, 0], "batch": [0, 0, 0]}  # requests, input tokens, output tokens
    for key in first:
        if key in cache:
            res = cache.get(key, key)
            mode = "batch" if (res.extra or {}).get("mode") == "batch" else "online"
            usage[mode] = [usage[mode][0] + 1, usage[mode][1] + res.prompt_tokens, usage[mode][2] + res.completion_tokens]
    price = node(PriceConfig, price, f"rm {judge.name}: backend.price")
    cost = None
    if price is not None:
        parts = [price.cost(*usage[m][1:], batch=(m == "batch")) for m in usage if usage[m][0]]
        cost = None if any(p is None for p in parts) else sum(parts)
    return {"requests": len(first), "answered": {m: u[0] for m, u in usage.items()},
            "input_tokens": sum(u[1] for u in usage.values()), "output_tokens": sum(u[2] for u in usage.values()),
            "cost_usd": cost, "price_read_on": price.read_on if price is not None else None,
            "estimated_input_tokens": TokenCounter().requests(list(first.values()))}


def merged_usage(reports: Sequence[dict | None]) -> dict | None:
    """One judge's usage over its shards' ``usage_report`` dicts: counts and tokens add up; the cost is the sum, or
    None when a shard has no price; the price date is the first one given. None when no shard reported usage."""
    reports = [r for r in reports if r]
    if not reports:
        return None
    costs = [r.get("cost_usd") for r in reports]
    return {"requests": sum(int(r["requests"]) for r in reports),
            "answered": {m: sum(int(r["answered"].get(m, 0)) for r in reports) for m in ("online", "batch")},
            "input_tokens": sum(int(r["input_tokens"]) for r in reports),
            "output_tokens": sum(int(r["output_tokens"]) for r in reports),
            "cost_usd": None if any(c is None for c in costs) else float(sum(costs)),
            "price_read_on": next((r.get("price_read_on") for r in reports if r.get("price_read_on")), None),
            "estimated_input_tokens": sum(int(r["estimated_input_tokens"]) for r in reports)}
