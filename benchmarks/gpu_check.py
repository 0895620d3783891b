#!/usr/bin/env python
"""GPU check: a Llama-3-8B-shaped classifier scored on four batch layouts (padded, padded with shared prefixes,
packed, packed with shared prefixes), in one command.

The one-command device run (a single H100 or H200, repository root, nothing installed beyond the machine's torch,
transformers, safetensors, tokenizers, numpy, pandas and pyarrow; no hub, no vLLM, no Hydra):

    PYTHONPATH=src python3 benchmarks/gpu_check.py --out gpu_check.md

Expected time: under 8 minutes. Past --time-limit seconds (default 390; imports, the last chunk and clean-up fit in
the rest of an 8-minute lease) no further chunk starts. Building the model (random weights, bf16, directly on the
GPU), saving it to a local folder and loading it back once per path is estimated at 1-2 minutes; the rest is
shared among the four paths. Each path scores the same texts in chunks of whole prompt groups and stops after
the chunk that uses up its share of the time left (the table's "texts" column says how many it scored). The
timings above are estimates; the script prints its own. With the RMB release at hand, --rmb-root (or RMB_ROOT)
scores a seeded sample of its prompts with all their responses instead of the synthetic texts.

What it does:
1. measures the card's bf16 matmul peak (8192^3 products, timed with cuda synchronize);
2. builds a random LlamaForSequenceClassification of the shape in bf16 on the GPU (``torch.device`` context and
   ``dtype``), saves it with a word-level tokenizer (one token per word, so text lengths are exact) to a local
   folder, and loads it through ``SequenceClassifierRM.load()`` once per path, exactly as a run would (the honest
   route: no in-memory hand-over that users never take);
3. texts: several responses per prompt with RMB's length distribution (prompt and response tokens lognormal,
   fitted to the RMB release's quartiles; responses per prompt drawn from RMB's histogram), seeded;
4. per path (``batching: padded``; ``padded`` with prompt prefixes shared through the KV cache; ``packed`` with
   ``share_prefixes: false``; ``packed`` with shared prefixes)
   scores them with ``rmeval.scoring.score_texts`` after a warm-up, and reports tokens/s, MFU, peak memory and the
   largest score difference against the padded path. A path that runs out of GPU memory is retried at half the
   token budget (twice at most); the "budget" column says which budget ran.

MFU = 2 x non-embedding parameters x forward tokens / forward seconds / measured matmul peak. Forward tokens are
what the forward passes processed (rows x width when padded; real tokens when packed, a shared prefix once).
Attention's score and value products are not counted; the notes give their share at these lengths.

CPU dry mode (seconds, float32, a few dozen texts; the test suite runs it):

    PYTHONPATH=src python3 benchmarks/gpu_check.py --device cpu --shape tiny
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

SHAPES = {  # LlamaConfig fields; vocab_size is the model's, the word-level tokenizer uses at most WORDS of it
    "llama3-8b": dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                      intermediate_size=14336, vocab_size=128256, rope_theta=500000.0),
    "llama-1b": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                     intermediate_size=8192, vocab_size=128256, rope_theta=500000.0),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128, vocab_size=512),
}
WORDS = 32000
SPECIAL = ["<pad>", "<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|system|>"]
# RMB release (3003 prompts, 18397 unique texts): responses per prompt, and token lengths at 4.3 characters a token
# (prompt quartiles 20 / 52 / 235, mean 265; response quartiles 143 / 303 / 508, mean 381), as lognormal fits
RMB_RESPONSES_PER_PROMPT = {2: 86, 3: 387, 4: 341, 5: 441, 6: 503, 7: 384, 8: 320, 9: 277, 10: 181, 11: 70, 12: 13}
PROMPT_TOKENS = (52.0, 1.8, 8, 6000)  # median, sigma of log, clipped to [min, max]
RESPONSE_TOKENS = (303.0, 0.94, 8, 3000)
PATHS = {"padded": ("padded", False), "padded+shared": ("padded", True), "packed": ("packed", False),
         "packed+shared": ("packed", True)}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--shape", default="llama3-8b", choices=list(SHAPES))
    p.add_argument("--dtype", default=None, help="default: bfloat16 on cuda, float32 on cpu")
    p.add_argument("--texts", type=int, default=None, help="unique texts (whole prompt groups); default 1600, tiny 40")
    p.add_argument("--rmb-root", default=os.environ.get("RMB_ROOT"), help="RMB release; default: synthetic texts")
    p.add_argument("--token-budget", type=int, default=None, help="tokens per batch; default: the engine's (65536 on cuda)")
    p.add_argument("--packed-token-budget", type=int, default=None, help="the packed paths' budget (default: --token-budget)")
    p.add_argument("--max-length", type=int, default=None, help="default 4096, tiny 1024")
    p.add_argument("--length-scale", type=float, default=None, help="text lengths x this; default 1, tiny 0.125")
    p.add_argument("--max-batch-size", type=int, default=512)
    p.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated subset of {', '.join(PATHS)}")
    p.add_argument("--chunks", type=int, default=4, help="prompt-group chunks per path (a path stops between chunks)")
    p.add_argument("--time-limit", type=float, default=390.0, help="seconds for the whole run, model build included")
    p.add_argument("--workdir", default=None, help="where the model folder is written (default: a temporary folder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads for this run (default: torch's)")
    p.add_argument("--out", default=None, help="also write the report (markdown) here")
    args = p.parse_args(argv)
    tiny = args.shape == "tiny"
    args.dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    args.texts = (40 if tiny else 1600) if args.texts is None else args.texts
    args.max_length = args.max_length or (1024 if tiny else 4096)
    args.length_scale = args.length_scale or (0.125 if tiny else 1.0)
    args.paths = [x.strip() for x in args.paths.split(",") if x.strip()]
    if args.texts < 1 or args.chunks < 1:
        p.error(f"--{'texts' if args.texts < 1 else 'chunks'}: expected at least 1")
    unknown = [x for x in args.paths if x not in PATHS]
    if unknown or "padded" not in args.paths:
        p.error(f"--paths: {unknown[0]!r} is not a path" if unknown else "--paths: padded is the reference; keep it")
    return args


# ---------------------------------------------------------------------------------------------------- texts
def synthetic_texts(n_texts: int, seed: int, n_words: int, scale: float = 1.0) -> pd.DataFrame:
    """Prompt groups with RMB's responses-per-prompt and length distributions (lengths x ``scale``); words are
    'w<id>' (one token each)."""
    rng = np.random.default_rng(seed)
    ks, weights = zip(*RMB_RESPONSES_PER_PROMPT.items())
    weights = np.asarray(weights, dtype=float) / sum(weights)

    def words(spec) -> str:
        median, sigma, lo, hi = spec
        n = int(np.clip(round(scale * median * np.exp(sigma * rng.standard_normal())), max(1, scale * lo), hi))
        return " ".join(f"w{i}" for i in rng.integers(0, n_words, n))

    rows, p = [], 0
    while len(rows) < n_texts:
        prompt = [{"role": "user", "content": words(PROMPT_TOKENS)}]
        for r in range(min(int(rng.choice(ks, p=weights)), n_texts - len(rows))):
            rows.append({"text_id": f"p{p:05d}r{r:02d}", "prompt_id": f"p{p:05d}", "conversation": prompt,
                         "response": words(RESPONSE_TOKENS)})
        p += 1
    return pd.DataFrame(rows)


def rmb_texts(root: str, n_texts: int, seed: int) -> pd.DataFrame:
    """A seeded sample of RMB's prompts with all their responses (so prompts stay shared), about n_texts texts."""
    from rmeval.benchmarks import build_benchmark

    spec = {"name": "rmb", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}}
    _, texts, _ = build_benchmark(spec).load(root)
    texts = texts.drop_duplicates("text_id")
    prompts = np.random.default_rng(seed).permutation(texts["prompt_id"].unique())
    sizes = texts.groupby("prompt_id").size().loc[prompts].cumsum()
    keep = set(sizes.index[: int(np.searchsorted(sizes.to_numpy(), n_texts)) + 1])
    return texts[texts["prompt_id"].isin(keep)].reset_index(drop=True)


