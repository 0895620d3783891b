#!/usr/bin/env python
"""PyTorch's CPU operations against rmeval's kernels (rmeval.cpu_kernels), single-threaded as the scoring engine's
CPU workers run them, on a scoring pass's shapes.

    python benchmarks/cpu_kernels.py                          # MiniLM-sized heads (12 x 32, 6 key/value heads)
    python benchmarks/cpu_kernels.py --heads 32 --kv-heads 8 --head-dim 128 --lengths 512,2048

Attention: one text of each length, causal, as a packed row hands it over (query and key views of projections,
grouped-query heads); PyTorch's side is what the packed forward did before (``repeat_interleave`` for the shared
key/value heads, then ``scaled_dot_product_attention(is_causal=True)``). Then RMSNorm on a token-budget batch (4096
rows). Best of ``--repeats``; printed: milliseconds of each, the ratio and the largest difference.
"""

from __future__ import annotations

import argparse
import sys

import torch
from cpu_linear import best_of  # benchmarks/cpu_linear.py, next to this script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--kv-heads", type=int, default=6)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--lengths", default="64,128,256,512,768,1024")
    parser.add_argument("--hidden", type=int, default=384, help="RMSNorm width")
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from rmeval import cpu_kernels

    if not cpu_kernels.load():
        print(f"rmeval's kernels are unavailable here: {cpu_kernels.unavailable_reason()}", file=sys.stderr)
        return 1
    h, hk, d = args.heads, args.kv_heads, args.head_dim
    print(f"1 thread; attention: {h} heads x {d}, {hk} key/value heads, causal, one text")
    print(f"{'length':>8}{'torch ms':>11}{'rmeval ms':>11}{'ratio':>8}{'max diff':>11}")
    g = torch.Generator().manual_seed(0)
    for n in (int(x) for x in args.lengths.split(",")):
        q = torch.randn(1, n, h * d, generator=g).view(1, n, h, d).transpose(1, 2)
        k = torch.randn(1, n, hk * d, generator=g).view(1, n, hk, d).transpose(1, 2)
        v = torch.randn(1, n, hk * d, generator=g).view(1, n, hk, d).transpose(1, 2)
        table = torch.tensor([[0, n, 0, 0, 0]], dtype=torch.int64)

        def ours():
            return cpu_kernels.attention(q, k, v, table, d ** -0.5, True, torch.empty(1, n, h, d))

        def theirs():
            kk, vv = k.repeat_interleave(h // hk, 1), v.repeat_interleave(h // hk, 1)
            return torch.nn.functional.scaled_dot_product_attention(q, kk, vv, is_causal=True).transpose(1, 2).contiguous()

        t_ours, t_theirs = best_of(ours, args.repeats), best_of(theirs, args.repeats)
        diff = (ours() - theirs()).abs().max().item()
        print(f"{n:>8}{t_theirs * 1e3:>11.3f}{t_ours * 1e3:>11.3f}{t_theirs / t_ours:>7.2f}x{diff:>11.1e}")
    x = torch.randn(args.rows, args.hidden, generator=g)
    w = torch.randn(args.hidden, generator=g)

    def norm_torch():
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))

    t_ours, t_theirs = best_of(lambda: cpu_kernels.rms_norm(x, w, 1e-6), args.repeats), best_of(norm_torch, args.repeats)
    diff = (cpu_kernels.rms_norm(x, w, 1e-6) - norm_torch()).abs().max().item()
    print(f"rms_norm {args.rows} x {args.hidden}: torch {t_theirs * 1e3:.2f} ms, rmeval {t_ours * 1e3:.2f} ms, "
          f"{t_theirs / t_ours:.2f}x, max diff {diff:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
