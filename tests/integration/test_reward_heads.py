"""Backbone + published head (Starling, INF-ORM, Beaver cost) and custom-forward RMs (InternLM2, Eurus) on tiny
stand-ins with the same interface; every score equals a hand computation from the stand-in's weights."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from rmeval.hf import RMLoadError
from rmeval.ids import text_id
from rmeval.rms.custom_forward import CustomForwardRM
from rmeval.rms.heads import BackboneHeadRM
from rmeval.scoring import score_texts

HERE = Path(__file__).parent
CONV = [{"role": "user", "content": "please explain the code"}]
RESPONSES = ["ok", "a longer and more careful answer to the question", "no", "sorry cannot assist"]


def _frame():
    return pd.DataFrame({"text_id": [text_id(CONV, r) for r in RESPONSES], "conversation": [CONV] * len(RESPONSES),
                         "response": RESPONSES})


def _copy_tokenizer(src: Path, dst: Path) -> None:
    for f in src.iterdir():
        if f.name.startswith(("tokenizer", "chat_template", "special_tokens")):
            shutil.copy(f, dst / f.name)


@pytest.fixture(scope="module")
def backbone(tiny_classifier_dir):
    """The tiny classifier's Llama backbone (float32), and its config."""
    from transformers import LlamaForSequenceClassification

    clf = LlamaForSequenceClassification.from_pretrained(tiny_classifier_dir, dtype=torch.float32)
    return clf.model.eval(), clf.config


def _write_checkpoint(out: Path, backbone, config, tokenizer_dir, backbone_prefix: str, head: dict[str, torch.Tensor]) -> Path:
    out.mkdir(parents=True)
    tensors = {f"{backbone_prefix}.{k}": v.contiguous().clone() for k, v in backbone.state_dict().items()}
    tensors.update({k: v.contiguous() for k, v in head.items()})
    save_file(tensors, str(out / "model.safetensors"))
    cfg = config.to_dict()
    cfg["architectures"] = ["CustomRewardModel"]  # not a transformers class: only the keys say what the head is
    (out / "config.json").write_text(json.dumps(cfg))
    _copy_tokenizer(tokenizer_dir, out)
    return out


def _last_hidden(rm, backbone) -> np.ndarray:
    """Each text alone (no padding) through the backbone: the final hidden state at its last token."""
    rows = []
    for r in RESPONSES:
        ids = torch.tensor([rm.encode("x", CONV, r).payload])
        with torch.inference_mode():
            rows.append(backbone(input_ids=ids).last_hidden_state[0, -1].double().numpy())
    return np.stack(rows)


def _scores(rm) -> np.ndarray:
    out, _ = score_texts(rm, _frame(), progress=False)
    return out["score"].to_numpy()


def test_starling_style_linear_v_head(tmp_path, backbone, tiny_classifier_dir):
    model, config = backbone
    g = torch.Generator().manual_seed(3)
    w = torch.randn(1, config.hidden_size, generator=g)
    path = _write_checkpoint(tmp_path / "starling", model, config, tiny_classifier_dir, "transformer", {"v_head.weight": w})
    rm = BackboneHeadRM(name="starling", model=str(path), head_prefix="v_head", backbone_prefix="transformer",
                        device="cpu", dtype="float32", max_length=64)
    expected = _last_hidden(rm, model) @ w.double().numpy()[0]
    np.testing.assert_allclose(_scores(rm), expected, rtol=1e-4, atol=1e-5)
    rm.token_budget = rm.max_batch_size = 1  # unbatched equals batched
    np.testing.assert_allclose(_scores(rm), expected, rtol=1e-4, atol=1e-5)
    assert rm.fingerprint()["head_prefix"] == "v_head"


def test_inf_orm_style_mlp_head(tmp_path, backbone, tiny_classifier_dir):
    model, config = backbone
    g = torch.Generator().manual_seed(4)
    h = config.hidden_size
    head = {"score.0.weight": torch.randn(h, h, generator=g), "score.0.bias": torch.randn(h, generator=g),
            "score.2.weight": torch.randn(1, h, generator=g), "score.2.bias": torch.randn(1, generator=g)}
    path = _write_checkpoint(tmp_path / "inform", model, config, tiny_classifier_dir, "model", head)
    rm = BackboneHeadRM(name="inf-orm", model=str(path), head_prefix="score", device="cpu", dtype="float32")
    hid = _last_hidden(rm, model)
    d = {k: v.double().numpy() for k, v in head.items()}
    expected = np.maximum(hid @ d["score.0.weight"].T + d["score.0.bias"], 0) @ d["score.2.weight"][0] + d["score.2.bias"][0]
    np.testing.assert_allclose(_scores(rm), expected, rtol=1e-4, atol=1e-5)


def test_beaver_cost_sign_and_errors(tmp_path, backbone, tiny_classifier_dir):
    model, config = backbone
    g = torch.Generator().manual_seed(5)
    w, b = torch.randn(1, config.hidden_size, generator=g), torch.randn(1, generator=g)
    path = _write_checkpoint(tmp_path / "beaver", model, config, tiny_classifier_dir, "model",
                             {"score_head.weight": w, "score_head.bias": b})
    cost = BackboneHeadRM(name="beaver-cost", model=str(path), head_prefix="score_head", sign=-1, device="cpu", dtype="float32")
    expected_cost = _last_hidden(cost, model) @ w.double().numpy()[0] + float(b)
    np.testing.assert_allclose(_scores(cost), -expected_cost, rtol=1e-4, atol=1e-5)
    wrong = BackboneHeadRM(name="beaver-cost", model=str(path), head_prefix="v_head", device="cpu", dtype="float32")
    with pytest.raises(RMLoadError, match="rm beaver-cost: .*field 'head_prefix': no weights under 'v_head'"):
        wrong.load()
    with pytest.raises(RMLoadError, match="field 'sign'"):
        BackboneHeadRM(name="x", model=str(path), head_prefix="score_head", sign=2)


