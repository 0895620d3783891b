"""The RMB-rule builder: an annotated pool (judged responses) -> pairwise pairs and best-of-N groups.

Construction rules (docs/benchmarks.md, "RMB", construction rules; the defaults of ``BuildRules``):

- a pair (chosen, rejected) of one prompt is a *candidate* iff
  ``min_gap <= score(chosen) - score(rejected) <= max_gap`` (inclusive, compared with a small epsilon) and the two
  responses come from different models; equal scores (ties) never form a pair, whatever ``min_gap`` says;
- at most ``max_pairs_per_prompt`` candidates are kept per prompt, drawn by an RNG seeded by (seed, prompt_id), so
  the choice depends neither on the order of the prompts nor on the order of the rows;
- best-of-N groups are formed *from the kept pairs*: one best and ``min_losers..max_losers`` losers, each loser the
  rejected side of a kept pair whose chosen side is the best; best and losers all from distinct models. So every
  (best, loser) pair of a group is in the pairwise set and each loser is ``min_gap..max_gap`` below the best;
- one best may head several groups only with disjoint loser sets (never the same best and the same loser set);
  at most ``max_groups_per_prompt`` groups per prompt (first groups of different bests are preferred);
- rows with an invalid judgment (NaN score) are never used and are counted in the report; a prompt answered by
  a single model yields nothing and is counted too.

The BoN groups are formed in ``rmeval.construct.bon``; ``rmeval.construct.rmb_layout`` writes the sets in the
release's JSON layout (and turns a loaded release back into an annotated pool).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from rmeval.config import ConfigError
from rmeval.construct.bon import bon_groups, keyed_rng
from rmeval.data.rmb import GOALS
from rmeval.ids import text_id as make_text_id

GAP_EPS = 1e-6  # judge scores are multiples of 0.5 (or means of them): far coarser than this
# A prompt is a conversation judged for one goal and scenario: RMB holds one conversation under both goals, with
# goal-specific scores, so the same prompt_id in two contexts is two prompts for the builder.
PROMPT_KEY = ["goal", "task", "scenario", "prompt_id"]
POOL_COLUMNS = ["prompt_id", "goal", "task", "scenario", "conversation", "text_id", "response", "model", "score"]


@dataclass
class BuildRules:
    """RMB's construction rules; every parameter can be changed (e.g. from a Hydra config)."""

    min_gap: float = 0.5
    max_gap: float = 2.5
    max_pairs_per_prompt: int = 10
    min_losers: int = 2
    max_losers: int = 6
    max_groups_per_prompt: int = 5
    require_distinct_models: bool = True
    seed: int = 0

    def __post_init__(self):
        if not (0 <= self.min_gap <= self.max_gap):
            raise ConfigError(f"benchmark.construct.rules: need 0 <= min_gap <= max_gap, got min_gap={self.min_gap}, "
                              f"max_gap={self.max_gap}")
        if self.max_pairs_per_prompt < 0 or self.max_groups_per_prompt < 0:
            raise ConfigError("benchmark.construct.rules: max_pairs_per_prompt and max_groups_per_prompt must be >= 0")
        if not (1 <= self.min_losers <= self.max_losers):
            raise ConfigError(f"benchmark.construct.rules: need 1 <= min_losers <= max_losers, got "
                              f"{self.min_losers}..{self.max_losers}")

    def gap_ok(self, gap: float) -> bool:
        """A gap that may form a pair: inside [min_gap, max_gap] and never a tie."""
        return gap > GAP_EPS and self.min_gap - GAP_EPS <= gap <= self.max_gap + GAP_EPS


def gap_key(gap: float) -> str:
    """Histogram bin of a score gap: '0.5', '1.0', ... (means of scores may give '0.75')."""
    return f"{round(gap * 2) / 2:.1f}" if abs(gap * 2 - round(gap * 2)) < GAP_EPS * 2 else f"{gap:.2f}"


# --------------------------------------------------------------------------------------------------- building
def _check_pool(pool: pd.DataFrame) -> pd.DataFrame:
    pool = pool.copy()
    if "text_id" not in pool.columns and {"conversation", "response"} <= set(pool.columns):
        pool["text_id"] = [make_text_id(c, r) for c, r in zip(pool["conversation"], pool["response"])]
    missing = [c for c in POOL_COLUMNS if c not in pool.columns]
    if missing:
        raise ValueError(f"annotated pool: missing columns {', '.join(missing)} (expected {', '.join(POOL_COLUMNS)})")
    bad_goal = sorted(set(pool["goal"]) - set(GOALS))
    if bad_goal:
        raise ValueError(f"annotated pool: unknown goal(s) {bad_goal} (expected {', '.join(GOALS)})")
    dup = pool.duplicated([*PROMPT_KEY, "text_id"])
    if dup.any():
        row = pool[dup].iloc[0]
        raise ValueError(
            f"annotated pool: text {row['text_id']} of prompt {row['prompt_id']} ({row['goal']}/{row['task']}/"
            f"{row['scenario']}) appears more than once; merge repeated judgments first (e.g. the mean score, as "
            "pool_from_release does)"
        )
    pool["score"] = pd.to_numeric(pool["score"], errors="coerce").astype("float64")
    return pool


def _side(row: dict) -> dict:
    return {"text_id": row["text_id"], "model": row["model"], "response": row["response"], "score": row["score"]}


