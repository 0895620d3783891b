#!/usr/bin/env python
"""The classifier's batch layouts side by side on this machine: forward tokens and forward seconds per path.

    RMB_ROOT=../shared/rmb/RMB_dataset python benchmarks/batch_paths.py --prompts 25 --shape minilm

Builds a random-weight Llama classifier (tiny = 2 x 32, minilm = 6 x 384 with 12 heads) with a BPE tokenizer trained
on the texts, samples RMB prompts (seeded) with all their responses, and scores the same unique texts on each
(batching, share_prefixes, token budget) of ``--paths``, one after the other in one process, float32 on the CPU.
Prints each path's forward tokens (padding included, shared prefixes once), forward seconds and the largest score
difference against the first path. What ``batching: auto`` picks on the CPU rests on this comparison
(docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rmb-root", default=os.environ.get("RMB_ROOT"))
    p.add_argument("--prompts", type=int, default=25)
    p.add_argument("--shape", choices=["tiny", "minilm"], default="minilm")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--paths", default="padded:0:4096,padded:0:8192,padded:0:16384,padded:1:4096,packed:1:1024,packed:1:2048",
                   help="comma list of batching:share_prefixes(0/1):token_budget")
    args = p.parse_args(argv)
    if not args.rmb_root:
        p.error("--rmb-root or RMB_ROOT: the RMB release folder")
    import torch

    from rmeval.benchmarks import build_benchmark
    from rmeval.rms.classifier import SequenceClassifierRM
    from rmeval.scoring import score_texts
    from rmeval.tiny import build_tiny_classifier

    torch.set_num_threads(args.threads)
    bench = {"name": "rmb", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}}
    _, texts, _ = build_benchmark(bench).load(args.rmb_root)
    texts = texts.sort_values("text_id").reset_index(drop=True)
    prompt = texts["conversation"].map(str)
    keep = set(prompt.drop_duplicates().sample(args.prompts, random_state=0))
    texts = texts[prompt.isin(keep)].reset_index(drop=True)
    shape = {"tiny": {}, "minilm": dict(hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536)}[args.shape]
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_classifier(f"{tmp}/model", vocab_size=8000, corpus=list(texts["response"])[:2000],
                                       max_positions=4096, **shape)
        print(f"{len(texts)} unique texts of {args.prompts} RMB prompts; {args.shape}-shaped Llama classifier, float32, "
              f"{args.threads} threads")
        print(f"{'path':<28}{'budget':>8}{'fwd tokens':>12}{'fwd s':>8}{'max diff':>10}")
        first = None
        for spec in args.paths.split(","):
            batching, share, budget = spec.split(":")
            rm = SequenceClassifierRM(name="m", model=str(folder), max_length=1024, dtype="float32", device="cpu",
                                      token_budget=int(budget), batching=batching, share_prefixes=share == "1")
            scores, st = score_texts(rm, texts, progress=False)
            first = scores["score"].to_numpy() if first is None else first
            diff = np.abs(scores["score"].to_numpy() - first).max()
            print(f"{st.path:<28}{int(budget):>8}{st.padded_tokens:>12,}{st.forward_s:>8.1f}{diff:>10.1e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
