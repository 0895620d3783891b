"""Packed batches through transformers' own classes, public arguments only (rmeval.rms._packed_forward): for each
model type packing is allowed for (Llama, Mistral, Qwen2 with its q/k/v biases, Qwen3; grouped-query heads), packed
scores, with and without shared prefixes, equal one-text-at-a-time scores in float32 within 1e-5, and so does the
padded path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import hf_classifier
from rmeval.rms._packed_forward import PACKABLE_MODEL_TYPES, packed_logits, packing_unsupported
from rmeval.rms.prefix_cache import prefix_cached_logits, right_padded_logits

CLASSES = {"llama": ("LlamaConfig", "LlamaForSequenceClassification"),
           "mistral": ("MistralConfig", "MistralForSequenceClassification"),
           "qwen2": ("Qwen2Config", "Qwen2ForSequenceClassification"),
           "qwen3": ("Qwen3Config", "Qwen3ForSequenceClassification")}


def build(out, family: str, seed: int = 0, **extra):
    """A random-weight classifier of the family (6 query heads on 2 key/value heads), saved as safetensors."""
    import transformers

    config_cls, model_cls = CLASSES[family]
    config = getattr(transformers, config_cls)(vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                                               num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=512,
                                               num_labels=2, pad_token_id=0, **extra)
    torch.manual_seed(seed)
    model = getattr(transformers, model_cls)(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.2)  # visible differences everywhere, biases included
    model.save_pretrained(out)
    return out


def texts(seed: int = 0):
    """Texts with a shared 40-token prompt, others on their own, of mixed lengths (ids 1..298)."""
    g = np.random.default_rng(seed)
    prompt = g.integers(1, 299, 40).tolist()
    shared = [prompt + g.integers(1, 299, n).tolist() for n in (3, 25, 60, 1)]
    alone = [g.integers(1, 299, n).tolist() for n in (2, 17, 90)]
    return shared + alone


def test_every_packable_type_is_tested_here():
    assert set(PACKABLE_MODEL_TYPES) == set(CLASSES)


@pytest.mark.parametrize("family", sorted(CLASSES))
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_scores_equal_one_text_at_a_time(tmp_path, family, attention):
    folder = build(tmp_path / family, family, **({"sliding_window": None} if family == "mistral" else {}))
    model = hf_classifier(folder)
    model.set_attn_implementation(attention)
    assert packing_unsupported(model, attention) is None
    seqs = texts()
    with torch.inference_mode():
        want = np.array([model(input_ids=torch.tensor([s])).logits[0].tolist() for s in seqs])
    for min_prefix in (16, 0):  # the shared prompt computed once, then every text laid out on its own
        got = packed_logits(model, seqs, "cpu", attention, min_prefix).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=f"min_prefix {min_prefix}")
    # padded rows without a mask, and on a shared prefix's KV cache (pad id 299 occurs in none of the texts)
    np.testing.assert_allclose(right_padded_logits(model, seqs, "cpu", 299).numpy(), want, atol=1e-5)
    np.testing.assert_allclose(prefix_cached_logits(model, seqs, "cpu", 299, 16).numpy(), want, atol=1e-5)
    # the padded path with a padding mask (right padding, each row's real last token)
    width = max(map(len, seqs))
    ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    with torch.inference_mode():
        np.testing.assert_allclose(model(input_ids=ids, attention_mask=mask).logits.numpy(), want, atol=1e-5)


def test_a_sliding_window_or_another_model_type_keeps_padded_batches(tmp_path):
    windowed = hf_classifier(build(tmp_path / "w", "mistral", sliding_window=8))
    assert "sliding_window" in packing_unsupported(windowed, "sdpa")
    import transformers

    gemma = transformers.GemmaForSequenceClassification(transformers.GemmaConfig(
        vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=8, num_labels=1))
    assert "not among those tested packed" in packing_unsupported(gemma, "sdpa")
