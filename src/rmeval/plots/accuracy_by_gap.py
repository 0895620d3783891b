"""Accuracy by judge gap: per goal, each RM's pairwise accuracy against the judge's chosen − rejected score gap."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from rmeval.plots import FIGURES
from rmeval.plots._common import (
    PAIR_LABEL, goal_order, legend_height, legend_outside, message_figure, num, ordered, prefix, pyplot, rm_colors,
    rm_markers, save, sorted_metrics, styled, unique_handles, wrap,
)

GAP_LABEL = "judge score gap, chosen − rejected (1–5 scale)"


@styled
def plot_accuracy_by_gap(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """Per goal, pairwise accuracy of each RM as a function of the judge's score gap between chosen and rejected."""
    plt = pyplot()
    title = f"{prefix(metrics)}pairwise accuracy by judge score gap"
    rows = sorted_metrics(metrics)
    series: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
    for m in rows:
        for r in m.get("by_judge_gap") or []:
            if not isinstance(r, Mapping):
                continue
            gap, acc = num(r.get("gap")), num(r.get("accuracy"))
            if math.isnan(gap):
                continue
            series.setdefault(str(r.get("goal")), {}).setdefault(str(m.get("rm", "?")), []).append(
                (gap, acc, num(r.get("n_items"))))
    goals = ordered(series, goal_order(rows))
    if not goals:
        return message_figure(out, title, "no judge-gap data (items carry no judge scores)")
    rm_names = [str(m.get("rm", "?")) for m in rows]
    colors, markers = rm_colors(rm_names), rm_markers(rm_names)
    missing = [rm for rm in rm_names if not any(rm in series[g] for g in goals)]
    fig, axes = plt.subplots(1, len(goals), figsize=(5.2 * len(goals) + 2.6, legend_height(rm_names)),
                             layout="constrained", sharey=True, squeeze=False)
    all_gaps: set[float] = set()
    for ax, goal in zip(axes[0], goals):
        counts: dict[float, float] = {}
        for rm in rm_names:
            vals = sorted(series[goal].get(rm, []))
            if not vals:
                continue
            gx = [v[0] for v in vals]
            gy = [v[1] for v in vals]
            all_gaps.update(gx)
            for gap, _, n in vals:
                if not math.isnan(n):
                    counts.setdefault(gap, n)
            ax.plot(gx, gy, marker=markers[rm], color=colors[rm], linewidth=1.5, markersize=5, label=rm)
        ax.axhline(0.5, color="#444444", linestyle="--", linewidth=1, label="chance (0.50)")
        ax.set_title(goal)
        ax.set_xlabel(GAP_LABEL)
        ax.grid(True)
        ax.set_axisbelow(True)
        ticks = sorted(counts) if counts else sorted(all_gaps)
        if ticks:
            ax.set_xticks(ticks, [f"{t:g}\n(n={int(counts[t]):,})" if t in counts else f"{t:g}" for t in ticks])
    axes[0][0].set_ylabel(PAIR_LABEL)
    accs = [v[1] for g in series.values() for vs in g.values() for v in vs if not math.isnan(v[1])]
    ymin, ymax = min([0.5] + accs), max([0.5] + accs)
    pad = max(0.03, 0.08 * (ymax - ymin))
    axes[0][0].set_ylim(max(0.0, ymin - pad), min(1.0, ymax + pad))
    handles, labels = unique_handles(axes[0])
    legend_outside(fig, handles, [wrap(lab, 30) for lab in labels], title="reward model")
    note = f"\nno judge-gap data: {', '.join(missing)}" if missing else ""
    fig.suptitle(title + " (n = pairs per gap)" + note)
    return save(fig, out)


@FIGURES.register("accuracy_by_gap", category="Benchmark")
def draw(data, out: Path) -> list[Path]:
    return plot_accuracy_by_gap(data.metrics, out)
