"""rmeval's CPU attention kernel (rmeval.cpu_kernels) and the engine's CPU workers (rmeval.scoring.cpu_workers):
the same attention as PyTorch's for every segment shape a packed row has, the same scores with one worker or
several, and PyTorch's kernel wherever rmeval's cannot be built."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import torch

from rmeval import cpu_kernels
from rmeval.rms import packed
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.scoring import cpu_workers, score_texts

needs_kernel = pytest.mark.skipif(not cpu_kernels.load(), reason=f"no C compiler here ({cpu_kernels.unavailable_reason()})")


def reference(q, k, v, segments, causal=True):
    """PyTorch's sdpa per segment, keys of the prefix and the span concatenated, an explicit boolean mask."""
    heads, t, dim = q.shape[1], q.shape[2], q.shape[3]
    rep = heads // k.shape[1]
    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
    out = torch.zeros(1, t, heads, dim)
    for lo, hi, p_lo, p_hi, q_from in segments:
        kk = torch.cat((k[:, :, p_lo:p_hi], k[:, :, lo:hi]), 2)
        vv = torch.cat((v[:, :, p_lo:p_hi], v[:, :, lo:hi]), 2)
        n, p = hi - lo, p_hi - p_lo
        mask = torch.ones(n, p + n, dtype=torch.bool)
        if causal:
            mask[:, p:] = torch.ones(n, n, dtype=torch.bool).tril_()
        o = torch.nn.functional.scaled_dot_product_attention(q[:, :, lo:hi], kk, vv, attn_mask=mask)
        out[:, q_from:hi] = o.transpose(1, 2)[:, q_from - lo:]
    return out


def projections(t, heads, kv_heads, dim, seed=0):
    """(1, heads, T, dim) views of (1, T, heads * dim) projections, as a decoder's attention hands them over."""
    g = torch.Generator().manual_seed(seed)
    q = (torch.randn(1, t, heads * dim, generator=g) * 2).view(1, t, heads, dim).transpose(1, 2)
    k = (torch.randn(1, t, kv_heads * dim, generator=g) * 2).view(1, t, kv_heads, dim).transpose(1, 2)
    v = torch.randn(1, t, kv_heads * dim, generator=g).view(1, t, kv_heads, dim).transpose(1, 2)
    return q, k, v


# A packed row: texts on their own, a shared prefix (150:200) with two members, a text of one token, and rows
# that compute only a text's last query (the last layer) or start mid-span.
SEGMENTS = [(0, 100, 0, 0, 0), (100, 131, 0, 0, 100), (131, 132, 0, 0, 131), (150, 200, 0, 0, 150),
            (200, 417, 150, 200, 200), (417, 700, 150, 200, 699), (700, 733, 0, 0, 720)]


@needs_kernel
@pytest.mark.parametrize("heads,kv_heads,dim", [(12, 6, 32), (4, 2, 8), (8, 8, 64), (4, 1, 16), (2, 2, 24), (3, 1, 12)])
def test_kernel_equals_pytorch_attention_on_every_segment_shape(heads, kv_heads, dim):
    q, k, v = projections(733, heads, kv_heads, dim)
    table = torch.tensor(SEGMENTS, dtype=torch.int64)
    out = torch.full((1, 733, heads, dim), 7.0)
    cpu_kernels.attention(q, k, v, table, dim ** -0.5, True, out)
    want = reference(q, k, v, SEGMENTS)
    computed = torch.zeros(733, dtype=torch.bool)
    for lo, hi, _, _, q_from in SEGMENTS:
        computed[q_from:hi] = True
    torch.testing.assert_close(out[:, computed], want[:, computed], atol=1e-5, rtol=1e-5)
    assert (out[:, ~computed] == 7.0).all()  # rows no segment computes are left alone


@needs_kernel
def test_kernel_non_causal_and_long_rows():
    q, k, v = projections(1100, 4, 2, 32, seed=1)
    segments = [(0, 1030, 0, 0, 0), (1030, 1100, 0, 1030, 1030)]
    out = torch.zeros(1, 1100, 4, 32)
    cpu_kernels.attention(q, k, v, torch.tensor(segments), 32 ** -0.5, False, out)
    torch.testing.assert_close(out, reference(q, k, v, segments, causal=False), atol=1e-5, rtol=1e-5)


