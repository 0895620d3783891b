"""Every pointwise RM family scores the whole smoke benchmark through the engine, and its metrics compute."""

from __future__ import annotations

import numpy as np
import pytest

from rmeval.benchmarks import build_benchmark
from rmeval.benchmarks.rmb import RMBBenchmark
from rmeval.metrics import evaluate
from rmeval.rms.baselines import LengthRM, RandomRM
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.rms.embedding import EmbeddingRelevanceRM
from rmeval.rms.implicit import ImplicitRewardRM
from rmeval.rms.tiny_lm import build_tiny_dpo_pair
from rmeval.scoring import score_texts


@pytest.fixture(scope="module")
def smoke(smoke_root):
    bench = {"name": "smoke", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}}
    items, texts, _ = build_benchmark(bench).load(smoke_root)
    return items, texts


@pytest.fixture(scope="module")
def dpo_pair(tmp_path_factory):
    out = tmp_path_factory.mktemp("dpo") / "pair"
    build_tiny_dpo_pair(out, seed=0, reference_seed=1)
    return out


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from helpers import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("bert"))


def families(tiny_classifier_dir, dpo_pair, tiny_bert):
    return {
        "random": RandomRM(),
        "length": LengthRM(),
        "classifier": SequenceClassifierRM(name="c", model=str(tiny_classifier_dir), max_length=256),
        "dpo": ImplicitRewardRM(name="d", model=str(dpo_pair / "policy"), reference=str(dpo_pair / "reference"), beta=0.1, max_length=256),
        "reference-free": ImplicitRewardRM(name="r", model=str(dpo_pair / "policy"), length_normalize=True, max_length=256),
        "embedding": EmbeddingRelevanceRM(name="e", model=str(tiny_bert), max_length=64, device="cpu"),
    }


def test_every_family_scores_the_smoke_benchmark(smoke, tiny_classifier_dir, dpo_pair, tiny_bert):
    items, texts = smoke
    for name, rm in families(tiny_classifier_dir, dpo_pair, tiny_bert).items():
        scores, stats = score_texts(rm, texts, progress=False)
        assert len(scores) == len(texts) and np.isfinite(scores["score"]).all(), name
        assert stats.n_scored == len(texts), name
        result = evaluate(items, scores, RMBBenchmark.components, n_boot=50)
        assert result["overall"]["micro"]["accuracy"] is not None, name
        if name == "length":  # the fixture's better answers are longer
            assert result["overall"]["micro"]["accuracy"] > 0.9
