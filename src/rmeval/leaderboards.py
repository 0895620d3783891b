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


def p_value_text(p: float | None, n_boot: int | None = None) -> str:
    """A p-value for a table: 3 decimals; below ``1/n_boot`` (a bootstrap p-value that no resample reached, stored as
    0) ``< 1/n_boot``, e.g. ``< 0.001`` for 1,000 resamples; without ``n_boot`` (an exact test) below 0.001
    ``< 0.001``; missing: ``–``."""
    if p is None or pd.isna(p):
        return "–"
    bound = 1.0 / n_boot if n_boot else 0.001
    return f"< {bound:.3g}" if p < bound else f"{p:.3f}"


def significance_markdown(table: pd.DataFrame, benchmark: str) -> str:
    """The paired comparisons of ``rmeval.metrics.paired.paired_comparisons`` as a markdown table (the CSV keeps
    the unrounded numbers)."""
    lines = [f"# Paired comparisons: {benchmark}", ""]
    if table.empty:
        return "\n".join(lines + ["Fewer than two RMs: nothing to compare.", ""])
    first = table.iloc[0]
    lines += [f"Accuracy difference a − b with its paired {first['bootstrap']} bootstrap {first['level']:.0%} CI and "
              f"p-value ({int(first['n_boot']):,} resamples), and the exact McNemar test on the discordant items; "
              "p-values Holm-adjusted across the pairs of each column.", "",
              "| column | RM a | RM b | items | a − b [CI] | p (bootstrap) | p (McNemar) |", "|---|---|---|---:|---:|---:|---:|"]
    for r in table.itertuples(index=False):
        diff = "–" if pd.isna(r.diff) else f"{r.diff:+.3f}" + (
            "" if pd.isna(r.diff_lo) or pd.isna(r.diff_hi) else f" [{r.diff_lo:+.3f}, {r.diff_hi:+.3f}]")
        lines.append(f"| {r.column} | {r.rm_a} | {r.rm_b} | {int(r.n_items):,} | {diff} | "
                     f"{p_value_text(r.p_boot_holm, int(r.n_boot))} | {p_value_text(r.p_mcnemar_holm)} |")
    return "\n".join(lines) + "\n"
