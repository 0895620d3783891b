"""Fidelity of the builder: the statistics of a built benchmark next to the RMB release's, and RMB's rule checks.

Both sides are ``items`` tables as ``rmeval.data.rmb.load_rmb`` returns them (with judge scores). The release
kept a subset of the candidate pairs by rules that are not fully documented, so counts and shares differ
between the two sides; the *rule checks* (gap range, distinct models, pairs and groups per prompt, loser counts,
BoN pairs inside the pairwise set) must hold exactly for a set ``build_sets`` produced.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

import numpy as np
import pandas as pd

from rmeval.construct.builder import GAP_EPS, BuildRules
from rmeval.data.rmb import GOALS

GAP_BINS = (0.5, 1.0, 1.5, 2.0, 2.5)
LOSER_BINS = (2, 3, 4, 5, 6)
PROMPT = ["goal", "prompt_id"]  # a prompt within a goal (one RMB conversation appears under both goals)

# metric key -> (label, what it counts); the order of the printed table
ROWS = [
    ("n_prompts", "prompts", "prompts with at least one pair or BoN group"),
    ("n_pairs", "pairs", "pairwise items"),
    *[(f"gap_{g}", f"  pair gap {g}", f"share of pairs with score(chosen) - score(rejected) = {g}") for g in GAP_BINS],
    ("gap_other", "  pair gap other", "share of pairs with any other gap (e.g. means of conflicting scores)"),
    ("max_pairs_per_prompt", "max pairs / prompt", "largest number of pairs of one prompt"),
    ("mean_pairs_per_prompt", "mean pairs / prompt", "over prompts with at least one pair"),
    ("distinct_model_share", "pairs, 2 models", "share of pairs whose sides come from different models"),
    ("n_bon_groups", "BoN groups", "best-of-N items"),
    *[(f"losers_{k}", f"  BoN {k} losers", f"share of groups with {k} losers") for k in LOSER_BINS],
    ("losers_other", "  BoN other", "share of groups with another number of losers"),
    ("mean_losers", "mean losers", "losers per BoN group"),
    ("max_groups_per_prompt", "max groups / prompt", "largest number of BoN groups of one prompt"),
    ("bon_in_pairwise_share", "BoN pairs in pairwise", "share of (best, loser) pairs that are also pairwise items"),
    ("bon_in_pairwise_share_covered", "  same, prompts w/ pairs",
     "the same share over groups whose prompt has pairwise items (excludes missing pairwise files)"),
]

# rule-check key -> what a violation is
CHECKS = {
    "pair_gap_out_of_range": "pairs with a gap outside [min_gap, max_gap] (ties included)",
    "pair_same_model": "pairs whose two sides come from one model",
    "prompts_over_pair_cap": "prompts with more than max_pairs_per_prompt pairs",
    "duplicate_pairs": "pairs that repeat another (chosen, rejected) of the same prompt",
    "bon_loser_count_out_of_range": "groups with fewer than min_losers or more than max_losers losers",
    "bon_gap_out_of_range": "(best, loser) pairs with a gap outside [min_gap, max_gap]",
    "bon_models_not_distinct": "groups whose best and losers do not all come from distinct models",
    "bon_pairs_not_in_pairwise": "(best, loser) pairs absent from the pairwise set, groups of prompts with pairs",
    "bon_prompts_without_pairs": "groups whose prompt has no pairwise item at all",
    "prompts_over_group_cap": "prompts with more than max_groups_per_prompt groups",
    "duplicate_groups": "groups with the same best and the same loser set as another",
}


def _gap_in(gap: float, rules: BuildRules) -> bool:
    return not np.isnan(gap) and rules.gap_ok(gap)


def goal_stats(items: pd.DataFrame, rules: BuildRules | None = None) -> dict:
    """Statistics and rule violations of one goal's items (pairwise + BoN)."""
    rules = rules or BuildRules()
    pw = items[items["format"] == "pairwise"]
    bon = items[items["format"] == "bon"]
    out: dict = {"n_prompts": len(items.drop_duplicates(PROMPT)), "n_pairs": len(pw)}
    gaps = np.array([c - r[0] for c, r in zip(pw["chosen_score"], pw["rejected_scores"])], dtype=float)
    hist = Counter()
    for g in gaps:
        b = next((b for b in GAP_BINS if abs(g - b) <= GAP_EPS), "other")
        hist[b] += 1
    for b in GAP_BINS:
        out[f"gap_{b}"] = hist[b] / len(pw) if len(pw) else None
    out["gap_other"] = hist["other"] / len(pw) if len(pw) else None
    per_prompt = pw.groupby(PROMPT).size()
    out["max_pairs_per_prompt"] = int(per_prompt.max()) if len(per_prompt) else 0
    out["mean_pairs_per_prompt"] = float(per_prompt.mean()) if len(per_prompt) else None
    same = np.array([c == r[0] for c, r in zip(pw["chosen_model"], pw["rejected_models"])], dtype=bool)
    out["distinct_model_share"] = float(1 - same.mean()) if len(pw) else None

    n_losers = [len(r) for r in bon["rejected_ids"]]
    lc = Counter(n_losers)
    out["n_bon_groups"] = len(bon)
    for k in LOSER_BINS:
        out[f"losers_{k}"] = lc[k] / len(bon) if len(bon) else None
    out["losers_other"] = sum(v for k, v in lc.items() if k not in LOSER_BINS) / len(bon) if len(bon) else None
    out["mean_losers"] = float(np.mean(n_losers)) if n_losers else None
    per_prompt_g = bon.groupby(PROMPT).size()
    out["max_groups_per_prompt"] = int(per_prompt_g.max()) if len(per_prompt_g) else 0

    pair_set = set(zip(pw["goal"], pw["prompt_id"], pw["chosen_id"], [r[0] for r in pw["rejected_ids"]]))
    prompts_with_pairs = set(zip(pw["goal"], pw["prompt_id"]))
    n_bon_pairs = n_in = n_cov = n_cov_in = 0
    bon_gap_bad = bon_models_bad = bon_no_pairs = 0
    for row in bon.itertuples(index=False):
        covered = (row.goal, row.prompt_id) in prompts_with_pairs
        bon_no_pairs += not covered
        models = [row.chosen_model, *row.rejected_models]
        bon_models_bad += len(set(models)) != len(models)
        for lid, ls in zip(row.rejected_ids, row.rejected_scores):
            inside = (row.goal, row.prompt_id, row.chosen_id, lid) in pair_set
            n_bon_pairs += 1
            n_in += inside
            n_cov += covered
            n_cov_in += covered and inside
            bon_gap_bad += not _gap_in(row.chosen_score - ls, rules)
    out["bon_in_pairwise_share"] = n_in / n_bon_pairs if n_bon_pairs else None
    out["bon_in_pairwise_share_covered"] = n_cov_in / n_cov if n_cov else None

    group_keys = [(g, p, c, frozenset(r)) for g, p, c, r in zip(bon["goal"], bon["prompt_id"], bon["chosen_id"],
                                                                  bon["rejected_ids"])]
    out["checks"] = {
        "pair_gap_out_of_range": int(sum(not _gap_in(g, rules) for g in gaps)),
        "pair_same_model": int(same.sum()) if rules.require_distinct_models else 0,
        "prompts_over_pair_cap": int((per_prompt > rules.max_pairs_per_prompt).sum()),
        "duplicate_pairs": int(len(pw) - len(pair_set)),
        "bon_loser_count_out_of_range": int(sum(not rules.min_losers <= k <= rules.max_losers for k in n_losers)),
        "bon_gap_out_of_range": int(bon_gap_bad),
        "bon_models_not_distinct": int(bon_models_bad) if rules.require_distinct_models else 0,
        "bon_pairs_not_in_pairwise": int(n_cov - n_cov_in),
        "bon_prompts_without_pairs": int(bon_no_pairs),
        "prompts_over_group_cap": int((per_prompt_g > rules.max_groups_per_prompt).sum()),
        "duplicate_groups": int(len(group_keys) - len(set(group_keys))),
    }
    return out


