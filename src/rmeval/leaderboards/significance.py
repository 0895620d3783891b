"""The paired comparisons of ``rmeval.metrics.paired.paired_comparisons`` in markdown."""

from __future__ import annotations

import pandas as pd


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
