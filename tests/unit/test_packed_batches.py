"""Packed (padding-free) batches: one row of texts end to end with per-text positions, attention per text.

Packed scores must equal one-text-at-a-time scores, padding must be zero, and models that cannot pack keep the
padded path with the same scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from rmeval.rms import packed
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.scoring import forward_tokens, plan_batches, score_texts

CONV = [{"role": "user", "content": "please explain the code"}]
RESPONSES = ["ok", "here is a short answer", "a much longer answer " * 9, "thanks", "first step then second step " * 4,
             "the best answer is a good one"]


def frame(responses=RESPONSES):
    from rmeval.ids import text_id

    return pd.DataFrame({"text_id": [text_id(CONV, r) for r in responses], "conversation": [CONV] * len(responses),
                         "response": responses})


def one_at_a_time(rm: SequenceClassifierRM, ids: list[int]) -> float:
    """The score head on the hidden state of the text's last token, the text alone in an unpadded row."""
    with torch.inference_mode():
        hidden = rm.model.model(input_ids=torch.tensor([ids])).last_hidden_state
        return float(rm.model.score(hidden[0, -1]).squeeze())


def test_pack_lays_texts_end_to_end_with_their_own_positions():
    ids, pos, cu = packed.pack([[5, 6, 7], [8], [9, 10]])
    assert ids.tolist() == [[5, 6, 7, 8, 9, 10]]
    assert pos.tolist() == [[0, 1, 2, 0, 0, 1]]
    assert cu.tolist() == [0, 3, 4, 6]


def test_packed_scores_equal_one_text_at_a_time(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=100_000)
    rm.load()
    assert rm.packs_batches  # a Llama classifier packs
    encs = rm.encode_many([str(i) for i in range(len(RESPONSES))], [CONV] * len(RESPONSES), RESPONSES)
    assert len({e.n_tokens for e in encs}) > 3  # lengths differ: a padded batch would pad
    got = rm.score_batch(encs)
    expected = [one_at_a_time(rm, e.payload) for e in encs]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # ... and equal the padded path (the one used where a model cannot pack)
    rm.packs_batches = False
    np.testing.assert_allclose(rm.score_batch(encs), expected, atol=1e-5)


def test_packed_batching_has_no_padding_and_equals_unbatched(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=100_000)
    batched, stats = score_texts(rm, frame(), progress=False)
    assert stats.n_batches == 1
    assert stats.padded_tokens == stats.real_tokens and stats.padding_efficiency == 1.0
    rm.token_budget, rm.max_batch_size = 1, 1
    single, _ = score_texts(rm, frame(), progress=False)
    np.testing.assert_allclose(batched["score"].to_numpy(), single["score"].to_numpy(), atol=1e-5)


def test_packed_attention_keeps_texts_apart(tiny_classifier_dir):
    """A text's score must not depend on its batch-mates (no attention across texts in the packed row)."""
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256)
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
    assert "not a last-token decoder classifier" in packed.packing_unsupported(bert)
