"""Sharded scoring equals unsharded scoring exactly (fp32 tiny classifier), each shard scoring only its texts."""

from __future__ import annotations

import numpy as np

from rmeval.data.rmb import load_rmb
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.scoring import ScoreCache, score_texts
from rmeval.sharding import batch_plan, merge_shards, shard_texts


def test_three_shards_merge_to_the_unsharded_scores_exactly(smoke_root, tiny_classifier_dir, tmp_path):
    _, texts, _ = load_rmb(smoke_root, benchmark="smoke", check_manifest=False)

    def rm():
        return SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=128, dtype="float32",
                                    device="cpu", token_budget=512, max_batch_size=8)

    full, full_stats = score_texts(rm(), texts, progress=False)
    parts, names = [], []
    for i in range(3):
        cache = ScoreCache(tmp_path / "cache", {"rm": "tiny", "shard_test": True})  # one cache shared by the shards
        job_rm = rm()  # one RM per shard job: the plan it makes of all texts picks the path its batches run on
        shard = shard_texts(job_rm, texts, i, 3)
        part, stats = score_texts(job_rm, shard, cache, progress=False, batch_of=batch_plan(shard))
        assert stats.n_cached == 0 and stats.n_scored == len(part) > 0  # no shard scores another's texts
        parts.append(part)
        names.append(f"shard-{i}-of-3")
    merged = merge_shards(texts, parts, names)
    assert merged["text_id"].tolist() == full["text_id"].tolist()
    np.testing.assert_array_equal(merged["score"].to_numpy(), full["score"].to_numpy())  # exact, not approx
    assert stats.path == full_stats.path  # the same path as the unsharded job (its plan is the unsharded one)
    assert merged["n_tokens"].tolist() == full["n_tokens"].tolist()
    assert merged["truncated"].tolist() == full["truncated"].tolist()
