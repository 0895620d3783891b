"""Correlation scatter: one panel per (benchmark metric, downstream measure) pair, RMs as labelled points. The x
label and the title say which data the metric comes from (the points' ``metric_data``: the benchmark half)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.plots import FIGURES
from rmeval.plots._common import (
    NO_CORRELATION, NOT_ENOUGH_RMS, fmt, goal_abbreviation, is_empty, message_figure, num, place_labels, pyplot,
    rm_colors, rm_markers, save, styled, unique_handles, wrap,
)
from rmeval.plots.correlation_heatmap import data_note

if TYPE_CHECKING:
    import pandas as pd

LABEL_MAX_RMS = 12  # label each point up to this many RMs, and use a legend beyond
HEADLINE_MEASURES = ("mean_oracle", "win_rate")
_DOWNSTREAM_MEANING = {
    "mean_oracle": "mean judge score of the RM's pick (1–5)",
    "mean_random": "mean judge score of a random pick (1–5)",
    "mean_best": "mean judge score of the best candidate (1–5)",
    "win_rate": "fraction of prompts where the RM's pick beats a random pick",
    "regret": "best − picked judge score (1–5 scale; lower is better)",
}


def _describe_metric(name: str, data: str | None = None) -> str:
    where = f" on the {data}" if data == "benchmark half" else (f", {data}" if data else "")
    return f"{name}\n(accuracy{where}, fraction of items correct)"


def _describe_downstream(name: str) -> str:
    key = str(name).split("@", 1)[0].strip()
    meaning = _DOWNSTREAM_MEANING.get(key)
    return f"{name}\n({meaning})" if meaning else str(name)


def coef_text(row: Mapping | None) -> str:
    """The panel title: the three coefficients and the number of RMs ("n/a" where missing)."""
    if row is None:
        return "r=n/a, ρ=n/a, τ=n/a (n=n/a)"
    n = num(row.get("n_rms"))
    n_txt = "n/a" if math.isnan(n) else str(int(n))
    return (f"r={fmt(row.get('pearson'))}, ρ={fmt(row.get('spearman'))}, τ={fmt(row.get('kendall'))} "
            f"(n={n_txt})")


def headline_pairs(points: pd.DataFrame | None, primary: str | None) -> pd.DataFrame | None:
    """The (metric, downstream measure) pairs worth a panel: micro accuracies against the pick quality and win rate
    on the matching goal. The ``primary`` column matches all goals ("all"); a column named after a goal's
    abbreviation ("Help-Pair" for Helpfulness) matches that goal."""
    import pandas as pd

    if is_empty(points):
        return points
    keep = set()
    for metric, measure in points[["metric", "downstream"]].drop_duplicates().itertuples(index=False):
        name, _, kind = str(metric).rpartition(" ")
        m_name, _, m_goal = str(measure).partition(" ")
        same_goal = name == primary if m_goal == "all" else name.split("-")[0] == goal_abbreviation(m_goal)
        if kind == "micro" and same_goal and m_name.split("@")[0] in HEADLINE_MEASURES:
            keep.add((metric, measure))
    mask = pd.Series([(m, d) in keep for m, d in zip(points["metric"], points["downstream"])], index=points.index)
    return points[mask]


@styled
def plot_correlation_scatter(points: pd.DataFrame | None, correlation: pd.DataFrame | None, out: str | Path,
                             max_panels: int = 12) -> list[Path]:
    """One panel per (metric, downstream) pair: RMs as labelled points, a least-squares line, and the
    Pearson r / Spearman ρ / Kendall τ across RMs in the panel title."""
    import numpy as np
    import pandas as pd

    plt = pyplot()
    title = "benchmark metric vs downstream best-of-N quality, across RMs"
    if is_empty(points) or is_empty(correlation):
        return message_figure(out, title, NOT_ENOUGH_RMS, NO_CORRELATION)
    pts = points.copy()
    pts["x"] = pd.to_numeric(pts["x"], errors="coerce")
    pts["y"] = pd.to_numeric(pts["y"], errors="coerce")
    corr_rows: dict[tuple[str, str], Mapping] = {}
    for rec in correlation.to_dict("records"):
        corr_rows.setdefault((str(rec.get("metric")), str(rec.get("downstream"))), rec)
    pairs = []
    for (metric, down), grp in pts.groupby(["metric", "downstream"], sort=True):
        row = corr_rows.get((str(metric), str(down)))
        n = num(row.get("n_rms")) if row is not None else math.nan
        if math.isnan(n):
            n = float(grp[["x", "y"]].dropna().shape[0])
        pairs.append((-n, str(metric), str(down), grp, row))
    pairs.sort(key=lambda p: (p[0], p[1], p[2]))
    shown = pairs[:max_panels]
    if not shown:
        return message_figure(out, title, NOT_ENOUGH_RMS)
    n_p = len(shown)
    ncols = min(3, n_p)
    nrows = math.ceil(n_p / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.9 * ncols + 0.5, 4.3 * nrows + 0.8), layout="constrained",
                             squeeze=False)
    rm_names = sorted(set(pts["rm"].astype(str)))
    colors, markers = rm_colors(rm_names), rm_markers(rm_names)
    use_legend = len(rm_names) > LABEL_MAX_RMS  # too many RMs to label each point: a marker/colour legend instead
    jobs = []
    for k, (_, metric, down, grp, row) in enumerate(shown):
        ax = axes[k // ncols][k % ncols]
        g = grp.dropna(subset=["x", "y"])
        xs, ys = g["x"].to_numpy(float), g["y"].to_numpy(float)
        names = g["rm"].astype(str).tolist()
        for x, y, n in zip(xs, ys, names):
            ax.scatter([x], [y], s=46, color=colors[n], marker=markers[n] if use_legend else "o", edgecolor="white",
                       linewidth=0.6, zorder=3, label=n)
        if len(np.unique(xs)) >= 2:
            slope, icept = np.polyfit(xs, ys, 1)
            span = xs.max() - xs.min()
            gx = np.linspace(xs.min() - 0.05 * span, xs.max() + 0.05 * span, 50)
            ax.plot(gx, slope * gx + icept, color="#888888", linestyle="--", linewidth=1, zorder=2,
                    label="least-squares fit")
        if len(xs):
            xspan = max(np.ptp(xs), 1e-3)
            yspan = max(np.ptp(ys), 1e-3)
            ax.set_xlim(xs.min() - 0.18 * xspan, xs.max() + (0.1 if use_legend else 0.32) * xspan)
            ax.set_ylim(ys.min() - 0.18 * yspan, ys.max() + 0.25 * yspan)
        else:
            ax.text(0.5, 0.5, "no RM has both values", transform=ax.transAxes, ha="center", va="center",
                    color="#777777")
        ax.grid(True, zorder=0)
        ax.set_axisbelow(True)
        data = str(grp["metric_data"].iloc[0]) if "metric_data" in grp.columns and len(grp) else None
        ax.set_xlabel(_describe_metric(metric, data), fontsize=8)
        ax.set_ylabel(wrap(_describe_downstream(down), 44), fontsize=8)
        ax.set_title(coef_text(row), fontsize=9)
        jobs.append((ax, list(xs), list(ys), [wrap(n, 20) for n in names], [colors[n] for n in names]))
    for k in range(n_p, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    extra = f" (showing {n_p} of {len(pairs)} pairs)" if len(pairs) > n_p else ""
    note = data_note(pts)
    note = "\n" + note.replace("; ", ";\n") if note else ""  # one line per side
    fig.suptitle(f"{title}{extra}{note}\nr = Pearson, ρ = Spearman, τ = Kendall; few RMs ⇒ wide uncertainty")
    handles, labels = unique_handles(axes.ravel())
    fit = [(h, lab) for h, lab in zip(handles, labels) if lab == "least-squares fit"]
    rms = sorted(((h, lab) for h, lab in zip(handles, labels) if lab != "least-squares fit"), key=lambda t: t[1])
    if use_legend:
        entries = fit + rms
        fig.legend([h for h, _ in entries], [wrap(lab, 34) for _, lab in entries], loc="outside right upper",
                   frameon=False, title="reward model")
    elif fit:
        fig.legend([h for h, _ in fit], [lab for _, lab in fit], loc="outside lower center", frameon=False)
    if not use_legend:
        fig.draw_without_rendering()  # final layout first, then place labels in display space
        for ax, xs, ys, labels_, cols in jobs:
            place_labels(ax, xs, ys, labels_, cols, 7)
    return save(fig, out)



@FIGURES.register("correlation_scatter", category="Downstream")
def draw(data, out: Path) -> list[Path]:
    return plot_correlation_scatter(headline_pairs(data.points, data.primary), data.correlation, out)