def test_kernel_is_used_only_single_threaded_float32_cpu(monkeypatch):
    q = torch.zeros(1, 2, 4, 8)
    monkeypatch.setattr(cpu_kernels, "load", lambda: True)
    seen = {}

    def probe():
        torch.set_num_threads(1)
        seen["one"] = cpu_kernels.usable(q)
        seen["bf16"] = cpu_kernels.usable(q.bfloat16())

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    assert seen == {"one": True, "bf16": False}
    torch.set_num_threads(2)
    assert not cpu_kernels.usable(q)  # a multi-threaded caller keeps PyTorch's (parallel) kernel
    cpu_kernels.set_backend("torch")
    try:
        torch.set_num_threads(1)
        assert not cpu_kernels.usable(q)
    finally:
        cpu_kernels.set_backend("native")
        torch.set_num_threads(2)
    with pytest.raises(ValueError, match="native or torch|one of native, torch"):
        cpu_kernels.set_backend("cuda")


def test_no_compiler_means_pytorch_kernel_with_the_reason(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("RMEVAL_NATIVE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cpu_kernels, "_lib", None)
    monkeypatch.setattr(cpu_kernels, "_why_not", None)
    with caplog.at_level("INFO", logger="rmeval.cpu_kernels"):
        assert cpu_kernels.load() is False
    assert "no C compiler" in cpu_kernels.unavailable_reason()
    assert "PyTorch's attention and RMSNorm are used" in caplog.text
    assert not list((tmp_path / "cache").glob("*.so"))


@needs_kernel
def test_kernel_is_built_once_per_machine_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("RMEVAL_NATIVE_CACHE", str(tmp_path))
    first = cpu_kernels._build()
    mtime = first.stat().st_mtime_ns
    assert first.parent == tmp_path and first.suffix == ".so"
    assert cpu_kernels._build() == first and first.stat().st_mtime_ns == mtime  # reused, not rebuilt


@needs_kernel
def test_rms_norm_equals_pytorch():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(37, 389, generator=g) * 6
    x[0] = 0.0  # a zero row: eps keeps it finite
    w = torch.randn(389, generator=g)
    want = w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
    torch.testing.assert_close(cpu_kernels.rms_norm(x, w, 1e-6), want, atol=1e-5, rtol=1e-5)


@needs_kernel
def test_norm_swap_keeps_the_model_outputs(tiny_classifier_dir):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_classifier_dir)).eval()
    ids = torch.tensor([[2, 9, 30, 41, 55, 3]])
    with torch.inference_mode():
        before = model(input_ids=ids).logits
        assert cpu_kernels.swap_norms(model) == 2 * 2 + 1  # two per layer and the final one
        out = {}

        def worker():
            torch.set_num_threads(1)
            with torch.inference_mode():
                out["one"] = model(input_ids=ids).logits

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        torch.testing.assert_close(out["one"], before, atol=1e-5, rtol=1e-5)  # on the kernel
        torch.testing.assert_close(model(input_ids=ids).logits, before, atol=1e-6, rtol=1e-6)  # 2 threads: PyTorch's


# --------------------------------------------------------------------------------------------- packed forward
CONV = [{"role": "system", "content": "you are a careful assistant " * 4}, {"role": "user", "content": "please explain"}]
RESPONSES = ["ok", "here is a short answer", "a much longer answer " * 9, "thanks", "first step then second " * 4,
             "the best answer is a good one", "no", "yes you can"]


def frame():
    from rmeval.ids import text_id

    convs = [CONV] * 5 + [[{"role": "user", "content": "hi"}]] * 3
    return pd.DataFrame({"text_id": [text_id(c, r) for c, r in zip(convs, RESPONSES)], "conversation": convs,
                         "response": RESPONSES})


def alone(rm, ids):
    from helpers import hf_alone

    return hf_alone(rm.model_id, ids)


@needs_kernel
def test_packed_forward_on_the_kernel_equals_one_text_at_a_time(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=100_000)
    rm.load()
    df = frame()
    encs = rm.encode_many(df["text_id"].tolist(), df["conversation"].tolist(), df["response"].tolist())
    groups = packed.shared_prefix_groups([e.payload for e in encs])
    assert any(p for p, _ in groups)  # the batch shares a prompt prefix
    got = {}

    def worker():
        torch.set_num_threads(1)  # what the engine's CPU workers run with: the kernel's path
        got["scores"] = rm.score_batch(encs)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    np.testing.assert_allclose(got["scores"], [alone(rm, e.payload) for e in encs], atol=1e-5)
    np.testing.assert_allclose(rm.score_batch(encs), got["scores"], atol=1e-5)  # PyTorch's kernel, 2 threads