def chunked(texts: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """n chunks of whole prompt groups (round robin over prompts), so shared prefixes stay within a chunk."""
    order = {pid: i % n for i, pid in enumerate(texts["prompt_id"].unique())}
    part = texts["prompt_id"].map(order)
    return [texts[part == i].reset_index(drop=True) for i in range(n) if (part == i).any()]


# ---------------------------------------------------------------------------------------------------- model
def word_tokenizer(n_words: int):
    """A word-level tokenizer ('w0' ... one id each) with rmeval's tiny chat template and pad = EOS."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from rmeval.tiny import CHAT_TEMPLATE

    vocab = {tok: i for i, tok in enumerate(SPECIAL)}
    vocab.update({f"w{i}": len(SPECIAL) + i for i in range(n_words)})
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.add_special_tokens(SPECIAL)
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                  pad_token="</s>")  # pad = EOS, as in many released RMs
    tok.chat_template = CHAT_TEMPLATE
    return tok


def build_model(folder: Path, shape: str, tok, dtype: torch.dtype, device: str, max_length: int, seed: int) -> dict:
    """A random classifier of ``shape`` built in ``dtype`` on ``device``, saved with ``tok`` to ``folder``."""
    from transformers import AutoModelForSequenceClassification, LlamaConfig

    kw = dict(SHAPES[shape])
    kw["vocab_size"] = max(kw["vocab_size"], len(tok))
    config = LlamaConfig(**kw, num_labels=1, max_position_embeddings=max(8192, max_length), tie_word_embeddings=False,
                         pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForSequenceClassification.from_config(config, dtype=dtype)
    model.eval()
    _sync(device)
    built = time.perf_counter() - t0
    total = sum(p.numel() for p in model.parameters())
    info = dict(params=total, non_embedding=total - model.get_input_embeddings().weight.numel(), build_s=built,
                weights_gib=sum(p.numel() * p.element_size() for p in model.parameters()) / 2**30,
                layers=config.num_hidden_layers, hidden=config.hidden_size)
    t0 = time.perf_counter()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    info["save_s"] = time.perf_counter() - t0
    del model
    _free(device)
    return info


def matmul_peak(device: str, dtype: torch.dtype) -> tuple[float, str]:
    """Best-of-3 throughput (FLOP/s) of a loop of square matmuls on ``device``: the card's usable matmul peak."""
    n, iters, warm = (8192, 100, 300) if device.startswith("cuda") else (512, 8, 2)
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    for _ in range(warm):  # about 0.4 s on an H100: clocks up before timing
        a @ b
    best = float("inf")
    for _ in range(3):
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    del a, b
    _free(device)
    return 2 * n**3 * iters / best, f"{n}^3 {str(dtype).removeprefix('torch.')} matmul, {iters} per timing, best of 3"


def _count(n: int) -> str:
    return f"{n / 1e9:.3f} B" if n >= 1e8 else f"{n:,}"


def _flops(rate: float) -> str:
    return f"{rate / 1e12:.1f} TFLOP/s" if rate >= 1e12 else f"{rate / 1e9:.1f} GFLOP/s"


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _free(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


# ---------------------------------------------------------------------------------------------------- paths
def run_path(label: str, folder: Path, chunks: list[pd.DataFrame], args, allowance: float) -> tuple[dict, pd.Series]:
    """Score the chunks through one path until its time allowance is used; (table row, scores by text_id)."""
    from rmeval.rms.classifier import SequenceClassifierRM
    from rmeval.scoring import score_texts

    batching, share = PATHS[label]
    budget = (args.packed_token_budget if batching == "packed" else None) or args.token_budget
    rm = SequenceClassifierRM(name=f"gpu-check-{label}", model=str(folder), dtype=args.dtype, device=args.device,
                              token_budget=budget, max_length=args.max_length,
                              max_batch_size=args.max_batch_size, batching=batching, share_prefixes=share)
    t0 = time.perf_counter()
    rm.load()
    _sync(args.device)
    row = dict(path=label, ran=rm.path.name, load_s=time.perf_counter() - t0)
    budget, tries = rm.token_budget, 0
    while True:
        rm.token_budget = budget
        try:
            row.update(_measure(rm, score_texts, chunks, args.device, allowance - (time.perf_counter() - t0)))
            break
        except torch.OutOfMemoryError:
            _free(args.device)
            tries += 1
            if tries > 2:
                row.update(error=f"out of GPU memory down to a token budget of {budget:,}")
                break
            print(f"{label}: out of GPU memory at a token budget of {budget:,}; retrying at {budget // 2:,}", flush=True)
            budget //= 2
    row["budget"] = budget
    scores = row.pop("scores", pd.Series(dtype=float))
    del rm
    _free(args.device)
    return row, scores


def _measure(rm, score_texts, chunks, device: str, allowance: float) -> dict:
    warm = chunks[0][chunks[0]["prompt_id"].isin(chunks[0]["prompt_id"].unique()[:2])]
    score_texts(rm, warm, progress=False)  # kernels, allocator and cuBLAS heuristics warmed; not timed
    _sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    keys = ("n_scored", "n_batches", "real_tokens", "padded_tokens", "shared_prefix_tokens", "n_truncated",
            "wall_s", "forward_s")
    total, frames, t0 = dict.fromkeys(keys, 0), [], time.perf_counter()
    for chunk in chunks:
        scores, stats = score_texts(rm, chunk, progress=False)
        frames.append(scores)
        for k in keys:
            total[k] += getattr(stats, k)
        spent = time.perf_counter() - t0
        if spent * (len(frames) + 1) / len(frames) > allowance:  # the next chunk would overrun the allowance
            break
    _sync(device)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else float("nan")
    scored = pd.concat(frames, ignore_index=True)
    return dict(total, peak_gib=peak, scores=scored.set_index("text_id")["score"], partial=len(frames) < len(chunks),
                n_tokens=scored["n_tokens"].to_numpy())


# ---------------------------------------------------------------------------------------------------- report
def table(rows: list[dict], non_embedding: int, peak_flops: float) -> str:
    head = ["path", "ran as", "budget", "texts", "batches", "real tokens", "forward tokens", "shared-prefix tokens",
            "wall s", "forward s", "real tok/s (wall)", "vs padded", "forward tok/s", "MFU", "peak GiB",
            "max abs diff vs padded"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['path']} | {r['ran']} | {r['budget']:,} | " + " | ".join(["-"] * 12) + f" | {r['error']} |")
            continue
        fwd_rate = r["padded_tokens"] / r["forward_s"] if r["forward_s"] else float("nan")
        rate = r["real_tokens"] / r["wall_s"] if r["wall_s"] else float("nan")
        base = rows[0]["real_tokens"] / rows[0]["wall_s"] if rows[0].get("wall_s") else float("nan")
        mfu = 2 * non_embedding * fwd_rate / peak_flops
        texts = f"{r['n_scored']:,}" + (" (partial)" if r["partial"] else "")
        cells = [r["path"], r["ran"], f"{r['budget']:,}", texts, f"{r['n_batches']:,}", f"{r['real_tokens']:,}",
                 f"{r['padded_tokens']:,}", f"{r['shared_prefix_tokens']:,}", f"{r['wall_s']:.2f}", f"{r['forward_s']:.2f}",
                 f"{rate:,.0f}", f"{rate / base:.2f}x", f"{fwd_rate:,.0f}", f"{mfu:.1%}",
                 "n/a" if np.isnan(r["peak_gib"]) else f"{r['peak_gib']:.1f}", f"{r['max_diff']:.3g}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(argv=None) -> tuple[list[dict], str]:
    """The whole check; (one row per path, the markdown report)."""
    args = parse_args(argv)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return _run(args, argv)
    finally:
        torch.set_num_threads(threads)


def _run(args, argv) -> tuple[list[dict], str]:
    import transformers

    t_start = time.perf_counter()
    dtype = getattr(torch, args.dtype)
    peak, peak_how = matmul_peak(args.device, dtype)
    print(f"matmul peak: {_flops(peak)} ({peak_how})", flush=True)
    n_words = min(WORDS, SHAPES[args.shape]["vocab_size"] - len(SPECIAL))
    if args.rmb_root:
        from rmeval.tiny import train_tokenizer

        texts = rmb_texts(args.rmb_root, args.texts, args.seed)
        corpus = list(texts["response"]) + [t["content"] for conv in texts["conversation"] for t in conv]
        tok = train_tokenizer(vocab_size=n_words, seed=args.seed, corpus=corpus)
        tok.pad_token = tok.eos_token
        source = f"RMB release at {args.rmb_root}, seeded prompt sample (BPE tokenizer of {len(tok):,} ids trained on it)"
    else:
        texts, tok = synthetic_texts(args.texts, args.seed, n_words, args.length_scale), word_tokenizer(n_words)
        scaled = "" if args.length_scale == 1 else f" x {args.length_scale:g}"
        source = f"synthetic, RMB's length distribution{scaled} (word-level tokenizer: one token per word)"
    chunks = chunked(texts, args.chunks)
    print(f"texts: {len(texts):,} in {texts['prompt_id'].nunique():,} prompt groups, {len(chunks)} chunks", flush=True)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="gpu-check-") as tmp:
        info = build_model(Path(tmp), args.shape, tok, dtype, args.device, args.max_length, args.seed)
        print(f"model: {args.shape}, {_count(info['params'])} parameters ({_count(info['non_embedding'])} "
              f"non-embedding), built in {info['build_s']:.1f} s, saved in {info['save_s']:.1f} s", flush=True)
        rows: list[dict] = []
        for i, label in enumerate(args.paths):
            left = args.time_limit - (time.perf_counter() - t_start)
            row, scores = run_path(label, Path(tmp), chunks, args, left / (len(args.paths) - i))
            if rows and len(scores):
                common = rows[0]["scores"].index.intersection(scores.index)
                row["max_diff"] = float((scores.loc[common] - rows[0]["scores"].loc[common]).abs().max())
            else:
                row["max_diff"] = 0.0
            row["scores"] = scores
            rows.append(row)
            print(f"{label}: ran as {row['ran']}, loaded in {row['load_s']:.1f} s, "
                  + (row["error"] if "error" in row else f"{row['n_scored']:,} texts in {row['wall_s']:.1f} s"), flush=True)
    lengths = rows[0]["n_tokens"] if "n_tokens" in rows[0] else np.array([0])
    attention = info["layers"] * info["hidden"] * float((lengths.astype(float) ** 2).sum()) / (
        info["non_embedding"] * max(1, int(lengths.sum())))
    device_name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    notes = [
        f"- device: {device_name}; torch {torch.__version__}, transformers {transformers.__version__}; {args.dtype}",
        f"- model: {args.shape}-shaped random LlamaForSequenceClassification, {_count(info['params'])} parameters "
        f"({_count(info['non_embedding'])} non-embedding, {info['weights_gib']:.2f} GiB), built on the device in "
        f"{info['build_s']:.1f} s, saved in {info['save_s']:.1f} s, loaded through SequenceClassifierRM.load() per path "
        f"({', '.join(format(r['load_s'], '.1f') + ' s' for r in rows)})",
        f"- texts: {source}; {len(texts):,} texts in {texts['prompt_id'].nunique():,} prompt groups; tokens per text "
        f"(padded path's) median {np.median(lengths):.0f}, mean {lengths.mean():.0f}, max {lengths.max():,}; "
        f"max_length {args.max_length:,}, max batch size {args.max_batch_size}",
        f"- matmul peak {_flops(peak)} measured in this run ({peak_how})",
        "- MFU = 2 x non-embedding parameters x forward tokens / forward s / matmul peak; attention's score and value "
        f"products are not counted (at these lengths they would add about {attention:.1%} per text, unshared)",
        "- real tok/s: text tokens over the engine's wall time (tokenising, batching, forward passes); forward tok/s: "
        "tokens the forward passes processed over their time; vs padded: real tok/s over the padded path's; "
        "(partial): the path stopped at its time allowance",
        f"- scores: padded path's std {rows[0]['scores'].std():.3g}; total run {time.perf_counter() - t_start:.0f} s",
        f"- command: `PYTHONPATH=src python3 benchmarks/gpu_check.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
    ]
    report = "\n".join([table(rows, info["non_embedding"], peak), "", *notes]) + "\n"
    return rows, report


def main(argv=None) -> int:
    rows, report = run(argv)
    print(report)
    args = parse_args(argv)
    if args.out:
        Path(args.out).write_text(report, encoding="utf-8")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    sys.exit(main())
