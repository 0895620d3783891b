#!/usr/bin/env python
"""torch's CPU matmul against oneDNN with pre-packed weights (rmeval.cpu_linear), on a scoring pass's shapes.

    python benchmarks/cpu_linear.py                 # MiniLM-sized shapes (hidden 384, MLP 1536), 4096 token rows
    python benchmarks/cpu_linear.py --hidden 4096 --mlp 14336 --rows 2048 --threads 16

For each projection shape, both sides multiply the same float32 input by the same weight in one process, best of
``--repeats``; printed: GFLOP/s of each, the ratio, and the largest difference of the outputs. The last line times a
whole gated MLP (gate, up, silu, product, down) both ways.
"""

from __future__ import annotations

import argparse
import time

import torch


def best_of(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=384)
    parser.add_argument("--mlp", type=int, default=1536)
    parser.add_argument("--rows", type=int, default=4096, help="token rows per forward pass (the token budget)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from rmeval.cpu_linear import PackedGatedMLP, PackedLinear, available

    if not available():
        print("this PyTorch build has no oneDNN")
        return 1
    h, m, rows = args.hidden, args.mlp, args.rows
    print(f"float32, {args.threads} threads, {rows} rows; best of {args.repeats}")
    print(f"{'in x out':>14}{'torch GFLOP/s':>15}{'oneDNN GFLOP/s':>16}{'ratio':>8}{'max |diff|':>12}")
    with torch.inference_mode():
        for k, n in [(h, h), (h, m), (m, h)]:
            lin = torch.nn.Linear(k, n, bias=False)
            packed = PackedLinear(lin)
            x = torch.randn(rows, k)
            flops = 2 * rows * k * n
            t_torch, t_dnn = best_of(lambda: lin(x), args.repeats), best_of(lambda: packed(x), args.repeats)
            diff = (lin(x) - packed(x)).abs().max().item()
            print(f"{f'{k} x {n}':>14}{flops / t_torch / 1e9:>15.0f}{flops / t_dnn / 1e9:>16.0f}{t_torch / t_dnn:>7.2f}x{diff:>12.2e}")
        from transformers import LlamaConfig
        from transformers.models.llama.modeling_llama import LlamaMLP

        heads = max(1, h // 64)
        mlp = LlamaMLP(LlamaConfig(hidden_size=h, intermediate_size=m, num_attention_heads=heads, num_key_value_heads=heads))
        fused = PackedGatedMLP(mlp)
        x = torch.randn(1, rows, h)
        t_torch, t_dnn = best_of(lambda: mlp(x), args.repeats), best_of(lambda: fused(x), args.repeats)
        diff = (mlp(x) - fused(x)).abs().max().item()
        print(f"gated MLP {h}->{m}->{h}: torch {t_torch * 1e3:.1f} ms, oneDNN fused {t_dnn * 1e3:.1f} ms, "
              f"{t_torch / t_dnn:.2f}x; max |diff| {diff:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
