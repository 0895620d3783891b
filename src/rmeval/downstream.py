"""Downstream best-of-N: does a better benchmark score mean better selections?

Pools: per prompt, every candidate response with an oracle score (the judge's 1–5 rating carried by the release;
a response rated in several records gets the mean of its ratings). Prompts are split, seeded by prompt_id, into a
benchmark half (whose items give the benchmark metrics used for correlation) and a downstream half (whose pools
give best-of-N quality), so no prompt informs both sides.

Best-of-N at N = 2, 4, 8, … (subsets drawn with a seeded RNG that depends on the prompt and N only, so every RM
sees the same subsets) and on the full pool: the RM picks its top-scoring candidate (ties: the mean oracle score
of the tied candidates, i.e. a uniformly random tie-break in expectation). Reported per goal: mean oracle score of
the pick, of a uniformly random pick, of the oracle-best candidate, the win rate of the pick against a uniformly
random candidate (ties count half) and the regret (best − pick).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from rmeval.metrics import COMPONENTS, evaluate

MEASURES = ("mean_oracle", "win_rate", "regret")


class DownstreamError(ValueError):
    """The benchmark cannot feed the downstream stage (e.g. no judge scores)."""


def _unit_hash(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def split_prompts(prompt_ids, seed: int, downstream_fraction: float) -> set[str]:
    """The downstream half: prompts whose seeded hash falls below the fraction (stable per prompt_id)."""
    cut = downstream_fraction * 2**64
    return {p for p in set(prompt_ids) if _unit_hash("split", seed, p) < cut}


def oracle_pools(items: pd.DataFrame) -> pd.DataFrame:
    """(prompt_id, goal, text_id, oracle) from the judge scores the items carry; mean over records per text."""
    rows = []
    for pid, goal, best, rejected, s_best, s_rej in zip(
        items["prompt_id"], items["goal"], items["chosen_id"], items["rejected_ids"], items["chosen_score"], items["rejected_scores"]
    ):
        rows.append((pid, goal, best, s_best))
        rows.extend((pid, goal, t, s) for t, s in zip(rejected, s_rej))
    frame = pd.DataFrame(rows, columns=["prompt_id", "goal", "text_id", "oracle"])
    if frame.empty or frame["oracle"].isna().all():
        raise DownstreamError("the benchmark's items carry no judge scores: the downstream stage needs an oracle score per response")
    frame = frame.dropna(subset=["oracle"])
    pools = frame.groupby(["prompt_id", "text_id"], sort=True).agg(goal=("goal", "first"), oracle=("oracle", "mean")).reset_index()
    return pools


def _pick_stats(rm_scores: np.ndarray, oracle: np.ndarray) -> tuple[float, float, float, float]:
    """(oracle of the pick, random pick, best, win rate vs a random candidate) for one candidate set."""
    top = rm_scores == np.nanmax(rm_scores) if not np.isnan(rm_scores).all() else np.ones(len(rm_scores), bool)
    picks = oracle[top]
    win = np.mean([(np.sum(p > oracle) + 0.5 * np.sum(p == oracle)) / len(oracle) for p in picks])
    return float(picks.mean()), float(oracle.mean()), float(oracle.max()), float(win)


def best_of_n(pools: pd.DataFrame, scores: dict[str, float], n_draws: int, seed: int, min_prompts: int) -> pd.DataFrame:
    """Rows per (goal, n): n_prompts, mean_oracle, mean_random, mean_best, win_rate, regret.

    ``n`` is an int for subsampled N, or "pool" for each prompt's full candidate pool.
    """
    per_prompt = []  # (goal, n, pick, random, best, win)
    max_pool = int(pools.groupby("prompt_id").size().max()) if len(pools) else 0
    ns = [n for n in (2**k for k in range(1, 8)) if n < max_pool]
    for pid, group in pools.groupby("prompt_id", sort=True):
        oracle = group["oracle"].to_numpy(dtype=float)
        try:
            rm = np.array([scores[t] for t in group["text_id"]], dtype=float)
        except KeyError as err:
            raise DownstreamError(f"prompt {pid}: field 'text_id': no RM score for {err.args[0]}") from None
        goal = group["goal"].iloc[0]
        size = len(group)
        if size < 2:
            continue
        per_prompt.append((goal, "pool", *_pick_stats(rm, oracle)))
        for n in ns:
            if n >= size:
                break
            rng = np.random.default_rng([seed, _unit_hash("bon", pid) % 2**32, n])
            draws = [_pick_stats(rm[idx], oracle[idx]) for idx in (rng.choice(size, size=n, replace=False) for _ in range(n_draws))]
            per_prompt.append((goal, n, *np.mean(draws, axis=0)))
    frame = pd.DataFrame(per_prompt, columns=["goal", "n", "pick", "random", "best", "win"])
    rows = []
    for goal in ["all", *sorted(frame["goal"].unique())] if len(frame) else []:
        part = frame if goal == "all" else frame[frame["goal"] == goal]
        for n in [*ns, "pool"]:
            sub = part[part["n"] == n]
            if len(sub) < (1 if n == "pool" else min_prompts):
                continue
            rows.append({
                "goal": goal, "n": n, "n_prompts": int(len(sub)),
                "mean_oracle": float(sub["pick"].mean()), "mean_random": float(sub["random"].mean()),
                "mean_best": float(sub["best"].mean()), "win_rate": float(sub["win"].mean()),
                "regret": float((sub["best"] - sub["pick"]).mean()),
            })
    return pd.DataFrame(rows)


def downstream_summary(items: pd.DataFrame, scores: pd.DataFrame, cfg: dict, metrics_cfg: dict) -> dict:
    """Everything the downstream JSON holds for one RM (without provenance)."""
    downstream_prompts = split_prompts(items["prompt_id"], cfg["split_seed"], cfg["downstream_fraction"])
    in_down = items["prompt_id"].isin(downstream_prompts)
    bench_items, down_items = items[~in_down].reset_index(drop=True), items[in_down].reset_index(drop=True)
    lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
    pools = oracle_pools(down_items)
    bon = best_of_n(pools, lookup, cfg["n_draws"], cfg["seed"], cfg["min_prompts"])
    bench = evaluate(bench_items, scores, n_boot=metrics_cfg["n_boot"], level=metrics_cfg["ci_level"], seed=metrics_cfg["seed"])
    return {
        "split": {
            "seed": cfg["split_seed"], "downstream_fraction": cfg["downstream_fraction"],
            "n_prompts_benchmark": int(bench_items["prompt_id"].nunique()),
            "n_prompts_downstream": int(down_items["prompt_id"].nunique()),
            "n_items_benchmark": int(len(bench_items)),
        },
        "pool": {
            "n_prompts": int(pools["prompt_id"].nunique()),
            "n_candidates": int(len(pools)),
            "mean_pool_size": float(pools.groupby("prompt_id").size().mean()) if len(pools) else None,
            "oracle": "judge score (1-5), mean over the records that rate the response",
        },
        "bon": [{k: (v if k != "n" else (v if v == "pool" else int(v))) for k, v in r.items()} for r in bon.to_dict("records")],
        "benchmark_half": {"overall": bench["overall"], "goals": bench["goals"], "n_items": bench["n_items"]},
    }


def metric_values(summary: dict) -> dict[str, float | None]:
    """Benchmark metrics (benchmark half) by name: '<component> micro|macro' and 'Overall micro|macro'."""
    half = summary["benchmark_half"]
    out = {}
    for name, (goal, fmt) in COMPONENTS.items():
        node = half["goals"][goal][fmt]
        out[f"{name} micro"] = node["accuracy"]
        out[f"{name} macro"] = node["macro"]["accuracy"]
    out["Overall micro"] = half["overall"]["micro"]["accuracy"]
    out["Overall macro"] = half["overall"]["macro"]["accuracy"]
    return out


def downstream_values(summary: dict) -> dict[str, float | None]:
    """Downstream measures on the full pool, by name: '<measure>@pool <goal>'."""
    out = {}
    for row in summary["bon"]:
        if row["n"] == "pool":
            for m in MEASURES:
                out[f"{m}@pool {row['goal']}"] = row[m]
    return out
