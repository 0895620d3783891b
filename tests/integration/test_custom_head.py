"""Custom-head RMs (ArmoRM-style) load only when the YAML trusts remote code, and score from `output_field`."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rmeval.rms.classifier import RMLoadError, SequenceClassifierRM
from rmeval.scoring import score_texts

HERE = Path(__file__).parent / "custom_head"
CONV = [{"role": "user", "content": "please help with the code"}]


@pytest.fixture(scope="module")
def custom_dir(tmp_path_factory, tiny_classifier_dir):
    out = tmp_path_factory.mktemp("armo") / "tiny-armo"
    out.mkdir()
    sys.path.insert(0, str(HERE.parent))
    try:
        modeling = importlib.import_module("custom_head.modeling_tinyarmo")
        config_mod = importlib.import_module("custom_head.configuration_tinyarmo")
    finally:
        sys.path.pop(0)
    config = config_mod.TinyArmoConfig(vocab_size=600, hidden_size=16, num_objectives=3)
    torch.manual_seed(0)
    modeling.TinyArmoRM(config).save_pretrained(out)
    for name in ("configuration_tinyarmo.py", "modeling_tinyarmo.py"):
        text = (HERE / name).read_text()
        (out / name).write_text(text)
    cfg = json.loads((out / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "configuration_tinyarmo.TinyArmoConfig",
                       "AutoModelForSequenceClassification": "modeling_tinyarmo.TinyArmoRM"}
    (out / "config.json").write_text(json.dumps(cfg))
    for f in tiny_classifier_dir.iterdir():  # the tokenizer and chat template of the tiny classifier
        if f.name.startswith(("tokenizer", "chat_template", "special_tokens")):
            shutil.copy(f, out / f.name)
    return out


def test_refused_without_trust(custom_dir):
    with pytest.raises(RMLoadError, match="trust_remote_code: true"):
        SequenceClassifierRM(name="armo", model=str(custom_dir), output_field="score").load()


def test_custom_head_scores_from_its_output_field(custom_dir):
    import pandas as pd

    from rmeval.ids import text_id

    rm = SequenceClassifierRM(name="armo", model=str(custom_dir), trust_remote_code=True, output_field="score", max_length=64)
    responses = ["ok", "a longer and more careful answer", "no"]
    frame = pd.DataFrame({"text_id": [text_id(CONV, r) for r in responses], "conversation": [CONV] * 3, "response": responses})
    batched, _ = score_texts(rm, frame, progress=False)
    rm.token_budget, rm.max_batch_size = 1, 1
    single, _ = score_texts(rm, frame, progress=False)
    np.testing.assert_allclose(batched["score"], single["score"], atol=1e-5)
    enc = rm.encode("x", CONV, "ok")
    with torch.inference_mode():
        ids = torch.tensor([enc.payload])
        direct = rm.model(input_ids=ids, attention_mask=torch.ones_like(ids)).score.item()
    assert batched["score"].iloc[0] == pytest.approx(direct, abs=1e-5)
    assert rm.fingerprint()["output_field"] == "score"
    objective = SequenceClassifierRM(name="armo", model=str(custom_dir), trust_remote_code=True, output_field="rewards", score_index=2)
    assert np.isfinite(objective.score_batch([objective.encode("x", CONV, "ok")])).all()
    missing = SequenceClassifierRM(name="armo", model=str(custom_dir), trust_remote_code=True)
    with pytest.raises(RMLoadError, match="no field 'logits'"):
        missing.score_batch([missing.encode("x", CONV, "ok")])
