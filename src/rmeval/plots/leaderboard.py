"""Leaderboard: grouped horizontal bars, one group per RM, one bar per headline column, with CIs and chance lines."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from rmeval.plots import FIGURES
from rmeval.plots._common import (
    ACC_LABEL, LABEL_BOX, err, get, legend_outside, message_figure, num, prefix, pyplot, save, sorted_metrics,
    styled, wrap,
)

# A primary column that is the mean of the other columns (the metrics' overall.components): those columns in
# light/dark pairs, the primary in grey. Any other set of columns: tab10 in column order.
COMPONENT_COLORS = ("#9ecae1", "#2171b5", "#fdae6b", "#d94801")
PRIMARY_COLOR = "#4d4d4d"
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_CHANCE_STYLES = [("#7b3294", (0, (5, 3))), ("#444444", (0, (2, 2))), ("#000000", (0, (6, 2, 1, 2))),
                  ("#1b7837", (0, (4, 4)))]


def _first(metrics: Sequence[Mapping], *keys: str) -> list[str]:
    """The first non-empty list at ``keys`` among the metrics, as strings."""
    for m in metrics:
        value = get(m, *keys)
        if value:
            return [str(v) for v in value]
    return []


def _averaged(metrics: Sequence[Mapping], columns: list[str]) -> list[str]:
    """The columns the last (primary) column is the mean of, when the metrics say so; else []."""
    components = _first(metrics, "overall", "components")
    primary = next((get(m, "headline", "primary") for m in metrics if get(m, "headline", "primary")), None)
    return components if components and columns == [*components, primary] else []


def _colors(columns: list[str], components: list[str]) -> dict[str, object]:
    if components:
        colors = {c: COMPONENT_COLORS[i % len(COMPONENT_COLORS)] for i, c in enumerate(components)}
        return {**colors, columns[-1]: PRIMARY_COLOR}
    cmap = pyplot().get_cmap("tab10")
    return {c: cmap(i % 10) for i, c in enumerate(columns)}


def _cell(m: Mapping, name: str) -> tuple[float, float, float, float]:
    """(accuracy, ci_low, ci_high, chance) of one headline column of one RM."""
    cell = get(m, "headline", "values", name)
    if not isinstance(cell, Mapping):
        return math.nan, math.nan, math.nan, math.nan
    return num(cell.get("accuracy")), num(cell.get("ci_low")), num(cell.get("ci_high")), num(cell.get("chance"))


@styled
def plot_leaderboard(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """Grouped horizontal bars: one group per RM (best primary headline on top), one bar per headline column, with
    95% CI error bars and dashed chance lines."""
    import numpy as np

    plt = pyplot()
    title = f"{prefix(metrics)}leaderboard — accuracy per component (95% CI)"
    rows = sorted_metrics(metrics)
    comps = _first(rows, "headline", "columns")
    if not rows or not comps:
        return message_figure(out, title, "no metrics to plot")
    components = _averaged(rows, comps)
    colors = _colors(comps, components)
    n_rm, n_c = len(rows), len(comps)
    bar_h, group_gap = 0.8, 1.4
    group = n_c * bar_h + group_gap
    labels = [wrap(m.get("rm", "?"), 28) for m in rows]
    fig_h = max(4.2, 1.9 + 0.95 * n_rm)
    fig, ax = plt.subplots(figsize=(10, fig_h), layout="constrained")

    chance: dict[str, list[float]] = {c: [] for c in comps}
    centers = []
    for i, m in enumerate(rows):
        top = i * group
        centers.append(top + (n_c - 1) * bar_h / 2)
        for j, c in enumerate(comps):
            v, lo, hi, ch = _cell(m, c)
            if not math.isnan(ch):
                chance[c].append(ch)
            y = top + j * bar_h
            if math.isnan(v):
                ax.text(0.005, y, "n/a", va="center", ha="left", fontsize=7, color="#777777")
                continue
            below, above = err(v, lo, hi)
            ax.barh(y, v, height=bar_h * 0.92, color=colors[c], edgecolor="none", label=c if i == 0 else "_", zorder=2)
            ax.errorbar(v, y, xerr=[[below], [above]], fmt="none", ecolor="#222222", elinewidth=0.9, capsize=2,
                        zorder=3)
            ax.text(v + above + 0.008, y, f"{v:.3f}", va="center", ha="left", fontsize=6.5, color="#333333",
                    zorder=4, bbox=LABEL_BOX)
    # Legend entries for bars that were all n/a.
    handles, labs = ax.get_legend_handles_labels()
    for c in comps:
        if c not in labs:
            handles.append(plt.Rectangle((0, 0), 1, 1, color=colors[c]))
            labs.append(c)
    order = [labs.index(c) for c in comps]
    handles, labs = [handles[k] for k in order], [labs[k] for k in order]

    # Chance levels from the metrics (averaged over RMs); a last column without one that is the mean of the others
    # gets the mean of theirs.
    levels = {c: float(np.mean(chance[c])) for c in comps if chance[c]}
    if comps[-1] not in levels and len(levels) == len(comps) - 1:
        levels[comps[-1]] = float(np.mean(list(levels.values())))
    merged: list[tuple[float, list[str]]] = []
    for c, v in sorted(levels.items(), key=lambda kv: kv[1]):
        if merged and abs(merged[-1][0] - v) < 0.012:
            merged[-1][1].append(c)
        else:
            merged.append((v, [c]))
    for k, (v, comps_at) in enumerate(merged):
        color, ls = _CHANCE_STYLES[k % len(_CHANCE_STYLES)]
        line = ax.axvline(v, color=color, linestyle=ls, linewidth=1.1, zorder=1)
        handles.append(line)
        labs.append(f"chance {', '.join(comps_at)} ({v:.2f})")

    ax.set_yticks(centers, labels)
    ax.set_ylim(n_rm * group - group_gap / 2 - bar_h / 2, -group_gap / 2 - bar_h / 2 + 0.1)
    ax.set_xlim(0, 1.0)
    n_word = _COUNT_WORDS[len(components)] if len(components) < len(_COUNT_WORDS) else str(len(components))
    ax.set_xlabel(ACC_LABEL + (f"; {comps[-1]} = mean of the {n_word} components" if components else ""))
    ax.xaxis.grid(True, zorder=0)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.set_title(title)
    legend_outside(fig, handles, labs)
    return save(fig, out)


@FIGURES.register("leaderboard", category="Benchmark", judged=False)
def draw(data, out: Path) -> list[Path]:
    return plot_leaderboard(data.metrics, out)
