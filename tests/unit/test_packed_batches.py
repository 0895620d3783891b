"""Packed (padding-free) batches: one row of texts end to end with per-text positions, attention per text.

Packed scores must equal one-text-at-a-time scores, padding must be zero, and models that cannot pack keep the
padded path with the same scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rmeval.rms import _packed_forward, packed
from rmeval.rms.batching import Path
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.scoring import forward_tokens, plan_batches, score_texts

CONV = [{"role": "user", "content": "please explain the code"}]
RESPONSES = ["ok", "here is a short answer", "a much longer answer " * 9, "thanks", "first step then second step " * 4,
             "the best answer is a good one"]


def frame(responses=RESPONSES, conv=CONV):
    from rmeval.ids import text_id

    return pd.DataFrame({"text_id": [text_id(conv, r) for r in responses], "conversation": [conv] * len(responses),
                         "response": responses})


LONG_CONV = [{"role": "system", "content": "you are a careful assistant " * 4}, *CONV]


def one_at_a_time(rm: SequenceClassifierRM, ids: list[int]) -> float:
    """The score head on the hidden state of the text's last token, the text alone in an unpadded row."""
    from helpers import hf_alone

    return hf_alone(rm.model_id, ids)


def test_pack_lays_texts_end_to_end_with_their_own_positions():
    ids, pos, cu = _packed_forward.pack([[5, 6, 7], [8], [9, 10]])
    assert ids.tolist() == [[5, 6, 7, 8, 9, 10]]
    assert pos.tolist() == [[0, 1, 2, 0, 0, 1]]
    assert cu.tolist() == [0, 3, 4, 6]


def test_packed_scores_equal_one_text_at_a_time(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=100_000,
                              batching="packed")
    rm.load()
    assert rm.packs_batches  # a Llama classifier packs
    encs = rm.encode_many([str(i) for i in range(len(RESPONSES))], [CONV] * len(RESPONSES), RESPONSES)
    assert len({e.n_tokens for e in encs}) > 3  # lengths differ: a padded batch would pad
    got = rm.score_batch(encs)
    expected = [one_at_a_time(rm, e.payload) for e in encs]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # ... and equal the padded paths (with and without a shared prefix computed once through the KV cache)
    for path in (Path(), Path(unmasked=True), Path(False, packed.MIN_SHARED_PREFIX)):
        rm.path = path
        np.testing.assert_allclose(rm.score_batch(encs), expected, atol=1e-5, err_msg=path.name)


def test_batching_setting_picks_the_path_and_says_why(tiny_classifier_dir, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="rmeval.rms.classifier")
    padded = SequenceClassifierRM(name="p", model=str(tiny_classifier_dir), batching="padded", share_prefixes=False)
    padded.load()
    assert padded.path == Path(unmasked=True) and "p: padded batches (batching: padded)" in caplog.text
    auto = SequenceClassifierRM(name="a", model=str(tiny_classifier_dir), device="cpu")
    auto.load()  # on the CPU: padded rows, with or without shared prompt prefixes, whichever plan is cheaper
    assert "a: padded or padded + shared prefixes batches" in caplog.text
    long_prompt = auto.encode_many([str(i) for i in range(6)], [LONG_CONV] * 6, RESPONSES)
    auto.plan(long_prompt)
    assert auto.path == Path(False, packed.MIN_SHARED_PREFIX)  # six texts share a long prompt: sharing is cheaper
    short = auto.encode_many([str(i) for i in range(6)], [[{"role": "user", "content": f"q{i}"}] for i in range(6)], RESPONSES)
    auto.plan(short)
    assert auto.path == Path(unmasked=True) and "(forward tokens: padded" in caplog.text  # nothing to share
    packing = SequenceClassifierRM(name="k", model=str(tiny_classifier_dir), device="cpu", batching="packed")
    packing.load()
    assert packing.packs_batches and packing.min_shared_prefix == packed.MIN_SHARED_PREFIX
    # auto on a GPU keeps the plain padded path (the one measured there) and says so
    auto.input_device = torch.device("cuda")
    paths, why = auto.choose_batching()
    assert paths == [Path(unmasked=True)] and "path measured there" in why
    from rmeval.errors import RmevalError

    with pytest.raises(RmevalError, match="batching"):
        SequenceClassifierRM(name="x", model=str(tiny_classifier_dir), batching="fast")


