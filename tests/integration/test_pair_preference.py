"""A label-token pair-preference model (RLHFlow-style) on a tiny causal LM stand-in, through the judges' comparisons
path: every verdict equals the sign of logit(A) - logit(B) computed by hand from the model, one prompt at a time."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from rmeval.hf import RMLoadError
from rmeval.metrics import comparison_outcomes
from rmeval.rms.judge import PairwiseJudgeRM, load_template
from rmeval.rms.pair_preference import PairPreferenceBackend


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from rmeval.rms.tiny_lm import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("pp") / "lm", seed=1)


def _data():
    conv = [{"role": "user", "content": "please write code"}]
    responses = {"c1": "here is the code", "r1": "no", "r2": "sorry cannot assist", "c2": "a short answer", "r3": "bad"}
    texts = pd.DataFrame({"text_id": list(responses), "conversation": [conv] * len(responses),
                          "response": list(responses.values())})
    items = pd.DataFrame({"item_id": ["p1", "b1"], "format": ["pairwise", "bon"], "goal": ["help", "help"],
                          "chosen_id": ["c1", "c2"], "rejected_ids": [["r1"], ["r2", "r3"]],
                          "chosen_positions": [["B"], ["A", "B"]]})
    return items, texts


def test_verdicts_equal_hand_computed_label_logits(tiny_lm):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    backend = {"_target_": "rmeval.rms.pair_preference.PairPreferenceBackend", "name": "pp", "model": str(tiny_lm),
               "device": "cpu", "dtype": "float32", "batch_size": 2}
    judge = PairwiseJudgeRM(name="pp", backend=backend, template="pair_preference_v1", both_orders=True)
    items, texts = _data()
    comparisons = judge.compare(items, texts, progress=False)
    assert len(comparisons) == 6  # 3 (chosen, loser) pairs x 2 orders

    tok = AutoTokenizer.from_pretrained(tiny_lm)
    lm = AutoModelForCausalLM.from_pretrained(tiny_lm, dtype=torch.float32).eval()
    a_id, b_id = tok.encode("A", add_special_tokens=False)[0], tok.encode("B", add_special_tokens=False)[0]
    by_id = texts.set_index("text_id")
    template = load_template("pair_preference_v1")
    for row in comparisons.itertuples():
        prompt = template.format(conversation="User: please write code", response_a=by_id.loc[row.a_id, "response"],
                                 response_b=by_id.loc[row.b_id, "response"])
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        ids = torch.tensor([tok(text, add_special_tokens=False)["input_ids"]])
        with torch.inference_mode():
            last = lm(input_ids=ids).logits[0, -1]
        expected = "A" if last[a_id] > last[b_id] else "B" if last[b_id] > last[a_id] else "tie"
        assert row.verdict == expected
        assert row.chosen_won == ((expected == "A") == row.chosen_is_a and expected != "tie")
    outcomes, stats = comparison_outcomes(items, comparisons)
    assert stats["n_pairs_both_orders"] == 3 and len(outcomes) == 2


def test_multi_token_label_is_refused(tiny_lm):
    backend = PairPreferenceBackend(model=str(tiny_lm), label_a="please help", device="cpu", dtype="float32", name="pp")
    with pytest.raises(RMLoadError, match="backend pp: label 'please help' is .* a label must be one token"):
        backend.load()


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory):
    """A tiny random flan-t5-shaped seq2seq model with the in-process tokenizer (SteamSHP's interface)."""
    from transformers import T5Config, T5ForConditionalGeneration

    from rmeval.tiny import train_tokenizer

    out = tmp_path_factory.mktemp("shp") / "t5"
    tok = train_tokenizer(vocab_size=512, seed=2)
    config = T5Config(vocab_size=len(tok), d_model=16, d_kv=4, d_ff=32, num_layers=1, num_decoder_layers=1, num_heads=2,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id)
    torch.manual_seed(2)
    T5ForConditionalGeneration(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_steamshp_style_seq2seq_first_decoded_label(tiny_t5):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    backend = {"_target_": "rmeval.rms.pair_preference.PairPreferenceBackend", "name": "shp", "model": str(tiny_t5),
               "architecture": "seq2seq", "device": "cpu", "dtype": "float32", "batch_size": 4}
    judge = PairwiseJudgeRM(name="shp", backend=backend, template="steamshp_v1")
    items, texts = _data()
    comparisons = judge.compare(items, texts, progress=False)
    tok = AutoTokenizer.from_pretrained(tiny_t5)
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_t5, dtype=torch.float32).eval()
    a_id, b_id = tok.encode("A", add_special_tokens=False)[0], tok.encode("B", add_special_tokens=False)[0]
    by_id = texts.set_index("text_id")
    template = load_template("steamshp_v1")
    verdicts = []
    for row in comparisons.itertuples():
        prompt = template.format(conversation="User: please write code", response_a=by_id.loc[row.a_id, "response"],
                                 response_b=by_id.loc[row.b_id, "response"])
        assert prompt.startswith("POST: User: please write code\n\n RESPONSE A: ") and prompt.endswith("Which response is better? RESPONSE")
        ids = torch.tensor([tok(prompt)["input_ids"]])
        with torch.inference_mode():
            first = model(input_ids=ids, decoder_input_ids=torch.tensor([[model.config.decoder_start_token_id]])).logits[0, 0]
        expected = "A" if first[a_id] > first[b_id] else "B" if first[b_id] > first[a_id] else "tie"
        assert row.verdict == expected
        verdicts.append(expected)
    assert len(verdicts) == 3


def test_rlhflow_usage_reads_the_label_after_the_user_turn_without_bos(tiny_lm):
    from rmeval.llm.base import ChatRequest

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_lm)
    req = ChatRequest(key="k", messages=[{"role": "user", "content": "[CONTEXT] q [RESPONSE A] a [RESPONSE B] b \n"}])
    plain = PairPreferenceBackend(model=str(tiny_lm), device="cpu", dtype="float32", add_generation_prompt=False, strip_bos=True)
    plain.load()
    ids = plain.encode(req)
    assert ids[0] != tok.bos_token_id and ids[-1] == tok.eos_token_id  # ends at the user turn's end, no BOS
    default = PairPreferenceBackend(model=str(tiny_lm), device="cpu", dtype="float32")
    default.load()
    with_prompt = default.encode(req)
    assert with_prompt[0] == tok.bos_token_id and tok.decode(with_prompt[-1:]) == "<|assistant|>"


