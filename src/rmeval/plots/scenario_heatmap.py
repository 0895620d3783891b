"""Scenario heatmap: RMs (rows) × scenarios (columns, grouped by goal then format) of micro accuracy."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rmeval.plots import FIGURES
from rmeval.plots._common import (
    ACC_LABEL, FORMAT_LABEL, goal_abbreviation, goal_order, message_figure, num, prefix, pyplot, save,
    sorted_metrics, styled, truncate, wrap,
)


def _natural_key(text: Any) -> list:
    """Sort key that orders "S2" before "S10"."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]


@styled
def plot_scenario_heatmap(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """RMs (rows) × scenarios (columns, grouped by goal in the benchmark's goal order, then format) of micro
    accuracy."""
    import numpy as np
    from matplotlib import colors as mcolors

    plt = pyplot()
    title = f"{prefix(metrics)}accuracy per scenario"
    rows = sorted_metrics(metrics)
    cols: dict[tuple[str, str], set[str]] = {}
    cell: dict[tuple[int, tuple[str, str, str]], float] = {}
    for i, m in enumerate(rows):
        for s in m.get("by_scenario") or []:
            if not isinstance(s, Mapping):
                continue
            g, f, scen = s.get("goal"), s.get("format"), s.get("scenario")
            if scen is None:
                continue
            cols.setdefault((str(g), str(f)), set()).add(str(scen))
            cell[(i, (str(g), str(f), str(scen)))] = num(s.get("accuracy"))
    if not rows or not cols:
        return message_figure(out, title, "no per-scenario results to plot")
    goals = goal_order(rows)
    groups = [(g, f) for g in goals for f in sorted(f for gg, f in cols if gg == g)]
    groups += sorted(gf for gf in cols if gf[0] not in goals)
    columns = [(g, f, s) for g, f in groups for s in sorted(cols[(g, f)], key=_natural_key)]
    data = np.full((len(rows), len(columns)), np.nan)
    for i in range(len(rows)):
        for j, key in enumerate(columns):
            data[i, j] = cell.get((i, key), np.nan)

    n_r, n_col = data.shape
    annotate = n_r <= 12 and n_col <= 60
    col_w = 0.34 if annotate else 0.2
    row_h = 0.36 if annotate else 0.3
    rm_labels = [wrap(m.get("rm", "?"), 28) for m in rows]
    fig_w = max(8.0, 2.8 + col_w * n_col)
    fig_h = max(4.5, 3.6 + row_h * n_r)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), layout="constrained")
    cmap = plt.get_cmap("viridis").with_extremes(bad="#e6e6e6")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(n_r), rm_labels)
    ax.set_xticks(range(n_col), [truncate(s, 42) for _, _, s in columns], rotation=90, fontsize=7)
    ax.tick_params(length=0)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    if annotate:
        norm = mcolors.Normalize(0, 1)
        for i in range(n_r):
            for j in range(n_col):
                v = data[i, j]
                rgba = cmap(norm(v)) if not np.isnan(v) else (0.9, 0.9, 0.9, 1)
                lum = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
                ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="black" if lum > 0.5 else "white")
    # Goal/format separators and group labels above the grid.
    start = 0
    for g, f in groups:
        width = len(cols[(g, f)])
        if start > 0:
            ax.axvline(start - 0.5, color="white", linewidth=3)
            ax.axvline(start - 0.5, color="black", linewidth=1)
        label = f"{g} · {FORMAT_LABEL.get(f, f)} ({width})"
        if width < 6:
            label = f"{goal_abbreviation(g)}-{FORMAT_LABEL.get(f, f)} ({width})"
        ax.text(start - 0.5 + width / 2, -0.6, label, ha="center", va="bottom", fontsize=9, fontweight="bold",
                clip_on=False)
        start += width
    ax.set_xlabel("scenario (grouped by goal and format; number of scenarios in brackets)")
    ax.set_ylabel("reward model")
    cb = fig.colorbar(im, ax=ax, shrink=0.9 if n_r > 4 else 1.0, pad=0.01, fraction=0.03 if n_col > 40 else 0.05)
    cb.set_label(wrap(ACC_LABEL + "; grey = no items", 40))
    ax.set_title(title + " (pairwise chance 0.5; BoN chance ≈ 1 / group size)", pad=22)
    return save(fig, out)


@FIGURES.register("scenario_heatmap", category="Benchmark", judged=False)
def draw(data, out: Path) -> list[Path]:
    return plot_scenario_heatmap(data.metrics, out)