@pytest.fixture(scope="module")
def custom_forward_dirs(tmp_path_factory, tiny_classifier_dir):
    sys.path.insert(0, str(HERE))
    try:
        modeling = importlib.import_module("custom_forward.modeling_tinyreward")
        config_mod = importlib.import_module("custom_forward.configuration_tinyreward")
    finally:
        sys.path.pop(0)
    dirs = {}
    for i, cls in enumerate(("TinyInternRM", "TinyEurusRM")):
        out = tmp_path_factory.mktemp("cf") / cls
        torch.manual_seed(10 + i)
        getattr(modeling, cls)(config_mod.TinyRewardConfig(vocab_size=600, hidden_size=8)).save_pretrained(out)
        for name in ("configuration_tinyreward.py", "modeling_tinyreward.py"):
            (out / name).write_text((HERE / "custom_forward" / name).read_text())
        cfg = json.loads((out / "config.json").read_text())
        cfg["auto_map"] = {"AutoConfig": "configuration_tinyreward.TinyRewardConfig", "AutoModel": f"modeling_tinyreward.{cls}"}
        (out / "config.json").write_text(json.dumps(cfg))
        _copy_tokenizer(tiny_classifier_dir, out)
        dirs[cls] = out
    return dirs


def _embed_reward(path: Path, last_ids: list[int]) -> np.ndarray:
    from safetensors.torch import load_file

    state = load_file(str(path / "model.safetensors"))
    emb, v = state["embed.weight"].double().numpy(), state["v_head.weight"].double().numpy()[0]
    return emb[last_ids] @ v


def test_internlm2_style_reward_token(custom_forward_dirs):
    path = custom_forward_dirs["TinyInternRM"]
    with pytest.raises(RMLoadError, match="maps AutoModel to custom code .*trust_remote_code: true"):
        CustomForwardRM(name="internlm2", model=str(path), output_field="logits", end_token="<|system|>").load()
    rm = CustomForwardRM(name="internlm2", model=str(path), trust_remote_code=True, output_field="logits",
                         end_token="<|system|>", device="cpu", dtype="float32", max_length=16)
    reward_id = rm.tokenizer.convert_tokens_to_ids("<|system|>")
    encs = [rm.encode("x", CONV, r) for r in RESPONSES]
    assert all(e.payload[-1] == reward_id and e.n_tokens <= 16 for e in encs)
    assert any(e.truncated for e in encs)  # the long answer is cut, the reward token still ends it
    # every text ends in the reward token, so by hand the reward is embed[reward token] . v_head for all of them
    np.testing.assert_allclose(_scores(rm), _embed_reward(path, [reward_id] * len(RESPONSES)), rtol=1e-5, atol=1e-6)
    with pytest.raises(RMLoadError, match="field 'end_token'"):
        CustomForwardRM(name="internlm2", model=str(path), trust_remote_code=True, end_token="[NOT_A_TOKEN]")


def test_eurus_style_bare_tensor_output(custom_forward_dirs):
    path = custom_forward_dirs["TinyEurusRM"]
    rm = CustomForwardRM(name="eurus", model=str(path), trust_remote_code=True, device="cpu", dtype="float32")
    last = [rm.encode("x", CONV, r).payload[-1] for r in RESPONSES]
    np.testing.assert_allclose(_scores(rm), _embed_reward(path, last), rtol=1e-5, atol=1e-6)
    missing = CustomForwardRM(name="eurus", model=str(path), trust_remote_code=True, output_field="rewards")
    with pytest.raises(RMLoadError, match="no field 'rewards'"):
        missing.score_batch([missing.encode("x", CONV, "ok")])


def test_grm_style_nested_value_head(tmp_path, backbone, tiny_classifier_dir):
    """GRM: `v_head.summary` holds Linear(h, 16), ReLU, Linear(16, 1) under a dotted prefix."""
    model, config = backbone
    g = torch.Generator().manual_seed(6)
    h = config.hidden_size
    head = {"v_head.summary.0.weight": torch.randn(16, h, generator=g), "v_head.summary.0.bias": torch.randn(16, generator=g),
            "v_head.summary.2.weight": torch.randn(1, 16, generator=g), "v_head.summary.2.bias": torch.randn(1, generator=g)}
    path = _write_checkpoint(tmp_path / "grm", model, config, tiny_classifier_dir, "model", head)
    rm = BackboneHeadRM(name="grm", model=str(path), head_prefix="v_head.summary", device="cpu", dtype="float32")
    d = {k.removeprefix("v_head.summary."): v.double().numpy() for k, v in head.items()}
    hid = _last_hidden(rm, model)
    expected = np.maximum(hid @ d["0.weight"].T + d["0.bias"], 0) @ d["2.weight"][0] + d["2.bias"][0]
    np.testing.assert_allclose(_scores(rm), expected, rtol=1e-4, atol=1e-5)