def set_stats(items: pd.DataFrame, rules: BuildRules | None = None) -> dict:
    """``goal_stats`` per goal present in ``items``, in RMB's goal order."""
    return {g: goal_stats(items[items["goal"] == g], rules) for g in GOALS if (items["goal"] == g).any()}


def compare_with_release(release_items: pd.DataFrame, built_items: pd.DataFrame,
                         rules: BuildRules | None = None) -> dict:
    """Side-by-side statistics of the release and a rebuilt set, plus the rule checks of both.

    ``rebuilt_rules_hold`` is True iff every rule check of the rebuilt side is zero. The release's own checks
    are reported as they are (a copy that lacks pairwise files has BoN groups without pairwise items).
    """
    rules = rules or BuildRules()
    release, rebuilt = set_stats(release_items, rules), set_stats(built_items, rules)
    violations = {
        side: {g: {k: v for k, v in s["checks"].items() if v} for g, s in stats.items()}
        for side, stats in (("release", release), ("rebuilt", rebuilt))
    }
    return {
        "rules": asdict(rules),
        "release": release,
        "rebuilt": rebuilt,
        "violations": violations,
        "rebuilt_rules_hold": not any(violations["rebuilt"][g] for g in violations["rebuilt"]),
    }


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_comparison(result: dict, explain: bool = True) -> str:
    """A printable table: one row per statistic, release | rebuilt per goal, then the rule checks."""
    goals = [g for g in GOALS if g in result["release"] or g in result["rebuilt"]]
    head = ["statistic"] + [f"{g[:4]}. {side}" for g in goals for side in ("release", "rebuilt")]
    lines = []
    body = []
    for key, label, what in ROWS:
        cells = [label]
        for g in goals:
            for side in ("release", "rebuilt"):
                cells.append(_fmt(result[side].get(g, {}).get(key)))
        body.append((cells, what))
    body.append(([""] + [""] * (len(head) - 1), ""))
    body.append((["rule checks (violations)"] + [""] * (len(head) - 1), ""))
    for key, what in CHECKS.items():
        cells = [f"  {key}"]
        for g in goals:
            for side in ("release", "rebuilt"):
                cells.append(_fmt(result[side].get(g, {}).get("checks", {}).get(key)))
        body.append((cells, what))
    widths = [max(len(r[0][i]) for r in [(head, "")] + body) for i in range(len(head))]

    def row(cells, what=""):
        text = "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))
        return f"{text}   {what}" if explain and what else text.rstrip()

    lines.append(row(head))
    lines.append("-" * len(row(head)))
    lines.extend(row(c, w) for c, w in body)
    lines.append("")
    lines.append("rules: " + ", ".join(f"{k}={v}" for k, v in result["rules"].items()))
    lines.append("rebuilt sets obey every rule: " + ("YES" if result["rebuilt_rules_hold"] else
                                                     f"NO: {result['violations']['rebuilt']}"))
    return "\n".join(lines)
