"""rmeval's own forward for Llama-family classifiers on the CPU (rmeval.rms.native_decoder): the same scores as
transformers' classes for each family it takes, packed (shared prefixes, last layer at scored rows) or padded, on
PyTorch's kernels or rmeval's; everything it does not cover goes through transformers."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from helpers import hf_classifier
from rmeval.hf import RMLoadError
from rmeval.rms import native_decoder
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.rms._native_decoder_model import NativeDecoderClassifier


def build(out, family: str, seed: int = 0, **extra):
    """A random-weight classifier of the family (grouped-query heads; Qwen2's q/k/v biases), saved as safetensors."""
    import transformers

    cls = {"llama": ("LlamaConfig", "LlamaForSequenceClassification"),
           "mistral": ("MistralConfig", "MistralForSequenceClassification"),
           "qwen2": ("Qwen2Config", "Qwen2ForSequenceClassification")}[family]
    config = getattr(transformers, cls[0])(vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                                           num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=512,
                                           num_labels=2, pad_token_id=0, **extra)
    torch.manual_seed(seed)
    model = getattr(transformers, cls[1])(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.2)  # visible differences everywhere, biases included
    model.save_pretrained(out)
    return out


def texts(seed: int = 0):
    """Texts with a shared 40-token prompt, others on their own, of mixed lengths."""
    g = np.random.default_rng(seed)
    prompt = g.integers(1, 300, 40).tolist()
    shared = [prompt + g.integers(1, 300, n).tolist() for n in (3, 25, 60, 1)]
    alone = [g.integers(1, 300, n).tolist() for n in (2, 17, 90)]
    return shared + alone


@pytest.mark.parametrize("family", native_decoder.FAMILIES)
def test_native_forward_equals_transformers(tmp_path, family):
    folder = build(tmp_path / family, family, **({"sliding_window": None} if family == "mistral" else {}))
    assert native_decoder.why_not(str(folder)) is None
    net = NativeDecoderClassifier.load(str(folder), "rm t")
    seqs = texts()
    with torch.inference_mode():
        want = np.array([hf_classifier(folder)(input_ids=torch.tensor([s])).logits[0].tolist() for s in seqs])
    got = {"torch kernels": net.packed_logits(seqs, 16).numpy()}

    def worker():
        torch.set_num_threads(1)  # rmeval's kernels where they can be built
        got["one thread"] = net.packed_logits(seqs, 16).numpy()
        got["no shared prefix"] = net.packed_logits(seqs, 0).numpy()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    for name, values in got.items():
        np.testing.assert_allclose(values, want, atol=1e-5, err_msg=name)
    # the padded path (right padding, each row's real last token)
    width = max(map(len, seqs))
    ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    np.testing.assert_allclose(net(input_ids=ids, attention_mask=mask).logits.numpy(), want, atol=1e-5)


def test_what_is_not_covered_goes_through_transformers(tmp_path):
    folder = build(tmp_path / "m", "llama")
    config = json.loads((folder / "config.json").read_text())

    def variant(name, **changes):
        out = tmp_path / name
        out.mkdir()
        for f in folder.iterdir():
            (out / f.name).write_bytes(f.read_bytes())
        (out / "config.json").write_text(json.dumps({**config, **changes}))
        return native_decoder.why_not(str(out))

    assert "rope type 'linear'" in variant("rope", rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 1e4})
    assert "sliding window" in variant("window", sliding_window=64)
    assert "model_type 'gemma'" in variant("gemma", model_type="gemma")
    assert "not a sequence classifier" in variant("lm", architectures=["LlamaForCausalLM"])
    assert "custom code" in variant("remote", auto_map={"AutoModelForSequenceClassification": "x.Y"})
    assert native_decoder.why_not("org/some-hub-model") == "not a local folder"


def test_unexpected_weights_fail_with_one_line(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = build(tmp_path / "m", "llama")
    weights = load_file(str(folder / "model.safetensors"))
    weights["model.layers.0.self_attn.q_norm.weight"] = torch.ones(8)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(RMLoadError, match=r"rm t: .*weights do not match a llama classifier \(unexpected .*q_norm"):
        NativeDecoderClassifier.load(str(folder), "rm t")


def test_classifier_rm_uses_it_on_a_float32_cpu_load_only(tiny_classifier_dir):
    conv = [{"role": "user", "content": "what is two plus two"}]
    responses = ["four", "it is four, since two and two make four", "five"]
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, device="cpu", dtype="float32")
    rm.load()
    assert isinstance(rm.model, NativeDecoderClassifier) and rm.packs_batches and rm.concurrent_batches
    encs = rm.encode_many(["a", "b", "c"], [conv] * 3, responses)
    ours = rm.score_batch(encs)
    native_decoder.set_backend("transformers")
    try:
        theirs_rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, device="cpu", dtype="float32")
        assert theirs_rm.native_unsupported() == "scoring.cpu_model is transformers"
        theirs_rm.load()
        assert not isinstance(theirs_rm.model, NativeDecoderClassifier)
        theirs = theirs_rm.score_batch(encs)
    finally:
        native_decoder.set_backend("rmeval")
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    bf16 = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, device="cpu", dtype="bfloat16")
    assert bf16.native_unsupported() == "not a float32 CPU load"
    rm.packs_batches = False  # the padded path of the same model
    np.testing.assert_allclose(rm.score_batch(encs), ours, atol=1e-5)
    with pytest.raises(ValueError, match="rmeval or transformers|one of rmeval, transformers"):
        native_decoder.set_backend("onnx")
