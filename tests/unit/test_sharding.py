"""Length-balanced score shards: deterministic, complete, balanced; the merge refuses shards that do not add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmeval.rms.baselines import LengthRM
from rmeval.scoring import plan_batches
from rmeval.sharding import ShardError, assign_shards, merge_shards, merge_stats, shard_of_texts, shard_texts


def _texts(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "text_id": [f"t{i:03d}" for i in range(n)],
        "conversation": [[{"role": "user", "content": "q" * int(rng.integers(1, 50))}] for _ in range(n)],
        "response": ["r" * int(rng.integers(1, 400)) for _ in range(n)],
    })


def _rm() -> LengthRM:
    rm = LengthRM()
    rm.token_budget, rm.max_batch_size = 2000, 8
    return rm


def test_shards_are_whole_batches_of_the_unsharded_plan_balanced_by_padded_tokens():
    lengths = np.random.default_rng(0).integers(1, 500, size=203).tolist()
    shards = shard_of_texts(lengths, 2000, 8, 4)
    batches = plan_batches(lengths, 2000, 8)
    assert all(len(set(shards[b])) == 1 for b in batches)  # no batch split across shards
    loads = np.zeros(4)
    for b in batches:
        loads[shards[b[0]]] += len(b) * max(lengths[i] for i in b)
    assert loads.max() - loads.min() <= max(len(b) * max(lengths[i] for i in b) for b in batches)
    for k in range(4):  # re-planning one shard's texts gives back exactly its batches of the whole plan
        mine = [i for i in range(len(lengths)) if shards[i] == k]
        replanned = plan_batches([lengths[i] for i in mine], 2000, 8)
        assert sorted(tuple(mine[j] for j in b) for b in replanned) == sorted(tuple(b) for b in batches if shards[b[0]] == k)


def test_every_text_in_exactly_one_shard_and_the_split_is_deterministic():
    texts = pd.concat([_texts(101), _texts(101).iloc[:7]])  # duplicates count once
    parts = [shard_texts(_rm(), texts, i, 3) for i in range(3)]
    ids = pd.concat(parts)["text_id"]
    assert sorted(ids) == sorted(set(texts["text_id"])) and ids.is_unique and all(len(p) for p in parts)
    again = [shard_texts(_rm(), texts, i, 3) for i in range(3)]
    assert all(a["text_id"].tolist() == b["text_id"].tolist() for a, b in zip(parts, again))
    assert shard_texts(_rm(), texts, 0, 1)["text_id"].tolist() == texts.drop_duplicates("text_id")["text_id"].tolist()


def test_ties_go_to_the_lowest_shard_and_bad_indices_are_refused():
    # equal costs: the earlier unit first, each to the lightest shard, equal loads to the lowest index
    assert assign_shards([5, 5, 5, 5], 2).tolist() == [0, 1, 0, 1]
    assert assign_shards([3, 1], 1).tolist() == [0, 0]
    with pytest.raises(ValueError):
        assign_shards([1], 0)
    with pytest.raises(ValueError):
        shard_texts(_rm(), _texts(3), 3, 3)


def test_merge_restores_the_texts_order_and_refuses_missing_or_doubled_texts():
    texts = _texts(30)
    score = {tid: float(i) for i, tid in enumerate(texts["text_id"])}
    parts = [shard_texts(_rm(), texts, i, 3).assign(score=lambda f: f["text_id"].map(score))[["text_id", "score"]] for i in range(3)]
    merged = merge_shards(texts, parts, ["s0", "s1", "s2"])
    assert merged["text_id"].tolist() == texts["text_id"].tolist()
    assert merged["score"].tolist() == [float(i) for i in range(30)]
    with pytest.raises(ShardError, match="in no shard"):
        merge_shards(texts, parts[:2], ["s0", "s1"])
    with pytest.raises(ShardError, match="s2: text_id .* is also in s0"):
        merge_shards(texts, [parts[0], parts[1], parts[0]], ["s0", "s1", "s2"])
    with pytest.raises(ShardError, match="not a text of this benchmark"):
        merge_shards(texts.iloc[1:], parts, ["s0", "s1", "s2"])


def test_merged_stats_add_up():
    a = {"n_texts": 3, "n_scored": 2, "real_tokens": 10, "padded_tokens": 20, "padding_efficiency": 0.5, "wall_s": 1.0}
    b = {"n_texts": 1, "n_scored": 1, "real_tokens": 10, "padded_tokens": 10, "padding_efficiency": 1.0, "wall_s": 2.0}
    out = merge_stats([a, b])
    assert out["n_texts"] == 4 and out["n_scored"] == 3 and out["wall_s"] == 3.0
    assert out["padding_efficiency"] == pytest.approx(20 / 30)
