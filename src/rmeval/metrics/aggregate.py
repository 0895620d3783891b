"""Accuracy of a set of items: counts, micro accuracy with its bootstrap CI, per-group tables, chance level."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rmeval.metrics.bootstrap import group_replicates, interval, name_seed


def counts_summary(outcomes: pd.DataFrame) -> dict:
    n = int(len(outcomes))
    correct = outcomes["correct"].to_numpy(dtype=np.float64)
    return {
        "n_items": n,
        "n_correct": int(correct.sum()),
        "n_ties": int(outcomes["tie"].sum()),
        "n_invalid": int(outcomes["invalid"].sum()),
        "accuracy": float(correct.mean()) if n else None,
    }


def summarize(outcomes: pd.DataFrame, n_boot: int, level: float, rng: np.random.Generator | int,
              method: str = "cluster") -> tuple[dict, np.ndarray]:
    """Micro accuracy of a set of items with counts and a bootstrap CI; also returns the replicates.
    ``rng``: a Generator, or the run's seed (cluster bootstrap: its draws then match every other table's)."""
    reps = group_replicates(outcomes, n_boot, rng, method)
    lo, hi = interval(reps, level)
    return {**counts_summary(outcomes), "ci_low": lo, "ci_high": hi}, reps


def chance_accuracy(outcomes: pd.DataFrame) -> float | None:
    """Expected accuracy of random scores: mean over items of 1/(losers + 1).

    A best-of-N group with a loser identical to its best (``identical``, which a pointwise RM's outcomes carry)
    counts 0: equal texts get equal scores, a tie, wrong. A pair keeps 1/2 whatever its texts, the convention of
    published pairwise chance levels; a judge's outcomes lack the flag (a judge sees positions, not texts)."""
    if len(outcomes) == 0:
        return None
    credit = 1.0 / (outcomes["n_losers"].to_numpy() + 1.0)
    if "identical" in outcomes.columns:
        never = outcomes["identical"].to_numpy(dtype=bool) & (outcomes["format"].to_numpy() == "bon")
        credit = np.where(never, 0.0, credit)
    return float(np.mean(credit))


def group_table(outcomes: pd.DataFrame, by: Sequence[str], n_boot: int, level: float, seed: int,
                method: str = "cluster") -> list[dict]:
    """Micro accuracy per group (e.g. per scenario), each with a bootstrap CI seeded by names: the group's name
    (item bootstrap) or its scenarios' names (cluster bootstrap). A cluster-bootstrap group's draws equal the
    components' only where its prompts are exactly those of its stratum (goal/scenario) there: not where a prompt
    also has items in another scenario (it is resampled in the first one's stratum) or where the group is one format
    of a scenario whose other format has other prompts."""
    rows = []
    for key, group in outcomes.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rng = seed if method == "cluster" else np.random.default_rng(name_seed(seed, "group", *by, *key))
        summary, _ = summarize(group, n_boot, level, rng, method)
        rows.append({**dict(zip(by, key)), **summary, "chance": chance_accuracy(group)})
    return rows


def accuracy_by_gap(items: pd.DataFrame, outcomes: pd.DataFrame) -> list[dict]:
    """Pairwise accuracy by the judge's score gap (chosen − rejected), where the items carry judge scores."""
    if "chosen_score" not in items.columns:
        return []
    pair = items["format"].to_numpy() == "pairwise"
    gaps = np.array([c - r[0] if len(r) else np.nan for c, r in zip(items["chosen_score"], items["rejected_scores"])], dtype=float)
    frame = pd.DataFrame({"gap": gaps[pair], "goal": items["goal"].to_numpy()[pair], "correct": outcomes["correct"].to_numpy()[pair]})
    frame = frame.dropna(subset=["gap"])
    rows = []
    for (goal, gap), g in frame.groupby(["goal", "gap"], sort=True):
        rows.append({"goal": goal, "gap": float(gap), "n_items": int(len(g)), "accuracy": float(g["correct"].mean())})
    return rows
