"""The cross-benchmark leaderboard: one row per RM, each benchmark's primary headline with its CI and rank.

Every metrics JSON carries a ``headline`` block written by its benchmark object (``primary``, ``columns``,
``values``), so this table needs no knowledge of any particular benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def cross_benchmark_frame(metrics: Sequence[dict]) -> pd.DataFrame:
    """Columns per benchmark: ``<benchmark>`` (its primary headline), ``lo``, ``hi``, ``n``, ``rank``; rows sorted by
    the mean rank over the benchmarks an RM has (ties: by name)."""
    benchmarks: list[str] = []
    primary: dict[str, str] = {}
    rows: dict[str, dict] = {}
    for m in metrics:
        b = m["benchmark"]
        if b not in benchmarks:
            benchmarks.append(b)
            primary[b] = m["headline"]["primary"]
        cell = m["headline"]["values"].get(primary[b]) or {}
        row = rows.setdefault(m["rm"], {"rm": m["rm"]})
        row[b] = cell.get("accuracy")
        row[f"{b} lo"], row[f"{b} hi"], row[f"{b} n"] = cell.get("ci_low"), cell.get("ci_high"), cell.get("n_items")
    frame = pd.DataFrame(list(rows.values()))
    if not len(frame):
        return frame
    for b in benchmarks:
        if b not in frame:
            frame[b] = np.nan
        frame[b] = frame[b].astype(float)
        frame[f"{b} rank"] = frame[b].rank(ascending=False, method="min")
    frame["mean rank"] = frame[[f"{b} rank" for b in benchmarks]].mean(axis=1)
    frame = frame.sort_values(["mean rank", "rm"], kind="stable").reset_index(drop=True)
    frame.attrs["benchmarks"] = benchmarks
    frame.attrs["primary"] = primary
    return frame


def cross_benchmark_markdown(frame: pd.DataFrame, metrics: Sequence[dict]) -> str:
    from rmeval.benchmarks.base import cell_text

    benchmarks = frame.attrs.get("benchmarks", [])
    primary = frame.attrs.get("primary", {})
    lines = ["# Leaderboard: all benchmarks", "",
             "Each benchmark's headline (its own leaderboard's ranking column) with its 95% bootstrap CI, and the RM's "
             "rank on it (1 = best); rows sorted by the mean rank. Scales differ between benchmarks: compare ranks, "
             "not values, across columns.", ""]
    lines.append("| RM | " + " | ".join(f"{b}: {primary[b]}" for b in benchmarks) + " | mean rank |")
    lines.append("|---|" + "---:|" * (len(benchmarks) + 1))
    for _, r in frame.iterrows():
        cells = []
        for b in benchmarks:
            rank = r.get(f"{b} rank")
            rank_txt = f" (#{int(rank)})" if rank is not None and not pd.isna(rank) else ""
            cells.append(cell_text(r.get(b), r.get(f"{b} lo"), r.get(f"{b} hi")) + rank_txt)
        lines.append(f"| {r['rm']} | " + " | ".join(cells) + f" | {r['mean rank']:.2f} |")
    counts = []
    for b in benchmarks:
        n = frame[f"{b} n"].dropna()
        if len(n):
            counts.append(f"{b} {int(n.iloc[0]):,}")
    if counts:
        lines += ["", "Items behind each headline: " + ", ".join(counts) + "."]
    defs = {}
    for m in metrics:
        defs.setdefault(m["benchmark"], m["headline"].get("definition"))
    lines += ["", *[f"- {b}: {d}." for b, d in defs.items() if d]]
    return "\n".join(lines) + "\n"
