"""Best-of-N curves: per goal, the mean judge score of the RM's pick among N candidates, against N."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from rmeval.plots import FIGURES
from rmeval.plots._common import (
    goal_order, legend_height, legend_outside, message_figure, num, ordered, prefix, pyplot, rm_colors, rm_markers,
    save, styled, unique_handles, wrap,
)

ORACLE_LABEL = "mean judge score of the picked response (1–5 scale)"


@styled
def plot_bon_curves(downstream: Sequence[Mapping], out: str | Path, goals: Sequence[str] = ()) -> list[Path]:
    """Per goal, the mean judge score of the RM's pick among N candidates, against N (log2 scale). Panels: all
    goals together, then ``goals`` in their order (the benchmark's), then any other goal alphabetically."""
    from matplotlib.ticker import FixedLocator, NullLocator

    plt = pyplot()
    title = f"{prefix(downstream)}downstream best-of-N: judge score of the RM's pick"
    records = [d for d in (downstream or []) if isinstance(d, Mapping)]
    by_goal: dict[str, dict[str, list[Mapping]]] = {}
    no_data: list[str] = []
    for d in records:
        rm = str(d.get("rm", "?"))
        rows = [r for r in (d.get("bon") or []) if isinstance(r, Mapping) and not math.isnan(num(r.get("n")))]
        if not rows:
            no_data.append(rm)
            continue
        for r in rows:
            by_goal.setdefault(str(r.get("goal", "all")), {}).setdefault(rm, []).append(r)
    panels = ordered(by_goal, ["all", *goals])
    if not panels:
        return message_figure(out, title, "no downstream best-of-N data",
                              f"RMs without downstream data: {', '.join(no_data)}" if no_data else "")
    rm_names = [str(d.get("rm", "?")) for d in records]
    colors, markers = rm_colors(rm_names), rm_markers(rm_names)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 2.8, legend_height(rm_names, 2)),
                             layout="constrained", squeeze=False)
    for ax, goal in zip(axes[0], panels):
        per_rm = by_goal[goal]
        ns = sorted({int(num(r["n"])) for rows in per_rm.values() for r in rows})
        ref = None  # random / oracle-best reference: from the first RM with rows for this goal
        for rm in rm_names:
            rows = sorted(per_rm.get(rm, []), key=lambda r: num(r.get("n")))
            if not rows:
                continue
            if ref is None:
                ref = rows
            ax.plot([num(r.get("n")) for r in rows], [num(r.get("mean_oracle")) for r in rows],
                    marker=markers[rm], color=colors[rm], linewidth=1.6, markersize=5, label=rm, zorder=3)
        if ref is not None:
            rx = [num(r.get("n")) for r in ref]
            ax.plot(rx, [num(r.get("mean_random")) for r in ref], color="#555555", linestyle="--", linewidth=1.3,
                    label="random pick", zorder=2)
            ax.plot(rx, [num(r.get("mean_best")) for r in ref], color="black", linestyle=":", linewidth=1.6,
                    label="oracle best", zorder=2)
            n_prompts = num(ref[0].get("n_prompts"))
            sub = "" if math.isnan(n_prompts) else f" ({int(n_prompts):,} prompts)"
        else:
            sub = ""
        ax.set_xscale("log", base=2)
        if ns:
            ax.xaxis.set_major_locator(FixedLocator(ns))
            ax.set_xticks(ns, [str(n) for n in ns])
            ax.xaxis.set_minor_locator(NullLocator())
            if len(ns) == 1:
                ax.set_xlim(ns[0] / 1.5, ns[0] * 1.5)
        ax.set_title(f"{'all goals' if goal == 'all' else goal}{sub}")
        ax.set_xlabel("N, candidates per prompt the RM picks from (log₂ scale)")
        ax.grid(True)
        ax.set_axisbelow(True)
    axes[0][0].set_ylabel(ORACLE_LABEL)
    handles, labels = unique_handles(axes[0])
    legend_outside(fig, handles, [wrap(lab, 30) for lab in labels])
    note = f"\nno downstream data: {', '.join(no_data)}" if no_data else ""
    fig.suptitle(title + note)
    return save(fig, out)


@FIGURES.register("bon_curves", category="Downstream")
def draw(data, out: Path) -> list[Path]:
    return plot_bon_curves(data.downstream, out, goals=goal_order(data.metrics))
