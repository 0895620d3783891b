"""A pairwise judge's per-item outcomes from its comparisons table (item_id, loser_index, order, verdict,
chosen_is_a, chosen_won; majority voting adds vote counts), in the shape of ``item_outcomes``, with its position
bias and consistency statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rmeval.metrics.outcomes import ScoreMissingError


#: how the verdicts of the orders of one (chosen, loser) comparison combine (a benchmark picks one: ``Benchmark.order_rule``)
ORDER_RULES = {
    "all": "won when the chosen wins in every order that was run",
    "net": ("won when the orders net in the chosen's favour: +1 per order that picks the chosen, -1 per order that "
            "picks the loser, ties and invalid verdicts 0; won iff the sum is > 0"),
}


def comparison_outcomes(items: pd.DataFrame, comparisons: pd.DataFrame, rule: str = "all") -> tuple[pd.DataFrame, dict]:
    """Per-item outcomes in the shape of ``metrics.item_outcomes`` plus position-bias statistics.

    ``rule`` (``ORDER_RULES``) says when a (chosen, loser) comparison is won. ``all`` (the default, RMB's): the chosen
    wins in every order that was run; an item with any invalid verdict (and not correct) is invalid; one with a tie
    (and nothing lost or invalid) is a tie. ``net`` (JudgeBench's double game): the orders' votes sum to > 0; a
    comparison whose votes sum to 0 is invalid when one of its verdicts is invalid, else a tie (e.g. one order right,
    one wrong). Either way an item is correct when all its comparisons are won.
    """
    if rule not in ORDER_RULES:
        raise ValueError(f"comparisons: order rule {rule!r} unknown (expected one of {', '.join(ORDER_RULES)})")
    is_invalid, is_tie = comparisons["verdict"] == "invalid", comparisons["verdict"] == "tie"
    vote = np.where(is_invalid | is_tie, 0, np.where(comparisons["chosen_won"].to_numpy(dtype=bool), 1, -1))
    per_pair = comparisons.assign(vote=vote, is_invalid=is_invalid, is_tie=is_tie).groupby(["item_id", "loser_index"], sort=False).agg(
        won=("chosen_won", "all"), any_invalid_verdict=("is_invalid", "any"), any_tie=("is_tie", "any"), net=("vote", "sum"),
        n_orders=("order", "nunique"), consistent=("chosen_won", lambda v: v.nunique() == 1),
        same_verdict_kind=("is_tie", lambda v: v.nunique() == 1),
    ).reset_index()
    per_pair["consistent"] = per_pair["consistent"] & per_pair["same_verdict_kind"]
    per_pair["any_invalid"] = per_pair["any_invalid_verdict"]
    if rule == "net":
        undecided = per_pair["net"] == 0
        per_pair["won"] = per_pair["net"] > 0
        per_pair["any_invalid"] = undecided & per_pair["any_invalid_verdict"]
        per_pair["any_tie"] = undecided & ~per_pair["any_invalid_verdict"]
    per_item = per_pair.groupby("item_id", sort=False).agg(
        correct=("won", "all"), invalid=("any_invalid", "any"), tie=("any_tie", "any"), n_losers=("loser_index", "count"),
    )
    missing = set(items["item_id"]) - set(per_item.index)
    if missing:
        raise ScoreMissingError(f"comparisons: field 'item_id': no comparison for item {sorted(missing)[0]} ({len(missing)} items in all)")
    out = items[[c for c in ("item_id", "format", "goal", "task", "scenario") if c in items.columns]].copy()
    joined = per_item.loc[out["item_id"]]
    out["n_losers"] = joined["n_losers"].to_numpy()
    out["correct"] = joined["correct"].to_numpy(dtype=bool)
    out["invalid"] = joined["invalid"].to_numpy(dtype=bool) & ~out["correct"]
    out["tie"] = joined["tie"].to_numpy(dtype=bool) & ~out["correct"] & ~out["invalid"]
    out["margin"] = np.where(out["correct"], 1.0, np.where(out["tie"], 0.0, -1.0))
    valid = comparisons[comparisons["verdict"].isin(["A", "B"])]
    both = per_pair[(per_pair["n_orders"] > 1) & ~per_pair["any_invalid_verdict"]]  # consistency over valid verdicts only
    stats = {
        "n_comparisons": int(len(comparisons)),
        "verdicts": {v: int((comparisons["verdict"] == v).sum()) for v in ("A", "B", "tie", "invalid")},
        "share_A_among_valid": float((valid["verdict"] == "A").mean()) if len(valid) else None,
        "win_rate_chosen_shown_as_A": _rate(comparisons[comparisons["chosen_is_a"]]["chosen_won"]),
        "win_rate_chosen_shown_as_B": _rate(comparisons[~comparisons["chosen_is_a"]]["chosen_won"]),
        "consistency_rate": float(both["consistent"].mean()) if len(both) else None,
        "n_pairs_both_orders": int(len(both)),
    }
    if rule != "all":  # the default rule's statistics stay as they were
        stats["order_rule"] = rule
    if "n_samples" in comparisons.columns:  # majority voting
        stats["majority"] = {
            "samples": int(comparisons["n_samples"].max()),
            "vote_ties": int(comparisons["vote_tie"].sum()),
            "unanimous_rate": _rate(comparisons["votes_invalid"].eq(0) & comparisons[["votes_A", "votes_B", "votes_tie"]].eq(
                comparisons["n_samples"], axis=0).any(axis=1)),
            "sample_verdicts": {v: int(comparisons[f"votes_{v}"].sum()) for v in ("A", "B", "tie", "invalid")},
        }
    return out.reset_index(drop=True), stats


def _rate(series: pd.Series) -> float | None:
    return float(series.mean()) if len(series) else None
