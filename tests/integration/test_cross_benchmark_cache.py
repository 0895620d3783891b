"""A text shared by two benchmarks is scored once per RM: the per-RM score cache keys by text_id, so the second
benchmark's score job reads the shared texts from the cache and scores only its own."""

from __future__ import annotations

import json

from rmeval.benchmarks import build_benchmark
from rmeval.rms.baselines import LengthRM
from rmeval.scoring import ScoreCache, score_texts


class CountingRM(LengthRM):
    def __init__(self):
        super().__init__(name="counting")
        self.scored: list[str] = []

    def score_batch(self, batch):
        self.scored += [e.payload for e in batch]
        return super().score_batch(batch)


def custom(path, name):
    return build_benchmark({"_target_": "rmeval.benchmarks.custom.CustomBenchmark", "name": name, "version": "1", "path": str(path)})


def test_shared_texts_are_scored_once_across_benchmarks(tmp_path):
    shared = {"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5"}
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text(json.dumps(shared) + "\n" + json.dumps({"prompt": "hi", "chosen": "hello there", "rejected": "go"}) + "\n")
    b.write_text(json.dumps(shared) + "\n" + json.dumps({"prompt": "bye", "chosen": "goodbye", "rejected": "no"}) + "\n")
    _, texts_a, _ = custom(a, "a").load(str(a))
    _, texts_b, _ = custom(b, "b").load(str(b))
    overlap = set(texts_a["text_id"]) & set(texts_b["text_id"])
    assert len(overlap) == 2  # the same (conversation, response) gets the same text_id in both benchmarks

    rm = CountingRM()
    fp = {"rm": "counting", **rm.fingerprint()}
    _, stats_a = score_texts(rm, texts_a, ScoreCache(tmp_path / "cache", fp), progress=False)
    scored_first = len(rm.scored)
    scores_b, stats_b = score_texts(rm, texts_b, ScoreCache(tmp_path / "cache", fp), progress=False)
    assert stats_a.n_scored == 4 and stats_b.n_cached == 2 and stats_b.n_scored == 2
    assert len(rm.scored) - scored_first == 2  # only b's own texts reached the model
    assert set(scores_b["text_id"]) == set(texts_b["text_id"])
