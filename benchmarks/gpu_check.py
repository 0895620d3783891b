#!/usr/bin/env python
"""GPU check: bf16 scoring of a real-size classifier through rmeval's own loading and scoring path.

    python benchmarks/gpu_check.py --rmb-root RMB_dataset --shape llama3-8b --texts 2000

Builds a random-weight Llama-style sequence classifier of the given shape directly in bf16 on the GPU (no hub:
weights are random, so scores mean nothing; throughput and numerics do), saves it, loads it back through
``SequenceClassifierRM`` (dtype=bfloat16, device=cuda), scores a seeded sample of RMB's unique texts with the
engine (length-sorted token-budget batches), and checks batched against one-at-a-time scores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

from rmeval.benchmarks import build_benchmark
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.scoring import score_texts
from rmeval.tiny import train_tokenizer

SHAPES = {
    "llama3-8b": dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, intermediate_size=14336),
    "llama-1b": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, intermediate_size=8192),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rmb-root", default=os.environ.get("RMB_ROOT"))
    p.add_argument("--shape", default="llama3-8b", choices=list(SHAPES))
    p.add_argument("--texts", type=int, default=2000, help="unique RMB texts sampled (seeded)")
    p.add_argument("--max-length", type=int, default=4096)
    p.add_argument("--token-budget", type=int, default=65536)
    p.add_argument("--vocab-size", type=int, default=16000)
    p.add_argument("--check-single", type=int, default=32, help="texts also scored one at a time")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="bfloat16")
    args = p.parse_args()
    t_all = time.perf_counter()
    _, texts, _ = build_benchmark({"name": "rmb", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}}).load(args.rmb_root)
    rng = np.random.default_rng(0)
    texts = texts.iloc[np.sort(rng.choice(len(texts), size=min(args.texts, len(texts)), replace=False))].reset_index(drop=True)
    corpus = list(texts["response"]) + [t["content"] for conv in texts["conversation"] for t in conv]
    t0 = time.perf_counter()
    tok = train_tokenizer(vocab_size=args.vocab_size, seed=0, corpus=corpus)
    tok.pad_token = tok.eos_token
    print(f"tokenizer: {len(tok)} ids trained in {time.perf_counter() - t0:.1f} s", flush=True)

    from transformers import LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig(vocab_size=len(tok), max_position_embeddings=8192, num_labels=1, pad_token_id=tok.pad_token_id,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, **SHAPES[args.shape])
    dtype = getattr(torch, args.dtype)
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        t0 = time.perf_counter()
        torch.manual_seed(0)
        with torch.device(args.device):
            model = LlamaForSequenceClassification(config).to(dtype)
        n_params = sum(p.numel() for p in model.parameters())
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        del model
        torch.cuda.empty_cache() if args.device.startswith("cuda") else None
        print(f"model: {args.shape}, {n_params / 1e9:.2f} B parameters, built + saved in {time.perf_counter() - t0:.1f} s", flush=True)

        rm = SequenceClassifierRM(name=args.shape, model=tmp, dtype=args.dtype, device=args.device, max_length=args.max_length,
                                  token_budget=args.token_budget, max_batch_size=256)
        t0 = time.perf_counter()
        rm.load()
        print(f"loaded through SequenceClassifierRM in {time.perf_counter() - t0:.1f} s: dtype {next(rm.model.parameters()).dtype}, "
              f"device {next(rm.model.parameters()).device}", flush=True)
        warm = texts.iloc[:8]
        score_texts(rm, warm, progress=False)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        scores, stats = score_texts(rm, texts, progress=False)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30 if args.device.startswith("cuda") else float("nan")
        print(f"scored {stats.n_scored} unique texts in {stats.n_batches} batches: {stats.wall_s:.1f} s wall "
              f"({stats.forward_s:.1f} s in forward passes), {stats.real_tokens:,} tokens -> "
              f"{stats.real_tokens / stats.wall_s:,.0f} tokens/s; padding efficiency {stats.padding_efficiency:.3f}; "
              f"{stats.n_truncated} truncated at {args.max_length}; peak GPU memory {peak:.1f} GiB", flush=True)

        sub = texts.iloc[: args.check_single]
        batched = scores.set_index("text_id").loc[sub["text_id"], "score"].to_numpy()
        rm.token_budget, rm.max_batch_size = 1, 1
        single, _ = score_texts(rm, sub, progress=False)
        diff = np.abs(single["score"].to_numpy() - batched)
        scale = np.abs(batched).mean()
        print(f"batched vs one-at-a-time on {len(sub)} texts ({args.dtype}): max |diff| {diff.max():.4f}, "
              f"mean |diff| {diff.mean():.4f}, mean |score| {scale:.4f}, "
              f"Spearman {_spearman(single['score'].to_numpy(), batched):.4f}", flush=True)
    print(f"total {time.perf_counter() - t_all:.1f} s")
    return 0


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


if __name__ == "__main__":
    sys.exit(main())