def test_workers_score_like_one_batch_at_a_time(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=120)
    df = frame()
    torch.set_num_threads(2)
    one, stats_one = score_texts(rm, df, progress=False, workers=1)
    assert rm.concurrent_batches and stats_one.workers == 1
    assert cpu_workers(rm) == (2, 1)  # default: a batch per thread, one thread each
    several, stats = score_texts(rm, df, progress=False)
    again, _ = score_texts(rm, df, progress=False)
    assert stats.workers == 2 and stats.n_batches > 2
    assert several["text_id"].tolist() == one["text_id"].tolist()
    np.testing.assert_allclose(several["score"], one["score"], atol=1e-5)
    assert several["score"].tolist() == again["score"].tolist()  # each batch single-threaded: bit for bit repeatable


def test_workers_only_for_rms_that_allow_concurrent_batches(tiny_classifier_dir):
    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256)
    rm.load()
    torch.set_num_threads(2)
    assert cpu_workers(rm, 1) == (1, 2)
    assert cpu_workers(rm, 8) == (2, 1)  # never more workers than threads
    rm.packs_batches = False  # padded forwards change the model's pad id per batch: one at a time
    assert not rm.concurrent_batches and cpu_workers(rm) == (1, 2)
    rm.packs_batches = True
    rm.device = "cuda"
    assert cpu_workers(rm) == (1, 2)


def test_a_failing_batch_stops_the_workers_and_keeps_finished_scores(tiny_classifier_dir, tmp_path):
    from rmeval.scoring import ScoreCache

    rm = SequenceClassifierRM(name="tiny", model=str(tiny_classifier_dir), max_length=256, token_budget=60)
    df = frame()
    real = rm.score_batch
    calls = []

    def flaky(batch):
        calls.append(len(batch))
        if len(calls) == 4:
            raise RuntimeError("boom")
        return real(batch)

    rm.score_batch = flaky
    cache = ScoreCache(tmp_path, {"rm": "tiny"})
    torch.set_num_threads(2)
    with pytest.raises(RuntimeError, match="boom"):
        score_texts(rm, df, cache=cache, progress=False, flush_every=1)
    assert 0 < len(ScoreCache(tmp_path, {"rm": "tiny"})) < len(df)  # batches handed back before the failure are kept


# --------------------------------------------------------------------------------------------- tokenizer load
def test_generic_fast_tokenizer_loads_without_the_model_config(tiny_classifier_dir, tmp_path, monkeypatch):
    """A local folder that names the generic fast tokenizer gets it without AutoTokenizer's detour through the model
    config: the same class, the same ids, the same chat template; any other tokenizer class goes through
    AutoTokenizer."""
    import json
    import shutil

    from transformers import AutoTokenizer

    from rmeval.rms.classifier import GENERIC_FAST_TOKENIZERS, load_tokenizer

    declared = json.loads((tiny_classifier_dir / "tokenizer_config.json").read_text())["tokenizer_class"]
    assert declared in GENERIC_FAST_TOKENIZERS
    fast, auto = load_tokenizer(str(tiny_classifier_dir), {}), AutoTokenizer.from_pretrained(str(tiny_classifier_dir))
    assert type(fast) is type(auto) and fast.chat_template == auto.chat_template
    texts = ["<s><|user|>hello there</s>", "no special tokens here", ""]
    for add in (False, True):
        assert fast(texts, add_special_tokens=add)["input_ids"] == auto(texts, add_special_tokens=add)["input_ids"]
    assert fast.all_special_ids == auto.all_special_ids and fast.pad_token_id == auto.pad_token_id

    other = tmp_path / "other"
    shutil.copytree(tiny_classifier_dir, other)
    config = json.loads((other / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "LlamaTokenizer"  # a named class: AutoTokenizer decides, as before
    (other / "tokenizer_config.json").write_text(json.dumps(config))
    import transformers

    calls = []
    real = transformers.AutoTokenizer.from_pretrained

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", spy)
    load_tokenizer(str(other), {})
    assert calls == [str(other)]
