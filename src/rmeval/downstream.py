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

from rmeval.errors import RmevalError

MEASURES = ("mean_oracle", "win_rate", "regret")


class DownstreamError(RmevalError):
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
    return aggregate_picks(pd.DataFrame(per_prompt, columns=["goal", "n", "pick", "random", "best", "win"]), ns, min_prompts)


def aggregate_picks(frame: pd.DataFrame, ns: list[int], min_prompts: int) -> pd.DataFrame:
    """Per-prompt pick statistics (goal, n, pick, random, best, win) -> rows per (goal, n)."""
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


def split_items(items: pd.DataFrame, cfg: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(benchmark-half items, downstream-half items), split by prompt."""
    downstream_prompts = split_prompts(items["prompt_id"], cfg["split_seed"], cfg["downstream_fraction"])
    in_down = items["prompt_id"].isin(downstream_prompts)
    return items[~in_down].reset_index(drop=True), items[in_down].reset_index(drop=True)


def downstream_summary(items: pd.DataFrame, scores: pd.DataFrame, cfg: dict, evaluate_fn) -> dict:
    """Everything the downstream JSON holds for one pointwise RM (without provenance).

    ``evaluate_fn(items, scores=..., outcomes=...)`` computes the benchmark-half metrics (the benchmark object's
    ``evaluate``)."""
    bench_items, down_items = split_items(items, cfg)
    lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
    pools = oracle_pools(down_items)
    bon = best_of_n(pools, lookup, cfg["n_draws"], cfg["seed"], cfg["min_prompts"])
    bench = evaluate_fn(bench_items, scores=scores)
    return _summary(bench_items, down_items, pools, bon, bench, cfg, selection="argmax of the RM's score; ties: mean oracle of the tied")


def knockout_picks(pools: pd.DataFrame, texts: pd.DataFrame, judge, seed: int, cache=None, progress: bool = True) -> tuple[dict, dict]:
    """A pairwise judge's pick per prompt by a knockout: candidates in a seeded order, the champion meets each
    challenger once (n−1 comparisons), the challenger takes over only on a clear win (a tie or an invalid verdict
    keeps the champion). A/B positions are seeded per (prompt, round). Rounds are batched across prompts.

    Returns ({prompt_id: picked text_id}, verdict counts).
    """
    from rmeval.llm.cache import generate_cached
    from rmeval.rms.judge import parse_verdict, render_conversation

    by_id = {t.text_id: t for t in texts.itertuples(index=False)}
    order = {}
    for pid, group in pools.groupby("prompt_id", sort=True):
        ids = list(group["text_id"])
        rng = np.random.default_rng([seed, _unit_hash("knockout", pid) % 2**32])
        order[pid] = [ids[i] for i in rng.permutation(len(ids))]
    champion = {pid: ids[0] for pid, ids in order.items()}
    counts = {"A": 0, "B": 0, "tie": 0, "invalid": 0}
    rounds = max((len(ids) for ids in order.values()), default=1) - 1
    for r in range(1, rounds + 1):
        live = [pid for pid, ids in order.items() if len(ids) > r]
        requests, meta = [], []
        for pid in live:
            challenger = order[pid][r]
            rng = np.random.default_rng([seed, _unit_hash("knockout-pos", pid) % 2**32, r])
            champ_is_a = bool(rng.random() < 0.5)
            a, b = (champion[pid], challenger) if champ_is_a else (challenger, champion[pid])
            conv = render_conversation(list(by_id[a].conversation))
            requests.append(judge.request(f"knockout/{pid}/{r}", conv, by_id[a].response, by_id[b].response))
            meta.append((pid, challenger, champ_is_a))
        results = generate_cached(judge.backend, requests, cache, progress=progress)
        for (pid, challenger, champ_is_a), res in zip(meta, results):
            verdict = parse_verdict(res.text) if res.ok else "invalid"
            counts[verdict] += 1
            if (verdict == "A" and not champ_is_a) or (verdict == "B" and champ_is_a):
                champion[pid] = challenger
    return champion, counts


def downstream_summary_judge(items: pd.DataFrame, texts: pd.DataFrame, comparisons: pd.DataFrame, judge, cfg: dict,
                             evaluate_fn, cache=None, progress: bool = True) -> dict:
    """Downstream for a pairwise judge: knockout picks on the full pools; benchmark-half metrics from its
    comparisons. Subsampled N curves are not run for judges (each N would need its own knockouts)."""
    from rmeval.metrics import comparison_outcomes

    bench_items, down_items = split_items(items, cfg)
    pools = oracle_pools(down_items)
    picks, counts = knockout_picks(pools, texts, judge, cfg["seed"], cache, progress)
    per_prompt = []
    for pid, group in pools.groupby("prompt_id", sort=True):
        if len(group) < 2:
            continue
        chosen = (group["text_id"] == picks[pid]).to_numpy(dtype=float)
        per_prompt.append((group["goal"].iloc[0], "pool", *_pick_stats(chosen, group["oracle"].to_numpy(dtype=float))))
    bon = aggregate_picks(pd.DataFrame(per_prompt, columns=["goal", "n", "pick", "random", "best", "win"]), [], cfg["min_prompts"])
    bench_comparisons = comparisons[comparisons["item_id"].isin(set(bench_items["item_id"]))]
    outcomes, _ = comparison_outcomes(bench_items, bench_comparisons)
    bench = evaluate_fn(bench_items, outcomes=outcomes)
    out = _summary(bench_items, down_items, pools, bon, bench, cfg,
                   selection="knockout: seeded candidate order, n-1 comparisons, the champion keeps ties and invalid verdicts")
    out["knockout_verdicts"] = counts
    return out


def rm_downstream(bench, items: pd.DataFrame, rm: str, cfg: dict, metrics_cfg: dict, *, scores: pd.DataFrame | None = None,
                  score_meta: dict | None = None, judge=None, texts: pd.DataFrame | None = None,
                  comparisons: pd.DataFrame | None = None, cache=None, progress: bool = True) -> dict:
    """What results/downstream/{benchmark}/{rm}.json holds, provenance included: a pointwise RM's ``scores`` (with
    their file's ``score_meta``) pick by score; a pairwise ``judge`` picks by a knockout over ``texts``, with its
    ``comparisons`` for the benchmark half. The benchmark half's metrics are the benchmark object's (``bench``)."""
    from rmeval.provenance import provenance

    def evaluate_half(half, scores=None, outcomes=None):
        return bench.evaluate(half, scores=scores, outcomes=outcomes, metrics_cfg=metrics_cfg)

    if judge is not None:
        summary = downstream_summary_judge(items, texts, comparisons, judge, cfg, evaluate_half, cache, progress)
        fingerprint = judge.fingerprint()
    else:
        summary = downstream_summary(items, scores, cfg, evaluate_half)
        fingerprint = (score_meta or {}).get("fingerprint")
    result = {"benchmark": bench.name, "rm": rm, **summary}
    result["provenance"] = provenance([cfg, metrics_cfg], scoring_fingerprint=fingerprint)
    return result


def _summary(bench_items, down_items, pools, bon, bench, cfg, selection: str) -> dict:
    return {
        "selection": selection,
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
        "benchmark_half": {k: v for k, v in bench.items() if k not in ("by_task", "by_group", "by_judge_gap")},
    }


def quantile_metric_values(summaries: list[dict], quantiles=(0.0, 0.1, 0.25)) -> dict[str, dict[str, float]]:
    """PPE's lower-quantile aggregation of the benchmark half's per-scenario accuracies, as extra metrics per RM:
    '<scope> scenario z q=<q>' for scope 'All' (every goal x format x scenario) and each goal. Each scenario's
    accuracy is z-scored across the RMs given, then aggregated per RM with quantile q (q = 0: its worst
    scenario). Returns {rm: {metric: value}}; {} for summaries without per-scenario rows."""
    from rmeval.metrics.paired import lower_quantile_scores

    rows = [{"rm": s["rm"], "goal": r["goal"], "key": f"{r['goal']}/{r['format']}/{r['scenario']}", "accuracy": r["accuracy"]}
            for s in summaries for r in s.get("benchmark_half", {}).get("by_scenario", [])]
    if not rows:
        return {}
    frame = pd.DataFrame(rows)
    out: dict[str, dict[str, float]] = {s["rm"]: {} for s in summaries}
    for scope in ["All", *sorted(frame["goal"].unique())]:
        part = frame if scope == "All" else frame[frame["goal"] == scope]
        wide = part.pivot_table(index="rm", columns="key", values="accuracy", aggfunc="first")
        for q in quantiles:
            for rm, value in lower_quantile_scores(wide, q).items():
                out[rm][f"{scope} scenario z q={q:g}"] = value
    return out


def downstream_values(summary: dict) -> dict[str, float | None]:
    """Downstream measures on the full pool, by name: '<measure>@pool <goal>'."""
    out = {}
    for row in summary["bon"]:
        if row["n"] == "pool":
            for m in MEASURES:
                out[f"{m}@pool {row['goal']}"] = row[m]
    return out
