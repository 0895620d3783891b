#!/usr/bin/env python
"""Scoring throughput: rmeval's engine against a RewardBench-style loop, same RM, same RMB subset, one run.

    python benchmarks/scoring_throughput.py --rmb-root ../shared/rmb/RMB_dataset

The subset is a seeded sample of RMB prompts with *all* their items (pairs and BoN groups), so the reuse of a
response across items is what it is in the release. Both sides use the same model, tokenisation, truncation and
forward pass; only the scheduling differs:
- rmeval: each unique (conversation, response) once, sorted by length, batches under a padded-token budget;
- baseline (RewardBench-style): for each batch of items in dataset order, the chosen texts, then the rejected
  texts (BoN: every loser), padded to the batch's longest, fixed batch size, no dedup, no sorting.

The models have random weights (scores are meaningless; speed is not) and a byte-level BPE tokenizer trained
in-process on the subset's own texts, so token lengths are realistic (about 4 characters per token).

Printed per model: forward tokens processed (rows x padded width) / the unique-token floor (the tokens of the
unique texts, each once), padding efficiency (real / processed tokens), wall time, and the wall-time ratio.
Targets: rmeval's token ratio <= 1.15 and rmeval >= 3x faster than the baseline.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from rmeval.benchmarks import build_benchmark
from rmeval.rms.classifier import SequenceClassifierRM
from rmeval.scoring import score_texts
from rmeval.tiny import build_tiny_classifier

MODELS = {
    # name: build_tiny_classifier kwargs
    "tiny": dict(hidden_size=32, num_layers=2, num_heads=4),
    # MiniLM-L6 shape (6 layers, hidden 384, 12 heads, MLP 1536) with random weights
    "minilm-sized": dict(hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536),
}


def sample_prompts(items, texts, n_prompts: int, seed: int):
    rng = np.random.default_rng(seed)
    prompts = np.sort(items["prompt_id"].unique())
    keep = set(rng.choice(prompts, size=min(n_prompts, len(prompts)), replace=False))
    items = items[items["prompt_id"].isin(keep)].reset_index(drop=True)
    used = set(items["chosen_id"]) | {t for ids in items["rejected_ids"] for t in ids}
    return items, texts[texts["text_id"].isin(used)].reset_index(drop=True)


def rewardbench_style(rm: SequenceClassifierRM, items, texts, batch_size: int) -> dict:
    """Chosen batch then rejected batch per group of items, dataset order, no dedup, no sorting, padded rows
    (plain padded rows: the peer pads and shares no prefix)."""
    from rmeval.rms.batching import Path

    path, rm.path = rm.path, Path()
    try:
        return _rewardbench_style(rm, items, texts, batch_size)
    finally:
        rm.path = path


def _rewardbench_style(rm: SequenceClassifierRM, items, texts, batch_size: int) -> dict:
    by_id = {row.text_id: (list(row.conversation), row.response) for row in texts.itertuples(index=False)}
    start = time.perf_counter()
    real = padded = 0
    scores: dict[str, float] = {}
    rows = list(items.itertuples(index=False))
    for b in range(0, len(rows), batch_size):
        chunk = rows[b : b + batch_size]
        for side in ([r.chosen_id for r in chunk], [t for r in chunk for t in r.rejected_ids]):
            # tokenised per batch of slots (in bulk, like a datasets.map over the batch): no dedup
            encs = rm.encode_many(side, [by_id[t][0] for t in side], [by_id[t][1] for t in side])
            for start_row in range(0, len(encs), batch_size):
                batch = encs[start_row : start_row + batch_size]
                out = rm.score_batch(batch)
                real += sum(e.n_tokens for e in batch)
                padded += len(batch) * max(e.n_tokens for e in batch)
                for tid, s in zip(side[start_row : start_row + batch_size], out):
                    scores[tid] = float(s)
    return {"wall_s": time.perf_counter() - start, "real": real, "padded": padded, "scores": scores}


def run_model(name: str, items, texts, args, workdir: Path) -> dict:
    corpus = [r for r in texts["response"]] + [t["content"] for conv in texts["conversation"] for t in conv]
    model_dir = build_tiny_classifier(workdir / name, seed=0, vocab_size=args.vocab_size, corpus=corpus, **MODELS[name])
    rm = SequenceClassifierRM(
        name=name, model=str(model_dir), max_length=args.max_length, dtype=args.dtype, device=args.device,
        token_budget=args.token_budget, max_batch_size=args.max_batch_size,
    )
    rm.load()
    warm = rm.encode("w", [{"role": "user", "content": "warm up"}], "ok")
    rm.score_batch([warm, warm])
    t0 = time.perf_counter()
    ours, stats = score_texts(rm, texts, cache=None, progress=False)
    ours_wall = time.perf_counter() - t0
    floor = stats.real_tokens
    base = rewardbench_style(rm, items, texts, args.baseline_batch_size)
    diff = max(abs(base["scores"][t] - s) for t, s in zip(ours["text_id"], ours["score"]))
    return {
        "model": name,
        "ours_wall": ours_wall, "ours_tokens": stats.padded_tokens, "ours_eff": stats.padding_efficiency,
        "base_wall": base["wall_s"], "base_tokens": base["padded"], "base_eff": base["real"] / base["padded"],
        "floor": floor, "max_abs_score_diff": diff, "n_batches": stats.n_batches,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rmb-root", default=os.environ.get("RMB_ROOT"), help="RMB_dataset folder (default $RMB_ROOT)")
    parser.add_argument("--prompts", type=int, default=150, help="RMB prompts sampled, with all their items")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="tiny,minilm-sized", help=f"comma list from {', '.join(MODELS)}")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--vocab-size", type=int, default=8000, help="BPE tokenizer trained on the subset's texts")
    parser.add_argument("--token-budget", type=int, default=None, help="rmeval: padded tokens per batch (default: 4096 on CPU, 65536 on CUDA)")
    parser.add_argument("--max-batch-size", type=int, default=64, help="rmeval: rows per batch at most")
    parser.add_argument("--baseline-batch-size", type=int, default=16, help="baseline: fixed batch size")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if not args.rmb_root or not Path(args.rmb_root).is_dir():
        print("error: give --rmb-root or set RMB_ROOT to a local RMB_dataset folder", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = {"name": "rmb", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}}
    items, texts, _ = build_benchmark(bench).load(args.rmb_root)
    items, texts = sample_prompts(items, texts, args.prompts, args.seed)
    slots = len(items) + sum(len(r) for r in items["rejected_ids"])
    device = "cuda" if (args.device == "auto" and torch.cuda.is_available()) else ("cpu" if args.device == "auto" else args.device)
    print(f"subset: {args.prompts} RMB prompts (seed {args.seed}): {len(items)} items, {slots} response slots, "
          f"{len(texts)} unique texts; max_length {args.max_length}; device {device}, torch threads {torch.get_num_threads()}")
    from rmeval.rms.classifier import default_token_budget

    budget = args.token_budget or default_token_budget(device)
    print(f"rmeval: token budget {budget}/batch, <= {args.max_batch_size} rows; "
          f"baseline: batch size {args.baseline_batch_size}, chosen then rejected, no dedup, no sorting")
    header = f"{'model':<14}{'side':<10}{'fwd tokens':>12}{'/ floor':>9}{'pad eff':>9}{'wall s':>9}"
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            r = run_model(name.strip(), items, texts, args, Path(tmp))
            print()
            print(header)
            print(f"{r['model']:<14}{'rmeval':<10}{r['ours_tokens']:>12,}{r['ours_tokens'] / r['floor']:>9.3f}{r['ours_eff']:>9.3f}{r['ours_wall']:>9.2f}")
            print(f"{'':<14}{'baseline':<10}{r['base_tokens']:>12,}{r['base_tokens'] / r['floor']:>9.3f}{r['base_eff']:>9.3f}{r['base_wall']:>9.2f}")
            speed = r["base_wall"] / r["ours_wall"]
            ratio = r["ours_tokens"] / r["floor"]
            print(f"{'':<14}unique-token floor {r['floor']:,}; rmeval token ratio {ratio:.3f} (target <= 1.15: "
                  f"{'met' if ratio <= 1.15 else 'MISSED'}); wall-time ratio baseline/rmeval {speed:.2f}x "
                  f"(target >= 3x: {'met' if speed >= 3 else 'MISSED'}); max |score difference| {r['max_abs_score_diff']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