@pytest.fixture(scope="module")
def tiny_pairrm(tmp_path_factory):
    """A tiny DeBERTa-v2 PairRM checkpoint: `pretrained_model.*` + `head_layer.{1,4}` (2 tasks), prefix ids in config."""
    import json

    from safetensors.torch import save_file
    from transformers import DebertaV2Config, DebertaV2Model

    from rmeval.tiny import train_tokenizer

    out = tmp_path_factory.mktemp("pairrm") / "pairrm"
    out.mkdir()
    tok = train_tokenizer(vocab_size=512, seed=3)
    tok.add_special_tokens({"additional_special_tokens": ["<|source|>", "<|candidate1|>", "<|candidate2|>"]})
    ids = tok.convert_tokens_to_ids(["<|source|>", "<|candidate1|>", "<|candidate2|>"])
    config = DebertaV2Config(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=32, max_position_embeddings=2048, pad_token_id=tok.pad_token_id)
    torch.manual_seed(3)
    encoder = DebertaV2Model(config).eval()
    g = torch.Generator().manual_seed(4)
    head = {"head_layer.1.weight": torch.randn(16, 32, generator=g), "head_layer.1.bias": torch.randn(16, generator=g),
            "head_layer.4.weight": torch.randn(2, 16, generator=g), "head_layer.4.bias": torch.randn(2, generator=g)}
    tensors = {f"pretrained_model.{k}": v.contiguous().clone() for k, v in encoder.state_dict().items()}
    save_file({**tensors, **head}, str(out / "model.safetensors"))
    cfg = config.to_dict()
    cfg.update(source_prefix_id=ids[0], cand1_prefix_id=ids[1], cand2_prefix_id=ids[2], n_tasks=2,
               architectures=["DebertaV2PairRM"])
    (out / "config.json").write_text(json.dumps(cfg))
    tok.save_pretrained(out)
    return out, encoder, head, ids


def test_pairrm_verdicts_equal_hand_computed_head_deltas(tiny_pairrm):
    import numpy as np

    from rmeval.rms.pair_preference import PairRMJudge

    path, encoder, head, prefix_ids = tiny_pairrm
    backend = {"_target_": "rmeval.rms.pair_preference.PairRMBackend", "name": "pairrm", "model": str(path),
               "device": "cpu", "dtype": "float32", "batch_size": 3}
    judge = PairRMJudge(name="pairrm", backend=backend)
    items, texts = _data()
    comparisons = judge.compare(items, texts, progress=False)
    assert len(comparisons) == 6
    d = {k: v.double().numpy() for k, v in head.items()}

    def head_fn(x):
        return np.tanh(x @ d["head_layer.1.weight"].T + d["head_layer.1.bias"]) @ d["head_layer.4.weight"].T + d["head_layer.4.bias"]

    rows, requests = judge.plan(items, texts)
    deltas = []
    for row, req in zip(comparisons.itertuples(), requests):
        ids = judge.backend.encode(req)
        assert ids[0] == prefix_ids[0] and ids.count(prefix_ids[1]) == 1 and ids.count(prefix_ids[2]) == 1
        with torch.inference_mode():
            hid = encoder(input_ids=torch.tensor([ids])).last_hidden_state[0].double().numpy()
        src, c1, c2 = (hid[ids.index(p)] for p in prefix_ids)
        delta = float((head_fn(np.concatenate([src, c1])) - head_fn(np.concatenate([src, c2]))).mean())
        deltas.append(delta)
        assert row.verdict == ("A" if delta > 0 else "B" if delta < 0 else "tie")
        assert float(row.raw.split("delta=")[1]) == pytest.approx(delta, abs=1e-4)
    assert any(abs(x) > 1e-3 for x in deltas)