def build_sets(pool: pd.DataFrame, rules: BuildRules | None = None) -> tuple[list[dict], list[dict], dict]:
    """Build the pairwise and BoN sets from an annotated pool (columns ``POOL_COLUMNS``).

    Returns (pairs, groups, report). A pair is ``{prompt_id, goal, task, scenario, conversation, chosen, rejected,
    gap}``, a group ``{prompt_id, goal, task, scenario, conversation, best, losers, gaps}``, where each response is
    ``{text_id, model, response, score}``. Deterministic for ``rules.seed``; independent of row and prompt order.
    """
    rules = rules or BuildRules()
    pool = _check_pool(pool)
    invalid = pool["score"].isna()
    report: dict = {
        "rules": asdict(rules),
        "n_rows": len(pool),
        "n_invalid_skipped": int(invalid.sum()),
        "n_prompts": len(pool.drop_duplicates(PROMPT_KEY)),
        "n_prompts_all_invalid": 0,  # every judgment of the prompt invalid
        "n_prompts_single_model": 0,  # valid judgments from fewer than two models: nothing can be built
        "n_prompts_without_pairs": 0,  # all prompts that yield nothing (the two kinds above included)
        "n_prompts_capped": 0,  # prompts with more candidates than max_pairs_per_prompt
        "n_ties": 0,
        "n_same_model_dropped": 0,
        "n_gap_out_of_range": 0,
        "n_candidate_pairs": 0,
        "n_kept_pairs": 0,
        "n_groups": 0,
        "n_prompts_with_groups": 0,
        "candidate_gap_histogram": {},
        "gap_histogram": {},  # of the kept pairs
        "loser_count_histogram": {},
        "per_goal": {},
    }
    valid = pool[~invalid]
    n_valid_prompts = len(valid.drop_duplicates(PROMPT_KEY))
    report["n_prompts_all_invalid"] = report["n_prompts"] - n_valid_prompts
    report["n_prompts_without_pairs"] += report["n_prompts_all_invalid"]
    cand_hist: Counter = Counter()
    kept_hist: Counter = Counter()
    loser_hist: Counter = Counter()
    per_goal: dict = defaultdict(lambda: {"prompts": 0, "pairs": 0, "groups": 0})
    pairs: list[dict] = []
    groups: list[dict] = []
    cols = ["text_id", "model", "response", "score"]

    for (goal, task, scenario, pid), rows in valid.sort_values([*PROMPT_KEY, "text_id"], kind="stable").groupby(
            PROMPT_KEY, sort=True):
        meta = {"prompt_id": pid, "goal": goal, "task": task, "scenario": scenario,
                "conversation": rows["conversation"].iloc[0]}
        per_goal[meta["goal"]]["prompts"] += 1
        resp = rows[cols].to_dict("records")
        if len(resp) < 2 or (rules.require_distinct_models and rows["model"].nunique() < 2):
            report["n_prompts_single_model"] += 1
            report["n_prompts_without_pairs"] += 1
            continue
        candidates: list[tuple[dict, dict]] = []
        for i, a in enumerate(resp):
            for b in resp[i + 1:]:
                gap = a["score"] - b["score"]
                if abs(gap) <= GAP_EPS:
                    report["n_ties"] += 1
                    continue
                hi, lo = (a, b) if gap > 0 else (b, a)
                gap = abs(gap)
                if not rules.gap_ok(gap):
                    report["n_gap_out_of_range"] += 1
                elif rules.require_distinct_models and hi["model"] == lo["model"]:
                    report["n_same_model_dropped"] += 1
                else:
                    candidates.append((hi, lo))
        candidates.sort(key=lambda p: (p[0]["text_id"], p[1]["text_id"]))
        report["n_candidate_pairs"] += len(candidates)
        cand_hist.update(gap_key(a["score"] - b["score"]) for a, b in candidates)
        chosen = candidates
        if len(candidates) > rules.max_pairs_per_prompt:
            report["n_prompts_capped"] += 1
            keep = np.sort(keyed_rng("pairs", rules.seed, pid).choice(len(candidates), size=rules.max_pairs_per_prompt,
                                                                      replace=False))
            chosen = [candidates[i] for i in keep]
        if not chosen:
            report["n_prompts_without_pairs"] += 1
            continue
        for a, b in chosen:
            gap = a["score"] - b["score"]
            kept_hist[gap_key(gap)] += 1
            pairs.append({**meta, "chosen": _side(a), "rejected": _side(b), "gap": gap})
        per_goal[meta["goal"]]["pairs"] += len(chosen)
        prompt_groups = bon_groups(pid, chosen, rules)
        for best, losers in prompt_groups:
            loser_hist[str(len(losers))] += 1
            groups.append({**meta, "best": _side(best), "losers": [_side(r) for r in losers],
                           "gaps": [best["score"] - r["score"] for r in losers]})
        per_goal[meta["goal"]]["groups"] += len(prompt_groups)
        report["n_prompts_with_groups"] += bool(prompt_groups)

    order = {g: i for i, g in enumerate(GOALS)}
    pairs.sort(key=lambda p: (order[p["goal"]], str(p["task"]), str(p["scenario"]), p["prompt_id"],
                              p["chosen"]["text_id"], p["rejected"]["text_id"]))
    groups.sort(key=lambda g: (order[g["goal"]], str(g["task"]), str(g["scenario"]), g["prompt_id"],
                               -g["best"]["score"], g["best"]["text_id"]))
    report["n_kept_pairs"] = len(pairs)
    report["n_groups"] = len(groups)

    def _sorted(h: Counter) -> dict:
        return {k: int(h[k]) for k in sorted(h, key=float)}

    report["candidate_gap_histogram"] = _sorted(cand_hist)
    report["gap_histogram"] = _sorted(kept_hist)
    report["loser_count_histogram"] = _sorted(loser_hist)
    report["per_goal"] = {g: dict(per_goal[g]) for g in GOALS if g in per_goal}
    return pairs, groups, report

