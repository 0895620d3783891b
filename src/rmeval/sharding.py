"""Split one job's work into K shards (a score job's unique texts, a pairwise judge's items, a policy's prompts)
and merge the shards' files back into the one file the next stage reads. The shard files' names are the
workflow's (``rmeval.dag``: the ``{shard}`` wildcard); the entry points get ``io.shard`` and ``io.shards``.

Score shards are made of whole batches of the unsharded job's own plan: every shard job encodes all texts with the
RM, plans the batches exactly as ``rmeval.scoring.score_texts`` would for the whole benchmark (``plan_for``:
length-sorted token-budget batches, or token-id order with shared prefixes for packed RMs), and deals the batches,
costliest first, to the shard with the least padded tokens so far (ties: the lowest shard index). A text is
therefore scored with the same batch-mates, padding and shapes as without shards, so the merged scores equal the
unsharded ones bit for bit (fp32 included), and re-planning a shard's texts reproduces its batches (the planner
closes a batch by its own rows and width only). Every split is a function of the job's input file (and the RM)
alone, so the shard jobs of a run agree without talking to each other.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np
import pandas as pd

from rmeval.errors import RmevalError
from rmeval.scoring import ENCODE_CHUNK, batch_cost, plan_batches, plan_for


class ShardError(RmevalError):
    """A shard index or count out of range, or shard files that do not add up; the message names the file."""


def assign_shards(costs: Sequence[int], count: int) -> np.ndarray:
    """The shard (0..count-1) of each unit of work: costliest first (ties: the earlier unit), each to the
    currently lightest shard (ties: the lowest index)."""
    if count < 1:
        raise ShardError(f"field 'io.shards': {count} is below 1 (the shard count)")
    costs = np.asarray(costs, dtype=np.int64)
    heap = [(0, k) for k in range(count)]
    out = np.empty(len(costs), dtype=np.int64)
    for i in sorted(range(len(costs)), key=lambda i: (-int(costs[i]), i)):
        load, k = heapq.heappop(heap)
        out[i] = k
        heapq.heappush(heap, (load + max(int(costs[i]), 1), k))
    return out


def shard_batches(lengths: Sequence[int], token_budget: int, max_batch_size: int, count: int,
                  packed: bool = False) -> tuple[np.ndarray, list[list[int]]]:
    """(the shard of each text by position, the unsharded plan's batches): whole batches of ``plan_batches``
    dealt by forward tokens (rows x width padded, the sum of lengths packed)."""
    batches = plan_batches(lengths, token_budget, max_batch_size, packed)
    costs = [sum(lengths[i] for i in b) if packed else len(b) * max(lengths[i] for i in b) for b in batches]
    return deal_batches(batches, costs, len(lengths), count), batches


def deal_batches(batches: Sequence[Sequence[int]], costs: Sequence[int], n_texts: int, count: int) -> np.ndarray:
    """The shard of each of ``n_texts`` texts (by position): whole batches dealt by their forward-token cost."""
    out = np.empty(n_texts, dtype=np.int64)
    for batch, shard in zip(batches, assign_shards(costs, count)):
        out[list(batch)] = shard
    return out


def shard_of_texts(lengths: Sequence[int], token_budget: int, max_batch_size: int, count: int, packed: bool = False) -> np.ndarray:
    """The shard of each text (by position): whole batches of ``plan_batches`` dealt by forward tokens."""
    return shard_batches(lengths, token_budget, max_batch_size, count, packed)[0]


def shard_texts(rm, texts: pd.DataFrame, index: int, count: int) -> pd.DataFrame:
    """The rows of shard ``index`` of ``count`` for this RM (one row per unique text_id, in the texts' order), with
    a ``batch`` column: each text's (batch, position) in the unsharded plan."""
    if not 0 <= index < count:
        raise ShardError(f"field 'io.shard': {index} is not in 0..{count - 1} (the shard index)")
    unique = texts.drop_duplicates("text_id").reset_index(drop=True)
    ids, convs, resps = unique["text_id"].tolist(), unique["conversation"].tolist(), unique["response"].tolist()
    encoded = []
    for lo in range(0, len(ids), ENCODE_CHUNK):
        hi = lo + ENCODE_CHUNK
        encoded += rm.encode_many(ids[lo:hi], convs[lo:hi], resps[lo:hi])
    rm.load()  # whether the RM packs its batches decides the plan, as in score_texts
    batches = plan_for(rm, encoded)  # the unsharded job's own plan
    shards = deal_batches(batches, [batch_cost(rm, [encoded[i] for i in b]) for b in batches], len(encoded), count)
    where = {}
    for b, batch in enumerate(batches):
        for pos, i in enumerate(batch):
            where[i] = (b, pos)
    out = unique[shards == index].copy()
    out["batch"] = [where[i] for i in np.flatnonzero(shards == index)]
    return out.reset_index(drop=True)


def batch_plan(shard: pd.DataFrame) -> dict:
    """text_id -> (batch, position) of a ``shard_texts`` frame, for ``score_texts(batch_of=...)``."""
    return dict(zip(shard["text_id"], shard["batch"]))


def merge_shards(texts: pd.DataFrame, shards: Sequence[pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    """One score frame in the texts' order (one row per unique text_id) from the shards' score frames.

    Every text must be in exactly one shard; ``names`` (the shard files) make the error say which one is wrong.
    """
    seen: dict[str, str] = {}
    for frame, name in zip(shards, names):
        for tid in frame["text_id"]:
            if tid in seen:
                raise ShardError(f"{name}: text_id {tid} is also in {seen[tid]} (shards of different runs mixed?)")
            seen[tid] = name
    merged = pd.concat(list(shards), ignore_index=True) if shards else pd.DataFrame(columns=["text_id"])
    unique = texts.drop_duplicates("text_id")["text_id"]
    missing = unique[~unique.isin(merged["text_id"])]
    if len(missing):
        raise ShardError(f"{names[0] if names else 'shards'}: {len(missing)} texts are in no shard (e.g. text_id {missing.iloc[0]}); rerun the shard jobs")
    extra = merged[~merged["text_id"].isin(unique)]
    if len(extra):
        raise ShardError(f"{seen[extra['text_id'].iloc[0]]}: text_id {extra['text_id'].iloc[0]} is not a text of this benchmark")
    return merged.set_index("text_id").loc[unique.tolist()].reset_index()


def merge_stats(stats: Sequence[dict]) -> dict:
    """The shards' scoring stats as one run's: counts, tokens and times summed, padding efficiency recomputed."""
    out: dict = {}
    for s in stats:
        for key, value in (s or {}).items():
            if key != "padding_efficiency" and isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = out.get(key, 0) + value
    if "padded_tokens" in out:
        text = out["real_tokens"] - out.get("shared_prefix_tokens", 0)
        out["padding_efficiency"] = text / out["padded_tokens"] if out["padded_tokens"] else 1.0
    return out


# ------------------------------------------------------------------ pairwise-judge comparisons
def comparison_cost(item) -> int:
    """Comparisons one item asks of a pairwise judge (one per loser; the judge's both_orders doubles every item)."""
    rejected = getattr(item, "rejected_ids", None)
    return max(1, len(rejected) if rejected is not None else 1)


def shard_items(items: pd.DataFrame, index: int, count: int) -> pd.DataFrame:
    """The items of shard ``index`` of ``count`` for a pairwise judge's comparisons, in the items' order.

    Items go costliest first (comparisons per item) to the lightest shard: a function of the items file alone, so
    the shard jobs of a run agree without talking to each other. Every comparison is a request of its own (its key
    names the item, the loser and the order; its A/B positions are stored in the item), so an API judge gives each
    the same answer in whichever shard it lands."""
    if not 0 <= index < count:
        raise ShardError(f"field 'io.shard': {index} is not in 0..{count - 1} (the shard index)")
    shards = assign_shards([comparison_cost(item) for item in items.itertuples(index=False)], count)
    return items[shards == index].reset_index(drop=True)


def merge_keyed_shards(wanted: Sequence[str], shards: Sequence[pd.DataFrame], names: Sequence[str], key: str,
                       what: str) -> pd.DataFrame:
    """One frame in the order of ``wanted`` (the ``key`` values) from the shards' frames, each value in exactly one
    shard; ``what`` names the rows in errors (items, prompts) and ``names`` the shard files."""
    seen: dict[str, str] = {}
    for frame, name in zip(shards, names):
        for value in frame[key].unique():
            if value in seen:
                raise ShardError(f"{name}: {key} {value} is also in {seen[value]} (shards of different runs mixed?)")
            seen[value] = name
    missing = [v for v in wanted if v not in seen]
    if missing:
        raise ShardError(f"{names[0] if names else 'shards'}: {len(missing)} {what}s are in no shard (e.g. {key} {missing[0]}); rerun the shard jobs")
    extra = set(seen) - set(wanted)
    if extra:
        first = sorted(extra)[0]
        raise ShardError(f"{seen[first]}: {key} {first} is not one of this run's {what}s")
    merged = pd.concat(list(shards), ignore_index=True)
    order = {value: k for k, value in enumerate(wanted)}
    # a stable sort keeps each key's own rows (losers, orders, samples) in the order its shard wrote them
    return merged.iloc[merged[key].map(order).argsort(kind="stable")].reset_index(drop=True)


def merge_comparison_shards(items: pd.DataFrame, shards: Sequence[pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    """One comparisons frame in the items' order from the shards' frames; every item in exactly one shard."""
    return merge_keyed_shards(items["item_id"].tolist(), shards, names, "item_id", "item")


# ------------------------------------------------------------------ construction sampling
def shard_prompts(prompts: pd.DataFrame, index: int, count: int) -> pd.DataFrame:
    """The prompts of shard ``index`` of ``count`` for one policy's sampling, in the prompts' order (dealt in turn:
    every prompt asks the same number of samples). Each sample's seed is a function of (policy seed, prompt_id,
    sample index) and its request key names them, so a prompt's samples are the same in whichever shard it lands."""
    if not 0 <= index < count:
        raise ShardError(f"field 'io.shard': {index} is not in 0..{count - 1} (the shard index)")
    shards = assign_shards([1] * len(prompts), count)
    return prompts[shards == index].reset_index(drop=True)


def merge_response_shards(prompts: pd.DataFrame, shards: Sequence[pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    """One responses frame in the prompts' order from the shards' frames; every prompt in exactly one shard."""
    return merge_keyed_shards(prompts["prompt_id"].tolist(), shards, names, "prompt_id", "prompt")
