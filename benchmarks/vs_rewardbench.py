#!/usr/bin/env python
"""rmeval against the real peer: the ``rewardbench`` CLI (PyPI, pinned) side by side with rmeval's score stage.

    python benchmarks/vs_rewardbench.py                       # RMB subset from $RMB_ROOT (else the smoke fixture)
    python benchmarks/vs_rewardbench.py --models tiny --prompts 50

What it does, in order:
1. installs ``rewardbench==0.1.4`` into its own venv (``resources/rewardbench-venv`` unless ``--venv``), with
   ``torch==2.13.0`` installed first so pip never pulls a CUDA build; reused when already there;
2. samples RMB prompts (seeded) and keeps *all* their pairwise items; exports them in the peer's preference
   format (a JSONL of ``chosen`` / ``rejected`` message lists) and rmeval's texts table (the unique texts);
3. builds the random-weight classifiers (tiny, MiniLM-sized) with a byte-level BPE tokenizer trained on the
   subset's texts, so token lengths are realistic;
4. runs, each as a whole process and timed from outside: the peer's CLI (offline, ``--not_quantized``, the same
   dtype, ``--force_truncation`` at the same ``max_length``, left side) at each ``--batch-sizes``, and
   ``python -m rmeval.stages.score`` on the same items with a fresh cache, both under the same thread count;
5. prints wall times, forward tokens (rows x padded width), the ratio and per-pair agreement.

The CPU shim. rewardbench 0.1.4 moves every batch with a hard-coded ``.to("cuda")``
(``rewardbench/models/pipeline.py``). The launcher written next to the exported data wraps
``transformers.BatchEncoding.to`` so that "cuda" means "cpu" when no GPU is present; it also counts the rows,
padded width and real tokens of each batch it moves (a read, not a change). Nothing else of the peer changes:
its CLI parses the same arguments and runs its own loop.

Agreement. Two known differences make some scores differ; both are reported separately:
- pad = EOS (the tiny models, like many released RMs): the peer left-pads and its classifier pools the rightmost
  token that is not the pad id, which is the token *before* the final EOS; rmeval pools the EOS itself;
- truncation: the peer's tokenizer cuts the left end of the text, BOS included; rmeval keeps BOS and cuts after it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PEER = "rewardbench==0.1.4"
TORCH = "torch==2.13.0"
MODELS = {
    # name: rmeval.tiny.build_tiny_classifier kwargs
    "tiny": dict(hidden_size=32, num_layers=2, num_heads=4),
    # MiniLM-L6 shape (6 layers, hidden 384, 12 heads, MLP 1536) with random weights
    "minilm-sized": dict(hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536),
}
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "disabled",
               "HF_HUB_DISABLE_TELEMETRY": "1"}

SHIM = '''\
"""CPU shim for the rewardbench CLI (written by rmeval's benchmarks/vs_rewardbench.py).

rewardbench 0.1.4 moves each batch with a hard-coded .to("cuda"); without a GPU, "cuda" becomes "cpu" here.
The same wrapper counts rows, padded width and real tokens of every batch (written to $RMEVAL_PEER_COUNTS).
Nothing else of the peer is changed: its own main() parses the command line and runs its loop.
"""
import atexit
import json
import os
import sys

import torch
from transformers import BatchEncoding

_to = BatchEncoding.to
counts = {"batches": 0, "rows": 0, "padded_tokens": 0, "real_tokens": 0}


def to(self, device, *args, **kwargs):
    if device == "cuda" and not torch.cuda.is_available():
        device = "cpu"
    ids, mask = self.get("input_ids"), self.get("attention_mask")
    if ids is not None and hasattr(ids, "shape") and ids.dim() == 2:
        counts["batches"] += 1
        counts["rows"] += int(ids.shape[0])
        counts["padded_tokens"] += int(ids.numel())
        counts["real_tokens"] += int(mask.sum()) if mask is not None else int(ids.numel())
    return _to(self, device, *args, **kwargs)


BatchEncoding.to = to


@atexit.register
def _dump():
    path = os.environ.get("RMEVAL_PEER_COUNTS")
    if path:
        with open(path, "w") as f:
            json.dump(counts, f)


from rewardbench.rewardbench import main  # noqa: E402

sys.argv[0] = "rewardbench"
main()
'''


# --------------------------------------------------------------------------------------------- peer install
def peer_python(venv: Path) -> Path | None:
    """The venv's python when rewardbench imports there, else None."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import rewardbench, torch"]
    if python.exists() and subprocess.run(probe, capture_output=True, env=thread_env(1)).returncode == 0:
        return python
    return None


def ensure_peer(venv: Path) -> Path:
    """The venv's python with rewardbench importable (created and installed when missing)."""
    python = peer_python(venv)
    if python is not None:
        return python
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import rewardbench, torch"]
    print(f"installing {PEER} into {venv} ({TORCH} first; a few minutes) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, TORCH, "setuptools<81"], check=True)  # rewardbench imports pkg_resources
    subprocess.run([*pip, PEER, TORCH, "setuptools<81"], check=True)  # pins repeated: the resolver keeps the pinned CPU build
    subprocess.run(probe, check=True, capture_output=True)
    return python


# --------------------------------------------------------------------------------------------- data
def load_subset(rmb_root: str | None, n_prompts: int, seed: int, workdir: Path):
    """(pairwise items, their unique texts, where from): n_prompts seeded prompts with all their pairwise items."""
    from rmeval.benchmarks import build_benchmark

    if rmb_root:
        source = f"RMB release at {rmb_root}"
    else:
        from rmeval.data.fixture import write_smoke_fixture

        rmb_root = str(workdir / "smoke_fixture")
        write_smoke_fixture(rmb_root, seed=seed, items_per_scenario=8)
        source = "the generated smoke fixture (set RMB_ROOT for the release)"
    bench = {"name": "rmb", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False, "sample": {}}
    items, texts, _ = build_benchmark(bench).load(rmb_root)
    items = items[items["format"] == "pairwise"]
    rng = np.random.default_rng(seed)
    prompts = np.sort(items["prompt_id"].unique())
    keep = set(rng.choice(prompts, size=min(n_prompts, len(prompts)), replace=False))
    items = items[items["prompt_id"].isin(keep)].sort_values("item_id").reset_index(drop=True)
    used = set(items["chosen_id"]) | {t for ids in items["rejected_ids"] for t in ids}
    return items, texts[texts["text_id"].isin(used)].reset_index(drop=True), source


def export_peer_jsonl(items: pd.DataFrame, texts: pd.DataFrame, path: Path) -> list[tuple[str, str]]:
    """The peer's preference format, one pair a line; returns (chosen_id, rejected_id) per line."""
    by_id = texts.set_index("text_id")
    pairs = []
    with open(path, "w") as f:
        for row in items.itertuples(index=False):
            chosen, rejected = row.chosen_id, row.rejected_ids[0]
            conv = [{"role": t["role"], "content": t["content"]} for t in by_id.at[chosen, "conversation"]]
            rec = {
                "chosen": [*conv, {"role": "assistant", "content": by_id.at[chosen, "response"]}],
                "rejected": [*conv, {"role": "assistant", "content": by_id.at[rejected, "response"]}],
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            pairs.append((chosen, rejected))
    return pairs


def readable_by_peer(model_dir: Path) -> Path:
    """transformers 5 names the tokenizer class ``TokenizersBackend``, which the peer's transformers 4.51 does not
    know; ``PreTrainedTokenizerFast`` is the same tokenizer under the name both versions read. Its inputs are named
    as a Llama tokenizer names them (4.51's default adds token_type_ids, which a Llama classifier refuses)."""
    path = model_dir / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config["model_input_names"] = ["input_ids", "attention_mask"]
    path.write_text(json.dumps(config, indent=2))
    return model_dir


# --------------------------------------------------------------------------------------------- runs
def thread_env(threads: int) -> dict:
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    # the same thread count for torch (OpenMP, MKL) and for the tokenizers library's batch encoding (rayon)
    env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "RAYON_NUM_THREADS": str(threads),
                "TOKENIZERS_PARALLELISM": "true"})
    return env


def timed(cmd: list[str], env: dict, cwd: Path, log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children): CPU time is the steadier of the two on a
    machine shared with other work."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        raise SystemExit(f"error: {' '.join(cmd[:4])} ... failed (exit {proc.returncode}); log {log}:\n" + "\n".join(tail))
    return wall, cpu


def run_peer(python: Path, model_dir: Path, data: Path, batch_size: int, max_length: int, dtype: str, threads: int,
             workdir: Path) -> dict:
    """The peer's CLI on the exported pairs, whole process: wall time, scores per pair, forward-token counts."""
    run_dir = workdir / f"peer-{model_dir.name}-b{batch_size}"
    run_dir.mkdir(parents=True, exist_ok=True)
    shim = workdir / "rewardbench_cpu.py"
    shim.write_text(SHIM)
    env = thread_env(threads)
    env["RMEVAL_PEER_COUNTS"] = str(run_dir / "counts.json")
    cmd = [str(python), str(shim), f"--model={model_dir}", f"--dataset={data}", "--load_json",
           f"--batch_size={batch_size}", f"--max_length={max_length}", f"--torch_dtype={dtype}",
           "--not_quantized", "--force_truncation", f"--output_dir={run_dir}/"]
    wall, cpu = timed(cmd, env, run_dir, run_dir / "log.txt")
    # The CLI writes os.path.join(output_dir, f"{model}_outputs.jsonl"); an absolute model path wins the join.
    out = Path(f"{model_dir}_outputs.jsonl")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    out.unlink()
    counts = json.loads((run_dir / "counts.json").read_text())
    return {"wall_s": wall, "cpu_s": cpu, "chosen": np.array([r["scores_chosen"] for r in rows]),
            "rejected": np.array([r["scores_rejected"] for r in rows]), **counts}


def run_rmeval(model_dir: Path, texts_path: Path, args, workdir: Path, tag: str) -> dict:
    run_dir = workdir / f"rmeval-{model_dir.name}-{tag}"
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh score cache: every text is scored
    run_dir.mkdir(parents=True)
    out = run_dir / "scores.parquet"
    cmd = [sys.executable, "-m", "rmeval.stages.score", "rm=tiny-classifier", f"++rm.model={model_dir}",
           f"++rm.max_length={args.max_length}", f"++rm.dtype={args.dtype}", "++rm.truncation_side=left",
           "++rm.device=cpu", f"scoring.threads={args.threads}", "scoring.progress=false",
           f"++io.texts={texts_path}", f"++io.cache_dir={run_dir}/cache", f"++io.out={out}", *args.rmeval_override]
    env = thread_env(args.threads)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    wall, cpu = timed(cmd, env, ROOT, run_dir / "log.txt")
    from rmeval.scoring import read_scores

    scores, meta = read_scores(out)
    return {"wall_s": wall, "cpu_s": cpu, "scores": scores.set_index("text_id"), "stats": meta["stats"]}


# --------------------------------------------------------------------------------------------- report
def agreement(peer: dict, ours: dict, pairs: list[tuple[str, str]]) -> dict:
    s = ours["scores"]
    c = s.loc[[p[0] for p in pairs]]
    r = s.loc[[p[1] for p in pairs]]
    ours_win = c["score"].to_numpy() > r["score"].to_numpy()
    peer_win = peer["chosen"] > peer["rejected"]
    truncated = c["truncated"].to_numpy() | r["truncated"].to_numpy()
    diff = np.maximum(np.abs(peer["chosen"] - c["score"].to_numpy()), np.abs(peer["rejected"] - r["score"].to_numpy()))
    return {
        "pairs": len(pairs),
        "same_verdict": float(np.mean(ours_win == peer_win)),
        "acc_peer": float(np.mean(peer_win)), "acc_ours": float(np.mean(ours_win)),
        "n_untruncated": int((~truncated).sum()),
        "max_diff_untruncated": float(diff[~truncated].max()) if (~truncated).any() else float("nan"),
        "max_diff": float(diff.max()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rmb-root", default=os.environ.get("RMB_ROOT"),
                        help="RMB_dataset folder (default $RMB_ROOT; unset: the generated smoke fixture)")
    parser.add_argument("--prompts", type=int, default=150, help="RMB prompts sampled, with all their pairwise items")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="tiny,minilm-sized", help=f"comma list from {', '.join(MODELS)}")
    parser.add_argument("--batch-sizes", default="8,1", help="the peer's batch sizes (8 is its default)")
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--vocab-size", type=int, default=8000, help="BPE tokenizer trained on the subset's texts")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--threads", type=int, default=2, help="torch threads on both sides")
    parser.add_argument("--target-speedup", type=float, default=2.5, help="peer wall / rmeval wall to reach")
    parser.add_argument("--target-tokens", type=float, default=0.55, help="rmeval / peer forward tokens to stay under")
    parser.add_argument("--rmeval-override", action="append", default=[],
                        help="extra override for rmeval's score stage, e.g. ++rm.batching=padded (repeatable)")
    parser.add_argument("--venv", type=Path, default=ROOT / "resources" / "rewardbench-venv", help="the peer's venv")
    parser.add_argument("--workdir", type=Path, default=None, help="keep models, data and logs here (default: a temp dir)")
    args = parser.parse_args()
    if args.rmb_root and not Path(args.rmb_root).is_dir():
        print(f"error: --rmb-root / RMB_ROOT {args.rmb_root!r} is not a folder", file=sys.stderr)
        return 2
    python = ensure_peer(args.venv.resolve())  # absolute: the peer runs in the work folder
    peer_version = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('rewardbench'), "
                                   "m.version('transformers'), m.version('torch'))"],
                                  capture_output=True, text=True, check=True).stdout.split()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = (args.workdir or Path(tmp)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        items, texts, source = load_subset(args.rmb_root, args.prompts, args.seed, workdir)
        data = workdir / "pairs.jsonl"
        pairs = export_peer_jsonl(items, texts, data)
        texts_path = workdir / "texts.parquet"
        texts.to_parquet(texts_path, index=False)
        print(f"subset: {args.prompts} prompts (seed {args.seed}) of {source}: {len(pairs)} pairs, {2 * len(pairs)} "
              f"response slots, {len(texts)} unique texts")
        print(f"peer: rewardbench {peer_version[0]} (transformers {peer_version[1]}, torch {peer_version[2]}); "
              f"both sides: {args.dtype}, {args.threads} threads, left truncation at {args.max_length}, CPU")
        from rmeval.tiny import build_tiny_classifier

        corpus = [*texts["response"], *(t["content"] for conv in texts["conversation"] for t in conv)]
        for name in args.models.split(","):
            name = name.strip()
            model_dir = readable_by_peer(build_tiny_classifier(workdir / name, seed=0, vocab_size=args.vocab_size, corpus=corpus, **MODELS[name]))
            ours = run_rmeval(model_dir, texts_path, args, workdir, "run")
            st = ours["stats"]
            print()
            print(f"{'model':<14}{'side':<22}{'fwd tokens':>12}{'pad eff':>9}{'wall s':>9}{'cpu s':>9}"
                  f"{'peer/rmeval wall':>18}{'cpu':>8}")
            print(f"{name:<14}{'rmeval':<22}{st['padded_tokens']:>12,}{st['padding_efficiency']:>9.3f}"
                  f"{ours['wall_s']:>9.2f}{ours['cpu_s']:>9.2f}")
            print(f"{'':<14}  rmeval: {st.get('path') or '?'} batches, {st['shared_prefix_tokens']:,} prompt-prefix tokens "
                  f"computed once, {st['n_batches']} batches; public torch/transformers code only")
            walls, tokens = {}, {}
            for bs in batch_sizes:
                peer = run_peer(python, model_dir, data, bs, args.max_length, args.dtype, args.threads, workdir)
                ratio = peer["wall_s"] / ours["wall_s"]
                walls[bs], tokens[bs] = peer["wall_s"], peer["padded_tokens"]
                eff = peer["real_tokens"] / peer["padded_tokens"] if peer["padded_tokens"] else 1.0
                label = f"rewardbench batch {bs}"
                print(f"{'':<14}{label:<22}{peer['padded_tokens']:>12,}{eff:>9.3f}{peer['wall_s']:>9.2f}"
                      f"{peer['cpu_s']:>9.2f}{ratio:>17.2f}x{peer['cpu_s'] / ours['cpu_s']:>7.2f}x")
                a = agreement(peer, ours, pairs)
                print(f"{'':<14}  agreement: same verdict on {a['same_verdict']:.1%} of {a['pairs']} pairs (accuracy "
                      f"peer {a['acc_peer']:.3f}, rmeval {a['acc_ours']:.3f}); max |score diff| {a['max_diff']:.2e}, "
                      f"on the {a['n_untruncated']} untruncated pairs {a['max_diff_untruncated']:.2e}")
            fastest = min(walls, key=walls.get)
            best = walls[fastest] / ours["wall_s"]
            print(f"{'':<14}the peer's fastest here: batch {fastest}; rmeval is {best:.2f}x faster, whole process "
                  f"(target >= {args.target_speedup}x: {'met' if best >= args.target_speedup else 'MISSED'})")
            share = st["padded_tokens"] / tokens[fastest]
            print(f"{'':<14}forward tokens: rmeval {st['padded_tokens']:,} = {share:.3f}x the peer's {tokens[fastest]:,} at "
                  f"batch {fastest} (target <= {args.target_tokens}x: {'met' if share <= args.target_tokens else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
