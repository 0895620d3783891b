"""oneDNN linear layers (rmeval.cpu_linear): the same outputs as torch's, only where they are safe to swap in."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rmeval import cpu_linear

pytestmark = pytest.mark.skipif(not cpu_linear.available(), reason="this PyTorch build has no oneDNN")


@pytest.fixture
def no_size_floor(monkeypatch):
    monkeypatch.setattr(cpu_linear, "MIN_WEIGHT_ELEMENTS", 0)


@pytest.mark.parametrize("bias", [False, True])
def test_packed_linear_equals_linear(bias):
    torch.manual_seed(0)
    lin = torch.nn.Linear(96, 160, bias=bias)
    packed = cpu_linear.PackedLinear(lin)
    for shape in [(7, 96), (2, 13, 96), (1, 1, 96)]:
        x = torch.randn(*shape)
        with torch.inference_mode():
            torch.testing.assert_close(packed(x), lin(x), atol=1e-5, rtol=1e-5)
    assert packed.weight.dtype == torch.float32 and packed.out_features == 160


def test_gated_mlp_equals_llama_mlp(no_size_floor):
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaMLP

    torch.manual_seed(0)
    mlp = LlamaMLP(LlamaConfig(hidden_size=48, intermediate_size=112, num_attention_heads=4, num_key_value_heads=4, hidden_act="silu"))
    holder = torch.nn.Sequential(mlp)
    x = torch.randn(1, 9, 48)
    with torch.inference_mode():
        expected = mlp(x)
        assert cpu_linear.pack_linears(holder) == 3
        assert isinstance(holder[0], cpu_linear.PackedGatedMLP)
        torch.testing.assert_close(holder[0](x), expected, atol=1e-5, rtol=1e-5)


def test_tied_small_and_non_float32_weights_stay(no_size_floor):
    emb = torch.nn.Embedding(50, 32)
    head = torch.nn.Linear(32, 50, bias=False)
    head.weight = emb.weight  # tied, as an LM head to its embeddings
    other = torch.nn.Linear(32, 32).to(torch.bfloat16)
    model = torch.nn.ModuleDict({"emb": emb, "head": head, "other": other, "plain": torch.nn.Linear(32, 32)})
    assert cpu_linear.pack_linears(model) == 1
    assert type(model["head"]) is torch.nn.Linear and type(model["other"]) is torch.nn.Linear
    assert isinstance(model["plain"], cpu_linear.PackedLinear)


def test_size_floor_keeps_score_heads():
    model = torch.nn.ModuleDict({"score": torch.nn.Linear(384, 1), "proj": torch.nn.Linear(384, 384)})
    assert cpu_linear.pack_linears(model) == 1 and type(model["score"]) is torch.nn.Linear


def test_classifier_scores_equal_with_and_without_onednn(tiny_classifier_dir, no_size_floor):
    from rmeval.rms.classifier import SequenceClassifierRM

    conv = [{"role": "user", "content": "what is two plus two"}]
    responses = ["four", "it is four, since two and two make four", "five"]
    scores = {}
    for name in ("torch", "onednn"):
        cpu_linear.set_backend(name)
        try:
            rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, device="cpu", dtype="float32")
            rm.load()
            n_packed = sum(isinstance(m, (cpu_linear.PackedLinear, cpu_linear.PackedGatedMLP)) for m in rm.model.modules())
            assert (n_packed > 0) == (name == "onednn")
            scores[name] = rm.score_batch(rm.encode_many(["a", "b", "c"], [conv] * 3, responses))
        finally:
            cpu_linear.set_backend("onednn")
    np.testing.assert_allclose(scores["onednn"], scores["torch"], atol=1e-5)


def test_backend_names_are_checked():
    with pytest.raises(ValueError, match="expected one of onednn, torch"):
        cpu_linear.set_backend("mkl")


def test_scoring_cpu_linear_is_validated():
    from rmeval.config import ConfigError, compose

    with pytest.raises(ConfigError, match="cpu_linear.*expected onednn or torch"):
        compose(["scoring.cpu_linear=mkl"])
    assert compose(["scoring.cpu_linear=torch"]).scoring.cpu_linear == "torch"
