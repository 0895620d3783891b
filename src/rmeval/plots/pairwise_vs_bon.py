"""Pairwise vs best-of-N: one panel per goal, each RM's pairwise accuracy (x) against its BoN accuracy (y)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from rmeval.plots import FIGURES
from rmeval.plots._common import (
    GOAL_STYLES, OTHER_GOAL_STYLE, PAIR_LABEL, err, get, goal_order, message_figure, num, place_labels, prefix,
    pyplot, save, sorted_metrics, styled, wrap,
)

BON_LABEL = "BoN accuracy (fraction of groups where the best response outscores every other; ties count wrong)"


@styled
def plot_pairwise_vs_bon(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """One panel per goal: each RM's pairwise accuracy (x) against its BoN accuracy (y), 95% CIs both ways."""
    import numpy as np

    plt = pyplot()
    title = f"{prefix(metrics)}pairwise vs best-of-N accuracy per RM (95% CI)"
    rows = sorted_metrics(metrics)
    order = goal_order(rows)
    pts = []  # (goal, rm, x, xlo, xhi, y, ylo, yhi)
    bon_chance: dict[str, list[float]] = {}
    for m in rows:
        for g in order:
            pair = get(m, "goals", g, "pairwise") or {}
            bon = get(m, "goals", g, "bon") or {}
            ch = num(bon.get("chance"))
            if not math.isnan(ch):
                bon_chance.setdefault(g, []).append(ch)
            x, y = num(pair.get("accuracy")), num(bon.get("accuracy"))
            if math.isnan(x) or math.isnan(y):
                continue
            pts.append((g, str(m.get("rm", "?")), x, num(pair.get("ci_low")), num(pair.get("ci_high")), y,
                        num(bon.get("ci_low")), num(bon.get("ci_high"))))
    if not pts:
        return message_figure(out, title, "no RM has both pairwise and BoN accuracy")
    goals = [g for g in order if any(p[0] == g for p in pts)]
    n_side = max(sum(p[0] == g for p in pts) for g in goals)
    side = 5.6 if n_side <= 8 else 7.0
    fig, axes = plt.subplots(1, len(goals), figsize=(side * len(goals) + 0.4, side + 0.9), layout="constrained",
                             squeeze=False)
    jobs = []
    for ax, g in zip(axes[0], goals):
        sel = [p for p in pts if p[0] == g]
        k = order.index(g)
        style = GOAL_STYLES[k] if k < len(GOAL_STYLES) else OTHER_GOAL_STYLE
        xs = np.array([p[2] for p in sel])
        ys = np.array([p[5] for p in sel])
        xerr = np.array([err(p[2], p[3], p[4]) for p in sel]).T
        yerr = np.array([err(p[5], p[6], p[7]) for p in sel]).T
        ax.errorbar(xs, ys, xerr=xerr, yerr=yerr, fmt=style["marker"], color=style["color"], ecolor=style["color"],
                    elinewidth=0.9, capsize=2.5, markersize=7, markeredgecolor="white", label=f"{g} (RM)",
                    zorder=3)
        ax.axvline(0.5, color="#444444", linestyle="--", linewidth=1, label="pairwise chance (0.50)", zorder=1)
        all_y = [v for p in sel for v in (p[5], p[6], p[7]) if not math.isnan(v)]
        if g in bon_chance:
            v = float(np.mean(bon_chance[g]))
            ax.axhline(v, color="#444444", linestyle=":", linewidth=1.3, label=f"BoN chance ({v:.2f})", zorder=1)
            all_y.append(v)
        all_x = [v for p in sel for v in (p[2], p[3], p[4]) if not math.isnan(v)] + [0.5]
        xlo, xhi, ylo, yhi = min(all_x), max(all_x), min(all_y), max(all_y)
        xpad, ypad = max(0.03, 0.1 * (xhi - xlo)), max(0.03, 0.1 * (yhi - ylo))
        ax.set_xlim(max(0, xlo - xpad), min(1, xhi + 2.2 * xpad))
        ax.set_ylim(max(0, ylo - ypad), min(1, yhi + 1.5 * ypad))
        ax.grid(True, zorder=0)
        ax.set_axisbelow(True)
        ax.set_xlabel(PAIR_LABEL)
        ax.set_ylabel(wrap(BON_LABEL, 58))
        ax.set_title(g, color=style["color"], fontweight="bold")
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
        jobs.append((ax, list(xs), list(ys), [wrap(p[1], 24) for p in sel], [style["color"]] * len(sel)))
    fig.suptitle(title)
    fig.draw_without_rendering()  # final layout first, then place labels in display space
    for ax, xs, ys, labels, colors in jobs:
        place_labels(ax, xs, ys, labels, colors)
    return save(fig, out)


# Drawn, as before the figures were split, only for the benchmarks with judge scores.
@FIGURES.register("pairwise_vs_bon", category="Benchmark")
def draw(data, out: Path) -> list[Path]:
    return plot_pairwise_vs_bon(data.metrics, out)
