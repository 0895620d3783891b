"""Significance matrix: RM × RM accuracy differences on one headline column, marked where a paired test rejects."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.plots import FIGURES
from rmeval.plots._common import is_empty, message_figure, num, pyplot, save, styled, text_on, truncate

if TYPE_CHECKING:
    import pandas as pd


@styled
def plot_significance_matrix(significance: pd.DataFrame | None, out: str | Path, *, column: str | None,
                             alpha: float = 0.05, test: str = "bootstrap") -> list[Path]:
    """RM × RM matrix of accuracy differences (row − column) on one headline column, from a significance table
    (``rmeval.metrics.paired.paired_comparisons`` or results/significance/{benchmark}.csv). RMs in leaderboard order
    (rank from ``rmeval.metrics.paired.significance_ranks``, then value), each labelled with its rank; a cell is
    marked * when the Holm-adjusted paired test rejects 'no difference' at ``alpha``; its text is black or white by
    the cell's luminance. ``column``: the benchmark's primary headline column."""
    import numpy as np
    import pandas as pd

    plt = pyplot()
    p_key = {"bootstrap": "p_boot_holm", "mcnemar": "p_mcnemar_holm"}[test]
    title = (f"paired differences in {column} (row − column)\n* = {test} test, Holm-adjusted p < {alpha:g}\n"
             "(#k): rank = 1 + the number of RMs significantly better")
    part = significance[significance["column"] == column] if not is_empty(significance) else pd.DataFrame()
    if part.empty:
        return message_figure(out, title, "no pair of RMs to compare",
                              "the significance table has no rows for this column")
    values: dict[str, float] = {}
    for r in part.itertuples(index=False):
        values.setdefault(r.rm_a, num(r.value_a))
        values.setdefault(r.rm_b, num(r.value_b))
    from rmeval.metrics.paired import significance_ranks

    ranks = significance_ranks(part, column, alpha, test)
    rank_of = dict(zip(ranks["rm"], ranks["rank"]))
    names = [*ranks["rm"], *sorted(n for n in values if n not in rank_of)]  # undefined values last, unranked
    k = len(names)
    pos = {n: i for i, n in enumerate(names)}
    diff = np.full((k, k), np.nan)
    star = np.zeros((k, k), dtype=bool)
    for r in part.itertuples(index=False):
        i, j, d, p = pos[r.rm_a], pos[r.rm_b], num(r.diff), num(getattr(r, p_key))
        diff[i, j], diff[j, i] = d, -d
        star[i, j] = star[j, i] = (not math.isnan(p)) and p < alpha
    lim = max(0.01, float(np.nanmax(np.abs(diff)))) if np.isfinite(diff).any() else 0.01
    side = max(4.5, 1.2 + 0.6 * k)
    fig, ax = plt.subplots(figsize=(side + 1.6, side), layout="constrained")
    im = ax.imshow(diff, cmap="RdBu", vmin=-lim, vmax=lim)
    for i in range(k):
        for j in range(k):
            if i == j or math.isnan(diff[i, j]):
                continue
            rgba = im.cmap(im.norm(diff[i, j]))
            ax.text(j, i, f"{diff[i, j]:+.3f}{'*' if star[i, j] else ''}", ha="center", va="center",
                    fontsize=7 if k <= 8 else 5.5, color=text_on(rgba))
    labels = [f"{truncate(n, 24)} (#{rank_of[n]})" if n in rank_of else truncate(n, 28) for n in names]
    ax.set_xticks(range(k), labels, rotation=40, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_title(title)
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.set_label(f"{column}: accuracy of row RM − column RM")
    return save(fig, out)


@FIGURES.register("significance_matrix", category="Statistics")
def draw(data, out: Path) -> list[Path]:
    return plot_significance_matrix(data.significance, out, column=data.primary, alpha=data.alpha)
