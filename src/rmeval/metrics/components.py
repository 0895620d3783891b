"""Metrics of benchmarks scored by goal x format components (the benchmark names them, e.g. RMB's "Help-BoN").

- Per component, the headline is the micro average over its items; the macro average over scenarios is beside it.
- Overall = mean of the components' accuracies. Under the cluster bootstrap the components, their macro averages
  and Overall come from one joint resample of prompts, so Overall's CI sees the correlation between its parts;
  under the item bootstrap each component is resampled on its own (seeds from their names).

``components`` maps a leaderboard column to its (goal, format), in the benchmark's column order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rmeval.metrics.aggregate import accuracy_by_gap, chance_accuracy, counts_summary, group_table
from rmeval.metrics.bootstrap import (bootstrap_means, check_bootstrap, ci_description, cluster_weights, interval,
                                      name_seed, nanmean_rows, ratio_replicates)
from rmeval.metrics.outcomes import FORMATS, item_outcomes, with_prompt_ids

Components = Mapping[str, tuple[str, str]]


def component_parts(components: Components) -> list[tuple[str, str]]:
    """The (goal, format) of each component, goals in the order the components name them, formats in ``FORMATS``'s."""
    goals = list(dict.fromkeys(goal for goal, _ in components.values()))
    return sorted(set(components.values()), key=lambda gf: (goals.index(gf[0]), FORMATS.index(gf[1])))


def goal_format_summary(outcomes: pd.DataFrame, components: Components, n_boot: int, level: float, seed: int,
                        method: str = "cluster") -> tuple[dict, dict]:
    """Per component (goal, format): micro (headline) and macro-over-scenarios accuracy with CIs.

    Cluster bootstrap: one joint resample of the prompts (within scenarios, ``cluster_weights``) gives every
    component's micro and macro replicates. Item bootstrap: each component's items, and
    each scenario's items for macro, are resampled on their own, seeded by their names.
    Returns the nested summary and the micro/macro replicates per component (for Overall's CI).
    Empty components are reported with n_items = 0 and accuracy None.
    """
    check_bootstrap(method)
    summary: dict = {}
    replicates: dict = {"micro": {}, "macro": {}}
    if method == "cluster":
        codes, weights = cluster_weights(outcomes, n_boot, seed)
        correct = outcomes["correct"].to_numpy(dtype=np.float64)
    goal_col, fmt_col = outcomes["goal"].to_numpy(), outcomes["format"].to_numpy()
    for goal, fmt in component_parts(components):
        in_part = (goal_col == goal) & (fmt_col == fmt)
        part = outcomes[in_part]
        scen_acc, scen_reps = [], []
        if method == "cluster":
            reps = ratio_replicates(weights, codes, correct, in_part)
            scen_col = outcomes["scenario"].to_numpy()
            for scen, group in part.groupby("scenario", sort=True):
                scen_acc.append(float(group["correct"].mean()))
                scen_reps.append(ratio_replicates(weights, codes, correct, in_part & (scen_col == scen)))
        else:
            reps = bootstrap_means(part["correct"].to_numpy(dtype=np.float64), n_boot,
                                   np.random.default_rng(name_seed(seed, "component", goal, fmt)))
            for scen, group in part.groupby("scenario", sort=True):
                scen_acc.append(float(group["correct"].mean()))
                rng = np.random.default_rng(name_seed(seed, "scenario", goal, fmt, scen))
                scen_reps.append(bootstrap_means(group["correct"].to_numpy(dtype=np.float64), n_boot, rng))
        lo, hi = interval(reps, level)
        macro_reps = nanmean_rows(scen_reps, n_boot)
        mlo, mhi = interval(macro_reps, level)
        summary.setdefault(goal, {})[fmt] = {
            **counts_summary(part),
            "ci_low": lo,
            "ci_high": hi,
            "chance": chance_accuracy(part),
            "macro": {
                "accuracy": float(np.mean(scen_acc)) if scen_acc else None,
                "ci_low": mlo,
                "ci_high": mhi,
                "n_scenarios": len(scen_acc),
            },
        }
        replicates["micro"][(goal, fmt)] = reps
        replicates["macro"][(goal, fmt)] = macro_reps
    return summary, replicates


