"""Position bias: pairwise judges' win rates by the position the chosen response is shown in."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from rmeval.plots import FIGURES
from rmeval.plots._common import LABEL_BOX, legend_outside, message_figure, num, prefix, pyplot, save, styled, wrap


@styled
def plot_position_bias(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """Pairwise judges' position bias from the ``judge`` block of their metrics: the chosen response's win rate
    when shown as A and as B, the share of A among valid verdicts, and the consistency across both orders."""
    plt = pyplot()
    title = f"{prefix(metrics)}position bias of pairwise judges"
    judges = [m for m in metrics if m.get("judge")]
    if not judges:
        return message_figure(out, title, "no pairwise judge among the RMs",
                              "position bias needs comparisons (PairwiseJudgeRM)")
    bars = [("win_rate_chosen_shown_as_A", "chosen wins when shown as A"),
            ("win_rate_chosen_shown_as_B", "chosen wins when shown as B"),
            ("share_A_among_valid", "share of A among valid verdicts"),
            ("consistency_rate", "same winner in both orders")]
    colors = ("#1f78b4", "#a6cee3", "#e66101", "#5e3c99")
    fig, ax = plt.subplots(figsize=(9, max(3.8, 1.6 + 1.1 * len(judges))), layout="constrained")
    h = 0.8 / len(bars)
    for i, m in enumerate(judges):
        for j, ((key, label), color) in enumerate(zip(bars, colors)):
            v = num(m["judge"].get(key))
            y = i + (j - (len(bars) - 1) / 2) * h
            if math.isnan(v):
                ax.text(0.005, y, "n/a", va="center", ha="left", fontsize=7, color="#777777")
                continue
            ax.barh(y, v, height=h * 0.9, color=color, label=label if i == 0 else "_", zorder=2)
            ax.text(v + 0.008, y, f"{v:.2f}", va="center", ha="left", fontsize=6.5, zorder=3, bbox=LABEL_BOX)
    handles, labs = ax.get_legend_handles_labels()
    for (key, label), color in zip(bars, colors):
        if label not in labs:
            handles.append(plt.Rectangle((0, 0), 1, 1, color=color))
            labs.append(label)
    handles.append(ax.axvline(0.5, color="#444444", linestyle=(0, (2, 2)), linewidth=1.0, zorder=1))
    labs.append("no position preference (share of A = 0.5)")
    ax.set_yticks(range(len(judges)), [wrap(m.get("rm", "?"), 28) for m in judges])
    ax.set_ylim(len(judges) - 0.5, -0.5)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("rate (fraction of comparisons)")
    ax.xaxis.grid(True, zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(title)
    legend_outside(fig, handles, labs)
    return save(fig, out)


@FIGURES.register("position_bias", category="Statistics", pairwise=True)
def draw(data, out: Path) -> list[Path]:
    return plot_position_bias(data.metrics, out)
