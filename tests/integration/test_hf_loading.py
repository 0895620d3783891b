"""The shared HF loading module (rmeval.hf): custom-code refusal for every auto class, placement knobs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rmeval.hf import Placement, RMLoadError
from rmeval.ids import text_id
from rmeval.scoring import score_texts

CONV = [{"role": "user", "content": "please explain the code"}]


@pytest.fixture(scope="module")
def custom_code_lm(tmp_path_factory):
    """A tiny causal LM whose config maps AutoModelForCausalLM to custom code (the file is never run)."""
    from rmeval.rms.tiny_lm import build_tiny_causal_lm

    out = build_tiny_causal_lm(tmp_path_factory.mktemp("lm") / "custom", seed=0)
    cfg = json.loads((out / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "modeling_custom.CustomForCausalLM"}
    (out / "config.json").write_text(json.dumps(cfg))
    return out


def test_hf_local_refuses_untrusted_causal_lm_code(custom_code_lm):
    """Without the refusal, transformers silently loads the built-in Llama class and drops the custom code."""
    from rmeval.llm.hf_local import HFLocalBackend

    backend = HFLocalBackend(model=str(custom_code_lm), name="custom-judge", device="cpu", dtype="float32")
    with pytest.raises(RMLoadError, match=r"backend custom-judge: .* maps AutoModelForCausalLM to custom code .*trust_remote_code: true"):
        backend.load()


def test_placement_rejects_bad_knobs():
    with pytest.raises(RMLoadError, match="rm x: field 'attn_implementation'"):
        Placement.build("rm x", "cpu", "float32", attn_implementation="fast")
    with pytest.raises(RMLoadError, match="rm x: field 'device_map'"):
        Placement.build("rm x", "cpu", "float32", device_map="everywhere")
    with pytest.raises(RMLoadError, match="rm x: field 'max_memory': only used with a device_map"):
        Placement.build("rm x", "cpu", "float32", max_memory={"0": "10GiB"})
    with pytest.raises(RMLoadError, match="rm x: field 'dtype'"):
        Placement.build("rm x", "cpu", "float64")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        with pytest.raises(RMLoadError, match="rm x: field 'quantization': 8bit loading needs the bitsandbytes package"):
            Placement.build("rm x", "cpu", "float32", quantization="8bit")
    placed = Placement.build("rm x", "cpu", "float32", device_map="auto", max_memory={"0": "70GiB", "cpu": "100GiB"})
    assert placed.from_pretrained_kwargs()["max_memory"] == {0: "70GiB", "cpu": "100GiB"}


def test_two_way_device_map_split_scores_like_one_device(tiny_classifier_dir, tmp_path):
    """Layers 0 and the embeddings on the CPU, the rest offloaded to disk (accelerate's hooks move them in and out):
    the same scores as the whole model on one device."""
    from rmeval.rms.classifier import SequenceClassifierRM

    responses = ["ok", "a longer and more careful answer to the question", "no", "sorry cannot assist"]
    frame = pd.DataFrame({"text_id": [text_id(CONV, r) for r in responses], "conversation": [CONV] * 4, "response": responses})
    whole = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), device="cpu", dtype="float32")
    split_map = {"model.embed_tokens": "cpu", "model.rotary_emb": "cpu", "model.layers.0": "cpu",
                 "model.layers.1": "disk", "model.norm": "disk", "score": "disk"}
    split = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), device="cpu", dtype="float32",
                                 device_map=split_map, offload_folder=str(tmp_path / "offload"))
    a, _ = score_texts(whole, frame, progress=False)
    b, _ = score_texts(split, frame, progress=False)
    assert set(split.model.hf_device_map.values()) == {"cpu", "disk"}
    np.testing.assert_allclose(a["score"].to_numpy(), b["score"].to_numpy(), rtol=1e-5, atol=1e-5)
    assert np.ptp(a["score"].to_numpy()) > 0


def test_unpinned_hub_revision_is_flagged_in_the_fingerprint(tiny_classifier_dir):
    from rmeval.hf import unpinned_revision
    from rmeval.rms.classifier import SequenceClassifierRM

    assert "revision_warning" in unpinned_revision("Nexusflow/Starling-RM-34B", None)
    assert unpinned_revision("Nexusflow/Starling-RM-34B", "0123abc") == {}
    assert unpinned_revision(str(tiny_classifier_dir), None) == {}  # a local folder is what it is
    local = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), device="cpu")
    assert "revision_warning" not in local.fingerprint()
    hub_named = SequenceClassifierRM(name="tiny", model="someone/some-rm", tokenizer=str(tiny_classifier_dir), device="cpu")
    assert "not pinned" in hub_named.fingerprint()["revision_warning"]