def test_packed_mask_lets_a_span_see_only_itself_causally_and_its_prefix():
    # prefix 0:2, its members 2:4 and 4:5, then a text of its own 5:7
    spans = [(0, 2, 0, 0), (2, 4, 0, 2), (4, 5, 0, 2), (5, 7, 5, 5)]
    got = _packed_forward.packed_mask(spans, 7)[0, 0].int().tolist()
    assert got == [[1, 0, 0, 0, 0, 0, 0],
                   [1, 1, 0, 0, 0, 0, 0],
                   [1, 1, 1, 0, 0, 0, 0],
                   [1, 1, 1, 1, 0, 0, 0],
                   [1, 1, 0, 0, 1, 0, 0],
                   [0, 0, 0, 0, 0, 1, 0],
                   [0, 0, 0, 0, 0, 1, 1]]


def test_packed_batching_has_no_padding_and_equals_unbatched(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=100_000,
                              batching="packed")
    batched, stats = score_texts(rm, frame(), progress=False)
    assert stats.n_batches == 1
    # no padding; a shared prompt (none here: shorter than MIN_SHARED_PREFIX) would be computed once
    assert stats.padded_tokens == stats.real_tokens - stats.shared_prefix_tokens and stats.padding_efficiency == 1.0
    rm.token_budget, rm.max_batch_size = 1, 1
    single, _ = score_texts(rm, frame(), progress=False)
    np.testing.assert_allclose(batched["score"].to_numpy(), single["score"].to_numpy(), atol=1e-5)


def test_packed_attention_keeps_texts_apart(tiny_classifier_dir):
    """A text's score must not depend on its batch-mates (no attention across texts in the packed row)."""
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, batching="packed")
    encs = rm.encode_many(["a", "b", "c"], [CONV] * 3, RESPONSES[:3])
    alone = rm.score_batch([encs[2]])[0]
    for mates in ([encs[0]], [encs[1], encs[0]]):
        assert abs(rm.score_batch([*mates, encs[2]])[-1] - alone) < 1e-5


def test_plan_batches_packed_budget_counts_real_tokens():
    lengths = [5, 5, 4, 1, 1, 1]
    got = plan_batches(lengths, token_budget=12, max_batch_size=8, packed=True)
    assert got == [[0, 1], [2, 3, 4, 5]]  # 5+5 | 4+1+1+1: sums of lengths
    assert plan_batches(lengths, token_budget=12, max_batch_size=8) == [[0, 1], [2, 3, 4], [5]]  # rows x longest


@pytest.mark.parametrize("seed", range(5))
def test_plan_batches_packed_properties_random(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 60, size=int(rng.integers(1, 80))).tolist()
    batches = plan_batches(lengths, token_budget=100, max_batch_size=7, packed=True)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 7 and (sum(lengths[i] for i in b) <= 100 or len(b) == 1)


def test_forward_tokens_packed_and_padded():
    from rmeval.rms.base import Encoded

    batch = [Encoded(payload=None, n_tokens=n) for n in (5, 3, 1)]
    assert forward_tokens(batch, packed=True) == 9
    assert forward_tokens(batch, packed=False) == 15


def test_models_that_cannot_pack_say_why(tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    bert = BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                                    num_attention_heads=2, intermediate_size=32, num_labels=1))
    assert "not a last-token decoder classifier" in _packed_forward.packing_unsupported(bert, "sdpa")


