"""Sequence-classifier RM on a generated tiny model: batching, padding, truncation, templates, loading rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from rmeval.rms.classifier import RMLoadError, SequenceClassifierRM, free_pad_id
from rmeval.scoring import score_texts

CONV = [{"role": "user", "content": "please explain the code"}]
MULTI = [
    {"role": "user", "content": "hello"},
    {"role": "assistant", "content": "hi, how can I help"},
    {"role": "user", "content": "write a short poem"},
]
RESPONSES = ["ok", "here is a short answer", "a much longer answer " * 6, "thanks", "first step then second step " * 3]


def texts_frame(responses=RESPONSES, conv=CONV):
    from rmeval.ids import text_id

    return pd.DataFrame(
        {
            "text_id": [text_id(conv, r) for r in responses],
            "conversation": [conv] * len(responses),
            "response": responses,
        }
    )


def reference_score(rm: SequenceClassifierRM, ids: list[int]) -> float:
    """The score head applied to the hidden state of the text's real last token (no padding at all)."""
    from helpers import hf_alone

    return hf_alone(rm.model_id, ids)


def test_template_renders_whole_conversation_without_double_bos(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256)
    text = rm.render(MULTI, "roses are red")
    assert text == "<s><|user|>hello</s><|assistant|>hi, how can I help</s><|user|>write a short poem</s><|assistant|>roses are red</s>"
    enc = rm.encode("x", MULTI, "roses are red")
    bos = rm.tokenizer.bos_token_id
    assert enc.payload[0] == bos and enc.payload[1] != bos
    assert enc.payload[-1] == rm.tokenizer.eos_token_id  # the template's final EOS is kept ...
    assert rm.tokenizer.pad_token_id == rm.tokenizer.eos_token_id  # ... although pad = EOS (the pitfall)


def test_score_pools_the_real_last_token_even_when_pad_is_eos(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256)
    encs = [rm.encode(str(i), CONV, r) for i, r in enumerate(RESPONSES)]
    batched = rm.score_batch(encs)
    expected = [reference_score(rm, e.payload) for e in encs]
    np.testing.assert_allclose(batched, expected, atol=1e-4)
    # What HF's own pooling gives with pad = EOS: the token before the final EOS. It must differ from ours.
    with torch.inference_mode():
        from helpers import hf_classifier

        naive = hf_classifier(rm.model_id)(input_ids=torch.tensor([encs[0].payload])).logits[0, 0].item()
    assert abs(naive - expected[0]) > 1e-4


def test_batched_equals_unbatched(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=100_000)
    frame = texts_frame()
    batched, stats_b = score_texts(rm, frame, progress=False)
    rm.token_budget, rm.max_batch_size = 1, 1
    single, stats_s = score_texts(rm, frame, progress=False)
    assert stats_b.n_batches == 1 and stats_s.n_batches == len(frame)
    np.testing.assert_allclose(batched["score"].to_numpy(), single["score"].to_numpy(), atol=1e-4)
    assert list(batched["text_id"]) == list(frame["text_id"])


def test_truncation_is_counted_and_keeps_the_response(tiny_classifier_dir):
    long_conv = [{"role": "user", "content": "question words " * 200}]
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=32, truncation_side="left")
    frame = texts_frame(["short answer", "another answer"], conv=long_conv)
    scores, stats = score_texts(rm, frame, progress=False)
    assert stats.n_truncated == 2 and scores["truncated"].all()
    assert (scores["n_tokens"] == 32).all()
    enc = rm.encode("x", long_conv, "short answer")
    assert enc.payload[0] == rm.tokenizer.bos_token_id  # the leading BOS survives left truncation
    tail = rm.tokenizer.decode(enc.payload[-6:])
    assert "answer" in tail
    right = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=32, truncation_side="right")
    assert "answer" not in right.tokenizer.decode(right.encode("x", long_conv, "short answer").payload)
    short = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=4096)
    _, stats_full = score_texts(short, frame, progress=False)
    assert stats_full.n_truncated == 0


def test_fallback_template_when_asked(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), chat_template="fallback")
    assert rm.render(CONV, "ok") == "User: please explain the code\n\nAssistant: ok"
    assert rm.fingerprint()["chat_template_source"] == "fallback"
    auto = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir))
    assert auto.fingerprint()["chat_template_sha256"] != rm.fingerprint()["chat_template_sha256"]


def test_free_pad_id_avoids_content_tokens():
    assert free_pad_id([[1, 2, 3]], preferred=0, vocab_size=10) == 0
    assert free_pad_id([[0, 9, 3]], preferred=0, vocab_size=10) == 8


def test_remote_code_is_refused_unless_the_yaml_allows_it(tiny_classifier_dir, tmp_path):
    model_dir = tmp_path / "custom"
    model_dir.mkdir()
    for f in tiny_classifier_dir.iterdir():
        (model_dir / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((model_dir / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForSequenceClassification": "modeling_custom.CustomRM", "AutoConfig": "configuration_custom.CustomConfig"}
    (model_dir / "config.json").write_text(json.dumps(cfg))
    rm = SequenceClassifierRM(name="custom", model=str(model_dir))
    with pytest.raises(RMLoadError, match="trust_remote_code: true"):
        rm.load()


def test_missing_model_names_the_yaml(tmp_path):
    with pytest.raises(RMLoadError, match=r"conf/rm/ghost.yaml"):
        SequenceClassifierRM(name="ghost", model=str(tmp_path / "nowhere" / "model"))


def test_dtype_and_device_are_recorded(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), dtype="bfloat16", device="cpu")
    assert rm.fingerprint()["dtype"] == "bfloat16"
    rm.load()
    assert next(rm.model.parameters()).dtype == torch.bfloat16
    score = rm.score_batch([rm.encode("x", CONV, "ok")])
    assert score.dtype == np.float64 and np.isfinite(score).all()