def overall(summary: dict, replicates: dict, components: Components, level: float) -> dict:
    """Overall = mean of the components' accuracies (micro; macro beside it). None if any is empty.
    Its replicates are the mean of the components' replicates (joint under the cluster bootstrap)."""
    out = {"components": list(components)}
    for kind in ("micro", "macro"):
        values = []
        for goal, fmt in components.values():
            node = summary[goal][fmt]
            values.append(node["accuracy"] if kind == "micro" else node["macro"]["accuracy"])
        if any(v is None for v in values):
            out[kind] = {"accuracy": None, "ci_low": None, "ci_high": None}
            continue
        reps = np.mean([replicates[kind][gf] for gf in components.values()], axis=0)
        lo, hi = interval(reps, level)
        out[kind] = {"accuracy": float(np.mean(values)), "ci_low": lo, "ci_high": hi}
    out["accuracy"] = out["micro"]["accuracy"]
    return out


def evaluate(items: pd.DataFrame, scores: pd.DataFrame, components: Components, n_boot: int = 1000, level: float = 0.95,
             seed: int = 0, bootstrap: str = "cluster") -> dict:
    """All metrics of one pointwise RM on one benchmark (without provenance)."""
    lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
    return evaluate_outcomes(items, item_outcomes(items, lookup), components, n_boot, level, seed, bootstrap)


def evaluate_outcomes(items: pd.DataFrame, outcomes: pd.DataFrame, components: Components, n_boot: int = 1000,
                      level: float = 0.95, seed: int = 0, bootstrap: str = "cluster") -> dict:
    """All metrics from per-item outcomes (pointwise scores or a pairwise judge's comparisons).
    ``bootstrap``: "cluster" (resample prompts; the default) or "item"; the ``ci`` block names it."""
    outcomes = with_prompt_ids(items, outcomes)
    summary, reps = goal_format_summary(outcomes, components, n_boot, level, seed, bootstrap)
    return {
        "n_items": int(len(items)),
        "overall": overall(summary, reps, components, level),
        "goals": summary,
        "by_task": group_table(outcomes, ["goal", "format", "task"], n_boot, level, seed, bootstrap),
        "by_scenario": group_table(outcomes, ["goal", "format", "scenario"], n_boot, level, seed, bootstrap),
        "by_judge_gap": accuracy_by_gap(items, outcomes),
        "ci": ci_description(outcomes, bootstrap, level, n_boot, seed),
    }


def leaderboard_frame(metrics: Sequence[dict], components: Components) -> pd.DataFrame:
    """One row per RM: the components and Overall (micro, with CIs), macro beside them, sorted by Overall."""
    rows = []
    for m in metrics:
        row = {"rm": m["rm"]}
        for col, (goal, fmt) in components.items():
            node = m["goals"][goal][fmt]
            row[col] = node["accuracy"]
            row[f"{col} lo"], row[f"{col} hi"] = node["ci_low"], node["ci_high"]
            row[f"{col} n"] = node["n_items"]
            row[f"{col} ties"] = node["n_ties"]
            row[f"{col} macro"] = node["macro"]["accuracy"]
        row["Overall"] = m["overall"]["micro"]["accuracy"]
        row["Overall lo"], row["Overall hi"] = m["overall"]["micro"]["ci_low"], m["overall"]["micro"]["ci_high"]
        row["Overall macro"] = m["overall"]["macro"]["accuracy"]
        row["truncated texts"] = m.get("scoring", {}).get("n_truncated")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        frame = frame.sort_values(["Overall", "rm"], ascending=[False, True], na_position="last", kind="stable")
    frame = frame.reset_index(drop=True)
    methods = {(m.get("ci") or {}).get("method") for m in metrics} - {None}
    if len(methods) == 1:
        frame.attrs["ci_method"] = methods.pop()
    return frame