# ------------------------------------------------------------------ shared prompt prefixes
def test_shared_prefix_groups_golden():
    p = list(range(100, 120))  # a 20-token prompt
    seqs = [p + [1, 2], p + [3], p + [4, 5, 6], [7] * 30, [7] * 25 + [8]]
    assert packed.shared_prefix_groups(seqs, min_prefix=16) == [(20, [0, 1, 2]), (25, [3, 4])]
    # below the minimum: every text on its own
    assert packed.shared_prefix_groups(seqs, min_prefix=26) == [(0, [0]), (0, [1]), (0, [2]), (0, [3]), (0, [4])]
    assert packed.shared_prefix_groups(seqs, min_prefix=0) == [(0, [i]) for i in range(5)]
    # a text that is a prefix of its neighbour keeps one token of its own
    assert packed.shared_prefix_groups([p, p + [9]], min_prefix=16) == [(19, [0, 1])]


def test_shared_prefix_groups_do_not_shrink_a_larger_saving():
    system = list(range(100, 120))
    a, b = system + list(range(200, 240)), system + list(range(300, 340))  # two conversations, one system prompt
    seqs = [a + [1], a + [2], a + [3], b + [4]]
    # joining b would cut the prefix from 60 to 20 tokens: 3 x 20 < 2 x 60, so b starts its own run
    assert packed.shared_prefix_groups(seqs, min_prefix=16) == [(60, [0, 1, 2]), (0, [3])]
    assert packed.forward_cost(seqs, 16) == sum(map(len, seqs)) - 2 * 60


@pytest.mark.parametrize("seed", range(4))
def test_plan_shared_prefix_batches_cover_every_text_within_budget(seed):
    rng = np.random.default_rng(seed)
    prompts = [rng.integers(0, 50, size=int(rng.integers(10, 40))).tolist() for _ in range(6)]
    seqs = [prompts[int(rng.integers(0, 6))] + rng.integers(0, 50, size=int(rng.integers(1, 30))).tolist() for _ in range(40)]
    batches = packed.plan_shared_prefix_batches(seqs, token_budget=150, max_batch_size=6)
    assert sorted(i for b in batches for i in b) == list(range(len(seqs)))
    saved = 0
    for b in batches:
        cost = packed.forward_cost([seqs[i] for i in b])
        assert len(b) <= 6 and (cost <= 150 or len(b) == 1)
        saved += sum(len(seqs[i]) for i in b) - cost
    assert saved > 0  # texts of one prompt end up side by side and share it


@pytest.mark.parametrize("batching", ["packed", "padded"])
def test_shared_prefix_scores_equal_one_text_at_a_time(tiny_classifier_dir, batching):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=100_000,
                              batching=batching)
    rm.load()
    convs = [LONG_CONV] * 4 + [CONV] * 2
    encs = rm.encode_many([str(i) for i in range(6)], convs, RESPONSES)
    groups = packed.shared_prefix_groups([e.payload for e in encs])
    # the long prompt is shared by its four texts; the short one (< MIN_SHARED_PREFIX tokens) is not worth sharing
    assert [len(m) for _, m in groups] == [4, 1, 1] and groups[0][0] >= packed.MIN_SHARED_PREFIX
    expected = [one_at_a_time(rm, e.payload) for e in encs]
    np.testing.assert_allclose(rm.score_batch(encs), expected, atol=1e-5)
    assert rm.min_shared_prefix == packed.MIN_SHARED_PREFIX and rm.shared_tokens(encs) > 0
    rm.path = Path(rm.path.packed)
    assert rm.min_shared_prefix == 0
    np.testing.assert_allclose(rm.score_batch(encs), expected, atol=1e-5)


@pytest.mark.parametrize("batching", ["packed", "padded"])
def test_shared_prefix_plan_scores_equal_unbatched(tiny_classifier_dir, batching):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=60 if batching == "packed" else 120,
                              batching=batching)
    batched, stats = score_texts(rm, frame(conv=LONG_CONV), progress=False)
    assert stats.n_batches > 1 and stats.shared_prefix_tokens > 0
    assert stats.padding_efficiency == 1.0 if batching == "packed" else stats.padding_efficiency < 1.0  # padded rows pad
    rm.token_budget, rm.max_batch_size = 1, 1
    single, single_stats = score_texts(rm, frame(conv=LONG_CONV), progress=False)
    assert single_stats.shared_prefix_tokens == 0
    np.testing.assert_allclose(batched["score"].to_numpy(), single["score"].to_numpy(), atol=1e-5)
