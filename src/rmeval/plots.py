"""Publication-quality figures of RM benchmark metrics, downstream best-of-N results and their correlation.

Every ``plot_*`` function is pure with respect to its inputs: it reads Python objects (metrics dicts as written
by the metrics stage, downstream dicts, pandas frames), draws one matplotlib figure with the non-interactive Agg
backend, saves it as ``<out>.png`` (150 dpi) and ``<out>.pdf``, closes it, and returns the two paths written.
``out`` is a path prefix without extension. Missing values (None / NaN), a single RM, an RM without downstream
data and an empty correlation table are drawn (or explained in the figure) rather than raising.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import wraps
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import colors as mcolors  # noqa: E402
from matplotlib import transforms as mtransforms  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator  # noqa: E402

__all__ = [
    "PLOT_NAMES",
    "draw_all",
    "plot_accuracy_by_gap",
    "plot_bon_curves",
    "plot_correlation_heatmap",
    "plot_correlation_scatter",
    "plot_leaderboard",
    "plot_pairwise_vs_bon",
    "plot_scenario_heatmap",
]

DPI = 150
GOALS = ("Helpfulness", "Harmlessness")
# Leaderboard components in RMB's order: column name -> (goal, format).
COMPONENTS = {
    "Help-BoN": ("Helpfulness", "bon"),
    "Help-Pair": ("Helpfulness", "pairwise"),
    "Harm-BoN": ("Harmlessness", "bon"),
    "Harm-Pair": ("Harmlessness", "pairwise"),
}
COMPONENT_COLORS = {
    "Help-BoN": "#9ecae1",
    "Help-Pair": "#2171b5",
    "Harm-BoN": "#fdae6b",
    "Harm-Pair": "#d94801",
    "Overall": "#4d4d4d",
}
GOAL_STYLE = {
    "Helpfulness": {"color": "#2171b5", "marker": "o"},
    "Harmlessness": {"color": "#d94801", "marker": "s"},
    "all": {"color": "#4d4d4d", "marker": "D"},
}
FORMAT_LABEL = {"pairwise": "pairwise", "bon": "BoN"}
GOAL_SHORT = {"Helpfulness": "Help", "Harmlessness": "Harm"}
PLOT_NAMES = (
    "leaderboard",
    "scenario_heatmap",
    "pairwise_vs_bon",
    "correlation_scatter",
    "correlation_heatmap",
    "accuracy_by_gap",
    "bon_curves",
)

PAIR_LABEL = "pairwise accuracy (fraction of pairs, ties count wrong)"
BON_LABEL = "BoN accuracy (fraction of groups where the best response outscores every other; ties count wrong)"
ACC_LABEL = "accuracy (fraction of items correct, ties count wrong)"
GAP_LABEL = "judge score gap, chosen − rejected (1–5 scale)"
ORACLE_LABEL = "mean judge score of the picked response (1–5 scale)"
NOT_ENOUGH_RMS = "not enough RMs (need ≥ 3)"
LABEL_MAX_RMS = 12  # scatter plots label each point up to this many RMs, and use a legend beyond

_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "pdf.fonttype": 42,  # embed TrueType: text stays selectable/editable in the PDF
    "ps.fonttype": 42,
    "savefig.dpi": DPI,
}

_LABEL_BOX = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "8", "p")


# ------------------------------------------------------------------------------------------- helpers
def _styled(fn: Callable[..., list[Path]]) -> Callable[..., list[Path]]:
    """Run a plotting function under the module's rc settings without touching the global rcParams."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        with plt.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def _num(value: Any) -> float:
    """A float, or NaN for None / NaN / anything not numeric."""
    if value is None:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _get(node: Any, *keys: str) -> Any:
    """Nested dict lookup that returns None as soon as a key (or a dict) is missing."""
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _fmt(value: Any, digits: int = 2) -> str:
    v = _num(value)
    return "n/a" if math.isnan(v) else f"{v:.{digits}f}"


def _wrap(text: Any, width: int = 24) -> str:
    """Wrap a (possibly space-less) name into lines of about ``width`` characters, breaking after / - _ . or space."""
    text = str(text)
    if "\n" in text:
        return "\n".join(_wrap(part, width) for part in text.split("\n"))
    if len(text) <= width:
        return text
    pieces = [p for p in re.split(r"(?<=[/_\-. ])", text) if p]
    lines: list[str] = []
    line = ""
    for piece in pieces:
        while len(piece) > width:  # a single overlong token: hard-break it
            if line:
                lines.append(line)
                line = ""
            lines.append(piece[:width])
            piece = piece[width:]
        if len(line) + len(piece) > width and line:
            lines.append(line)
            line = piece
        else:
            line += piece
    if line:
        lines.append(line)
    return "\n".join(ln.rstrip() for ln in lines)


def _truncate(text: Any, width: int = 40) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _natural_key(text: Any) -> list:
    """Sort key that orders "S2" before "S10"."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(text))]


def _paths(out: str | Path) -> tuple[Path, Path]:
    out = Path(out)
    return out.parent / (out.name + ".png"), out.parent / (out.name + ".pdf")


def _save(fig: plt.Figure, out: str | Path) -> list[Path]:
    png, pdf = _paths(out)
    png.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(png, dpi=DPI, facecolor="white")
        # The layout is final after the first save: freeze it, so the PDF has the same layout and is faster.
        fig.set_layout_engine("none")
        fig.savefig(pdf, facecolor="white")
    finally:
        plt.close(fig)
    return [png, pdf]


def _message_figure(out: str | Path, title: str, message: str, detail: str = "") -> list[Path]:
    """A figure that says, in its middle, why there is nothing to plot."""
    fig = plt.figure(figsize=(8, 4.5), layout="constrained")
    fig.suptitle(title)
    fig.text(0.5, 0.52, message, ha="center", va="center", fontsize=16, color="#444444")
    if detail:
        fig.text(0.5, 0.38, textwrap.fill(detail, 90), ha="center", va="center", fontsize=9, color="#777777")
    return _save(fig, out)


def _rm_colors(names: Iterable[str]) -> dict[str, tuple]:
    """A stable colour per RM: RMs are coloured in alphabetical order, so the same set gets the same colours
    in every figure."""
    names = sorted({str(n) for n in names})
    n = len(names)
    if n <= 10:
        palette = [plt.get_cmap("tab10")(i) for i in range(10)]
    elif n <= 20:
        palette = [plt.get_cmap("tab20")(i) for i in range(20)]
    else:
        palette = [plt.get_cmap("turbo")(0.05 + 0.9 * i / max(n - 1, 1)) for i in range(n)]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def _rm_markers(names: Iterable[str]) -> dict[str, str]:
    names = sorted({str(n) for n in names})
    return {name: _MARKERS[i % len(_MARKERS)] for i, name in enumerate(names)}


def _benchmark(records: Sequence[Mapping]) -> str:
    for r in records:
        b = r.get("benchmark") if isinstance(r, Mapping) else None
        if b:
            return str(b)
    return ""


def _prefix(records: Sequence[Mapping]) -> str:
    b = _benchmark(records)
    return f"{b}: " if b else ""


def _primary_value(m: Mapping) -> float:
    head = m.get("headline") if isinstance(m, Mapping) else None
    if isinstance(head, Mapping):
        return _num(_get(head, "values", head.get("primary", ""), "accuracy"))
    v = _num(_get(m, "overall", "micro", "accuracy"))
    return _num(_get(m, "overall", "accuracy")) if math.isnan(v) else v


def _sorted_metrics(metrics: Sequence[Mapping]) -> list[Mapping]:
    """RMs by their benchmark's primary headline (RMB: Overall micro accuracy), best first; RMs without one go
    last, then by name."""
    valid = [m for m in metrics if isinstance(m, Mapping)]

    def key(m):
        v = _primary_value(m)
        return (math.isnan(v), -v if not math.isnan(v) else 0.0, str(m.get("rm", "")))

    return sorted(valid, key=key)


def _headline_columns(metrics: Sequence[Mapping]) -> list[str]:
    """The leaderboard columns the benchmark declares (its metrics' ``headline``); RMB's without one."""
    for m in metrics:
        cols = _get(m, "headline", "columns") if isinstance(m, Mapping) else None
        if cols:
            return [str(c) for c in cols]
    return [*COMPONENTS, "Overall"]


def _component_color(name: str, columns: Sequence[str]) -> Any:
    if name in COMPONENT_COLORS:
        return COMPONENT_COLORS[name]
    return plt.get_cmap("tab10")(list(columns).index(name) % 10) if name in columns else "#777777"


def _component(m: Mapping, name: str) -> tuple[float, float, float, float]:
    """(accuracy, ci_low, ci_high, chance) of one leaderboard column of one RM."""
    cell = _get(m, "headline", "values", name)
    if isinstance(cell, Mapping):
        return _num(cell.get("accuracy")), _num(cell.get("ci_low")), _num(cell.get("ci_high")), _num(cell.get("chance"))
    if name == "Overall":
        node = _get(m, "overall", "micro") or {}
        if _get(m, "overall", "micro") is None:
            node = {"accuracy": _get(m, "overall", "accuracy")}
        chance = math.nan
    else:
        goal, fmt = COMPONENTS[name]
        node = _get(m, "goals", goal, fmt) or {}
        chance = _num(node.get("chance"))
    return _num(node.get("accuracy")), _num(node.get("ci_low")), _num(node.get("ci_high")), chance


def _err(value: float, lo: float, hi: float) -> tuple[float, float]:
    """Non-negative error-bar lengths below/above ``value``; 0 where the interval is unknown."""
    if math.isnan(value):
        return 0.0, 0.0
    below = 0.0 if math.isnan(lo) else max(value - lo, 0.0)
    above = 0.0 if math.isnan(hi) else max(hi - value, 0.0)
    return below, above


def _text_color(color: Any) -> tuple:
    """A darker version of ``color`` so that text in light palette colours stays legible."""
    r, g, b = mcolors.to_rgb(color)
    return (0.6 * r, 0.6 * g, 0.6 * b)


def _overlap(a, b) -> float:
    x0, y0 = max(a.x0, b.x0), max(a.y0, b.y0)
    x1, y1 = min(a.x1, b.x1), min(a.y1, b.y1)
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def _place_labels(ax: plt.Axes, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], colors=None,
                  fontsize: float = 7.5) -> None:
    """Label scatter points, choosing per label the candidate offset that least overlaps already placed labels,
    the points and the outside of the axes (greedy, in display space).

    Call after the figure's layout is final (``fig.draw_without_rendering()``); the labels take no part in the layout.
    """
    if not len(xs):
        return
    renderer = ax.figure.canvas.get_renderer()
    ax_box = ax.get_window_extent(renderer)
    offsets = [(5, 3), (5, -12), (-5, 3), (-5, -12), (0, 7), (0, -17), (9, 12), (9, -22), (-9, 12), (-9, -22),
               (14, -5), (-14, -5), (0, 20), (0, -30), (18, 22), (-18, 22), (18, -32), (-18, -32)]
    pts_disp = ax.transData.transform(np.column_stack([xs, ys]))
    point_boxes = [mtransforms.Bbox.from_extents(px - 4, py - 4, px + 4, py + 4) for px, py in pts_disp]
    placed: list = []
    order = sorted(range(len(xs)), key=lambda i: (-ys[i], xs[i]))

    def make(i, dx, dy):
        ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
        color = _text_color(colors[i]) if colors else "#222222"
        leader = {"arrowstyle": "-", "color": "#9a9a9a", "linewidth": 0.5, "shrinkA": 0, "shrinkB": 3}
        text = ax.annotate(labels[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points", ha=ha,
                           va="bottom", fontsize=fontsize, color=color, annotation_clip=False, bbox=_LABEL_BOX,
                           zorder=5, arrowprops=leader if abs(dx) + abs(dy) > 18 else None)
        text.set_in_layout(False)
        return text

    for i in order:
        best, best_cost = offsets[0], math.inf
        for dx, dy in offsets:
            text = make(i, dx, dy)
            bb = text.get_window_extent(renderer).expanded(1.06, 1.15)
            text.remove()
            area = bb.width * bb.height
            cost = sum(_overlap(bb, o) for o in placed)
            cost += 0.5 * sum(_overlap(bb, p) for p in point_boxes)
            cost += 3.0 * (area - _overlap(bb, ax_box))
            if cost < best_cost - 1e-9:
                best, best_cost = (dx, dy), cost
            if cost == 0:
                break
        text = make(i, *best)
        placed.append(text.get_window_extent(renderer).expanded(1.06, 1.15))


def _legend_outside(fig: plt.Figure, handles, labels, ncols: int = 1, title: str | None = None) -> None:
    if handles:
        fig.legend(handles, labels, loc="outside right upper", ncols=ncols, title=title, frameon=False)


def _legend_height(names: Sequence[str], extra_entries: int = 1, minimum: float = 4.8) -> float:
    """Figure height (inches) that fits a one-column legend of wrapped RM names beside the panels."""
    lines = sum(_wrap(n, 30).count("\n") + 1 for n in names) + extra_entries
    return max(minimum, 1.2 + 0.19 * lines)


def _unique_handles(axes: Iterable[plt.Axes]) -> tuple[list, list]:
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_") and lab not in seen:
                seen[lab] = h
    return list(seen.values()), list(seen.keys())


# ------------------------------------------------------------------------------------------- leaderboard
@_styled
def plot_leaderboard(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """Grouped horizontal bars: one group per RM (best Overall on top), one bar per component and Overall, with
    95% CI error bars and dashed chance lines."""
    title = f"{_prefix(metrics)}leaderboard — accuracy per component (95% CI)"
    rows = _sorted_metrics(metrics)
    if not rows:
        return _message_figure(out, title, "no metrics to plot")
    comps = _headline_columns(rows)
    n_rm, n_c = len(rows), len(comps)
    bar_h, group_gap = 0.8, 1.4
    group = n_c * bar_h + group_gap
    labels = [_wrap(m.get("rm", "?"), 28) for m in rows]
    fig_h = max(4.2, 1.9 + 0.95 * n_rm)
    fig, ax = plt.subplots(figsize=(10, fig_h), layout="constrained")

    chance: dict[str, list[float]] = {c: [] for c in comps}
    centers = []
    for i, m in enumerate(rows):
        top = i * group
        centers.append(top + (n_c - 1) * bar_h / 2)
        for j, c in enumerate(comps):
            v, lo, hi, ch = _component(m, c)
            if not math.isnan(ch):
                chance[c].append(ch)
            y = top + j * bar_h
            if math.isnan(v):
                ax.text(0.005, y, "n/a", va="center", ha="left", fontsize=7, color="#777777")
                continue
            below, above = _err(v, lo, hi)
            ax.barh(y, v, height=bar_h * 0.92, color=_component_color(c, comps), edgecolor="none",
                    label=c if i == 0 else "_", zorder=2)
            ax.errorbar(v, y, xerr=[[below], [above]], fmt="none", ecolor="#222222", elinewidth=0.9, capsize=2,
                        zorder=3)
            ax.text(v + above + 0.008, y, f"{v:.3f}", va="center", ha="left", fontsize=6.5, color="#333333",
                    zorder=4, bbox=_LABEL_BOX)
    # Legend entries for bars that were all n/a.
    handles, labs = ax.get_legend_handles_labels()
    for c in comps:
        if c not in labs:
            handles.append(plt.Rectangle((0, 0), 1, 1, color=_component_color(c, comps)))
            labs.append(c)
    order = [labs.index(c) for c in comps]
    handles, labs = [handles[k] for k in order], [labs[k] for k in order]

    # Chance levels: pairwise 0.5, BoN from the metrics (1 / (losers + 1), averaged over items), Overall = mean.
    levels: dict[str, float] = {}
    for c in comps:
        if chance[c]:
            levels[c] = float(np.mean(chance[c]))
        elif c in COMPONENTS and COMPONENTS[c][1] == "pairwise":
            levels[c] = 0.5
    if comps[-1] not in levels and len(levels) == len(comps) - 1:  # RMB's Overall: the mean of the four
        levels[comps[-1]] = float(np.mean(list(levels.values())))
    merged: list[tuple[float, list[str]]] = []
    for c, v in sorted(levels.items(), key=lambda kv: kv[1]):
        if merged and abs(merged[-1][0] - v) < 0.012:
            merged[-1][1].append(c)
        else:
            merged.append((v, [c]))
    styles = [("#7b3294", (0, (5, 3))), ("#444444", (0, (2, 2))), ("#000000", (0, (6, 2, 1, 2))),
              ("#1b7837", (0, (4, 4)))]
    for k, (v, comps_at) in enumerate(merged):
        color, ls = styles[k % len(styles)]
        line = ax.axvline(v, color=color, linestyle=ls, linewidth=1.1, zorder=1)
        handles.append(line)
        labs.append(f"chance {', '.join(comps_at)} ({v:.2f})")

    ax.set_yticks(centers, labels)
    ax.set_ylim(n_rm * group - group_gap / 2 - bar_h / 2, -group_gap / 2 - bar_h / 2 + 0.1)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel(ACC_LABEL + ("; Overall = mean of the four components" if comps == [*COMPONENTS, "Overall"] else ""))
    ax.xaxis.grid(True, zorder=0)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    ax.set_title(title)
    _legend_outside(fig, handles, labs)
    return _save(fig, out)


# ------------------------------------------------------------------------------------------- scenario heatmap
@_styled
def plot_scenario_heatmap(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """RMs (rows) × scenarios (columns, grouped by goal then format) of micro accuracy."""
    title = f"{_prefix(metrics)}accuracy per scenario"
    rows = _sorted_metrics(metrics)
    order = [(g, f) for g, f in COMPONENTS.values()]
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
            cell[(i, (str(g), str(f), str(scen)))] = _num(s.get("accuracy"))
    if not rows or not cols:
        return _message_figure(out, title, "no per-scenario results to plot")
    groups = [gf for gf in order if gf in cols] + sorted(gf for gf in cols if gf not in order)
    columns = [(g, f, s) for g, f in groups for s in sorted(cols[(g, f)], key=_natural_key)]
    data = np.full((len(rows), len(columns)), np.nan)
    for i in range(len(rows)):
        for j, key in enumerate(columns):
            data[i, j] = cell.get((i, key), np.nan)

    n_r, n_col = data.shape
    annotate = n_r <= 12 and n_col <= 60
    col_w = 0.34 if annotate else 0.2
    row_h = 0.36 if annotate else 0.3
    rm_labels = [_wrap(m.get("rm", "?"), 28) for m in rows]
    fig_w = max(8.0, 2.8 + col_w * n_col)
    fig_h = max(4.5, 3.6 + row_h * n_r)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), layout="constrained")
    cmap = plt.get_cmap("viridis").with_extremes(bad="#e6e6e6")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(n_r), rm_labels)
    ax.set_xticks(range(n_col), [_truncate(s, 42) for _, _, s in columns], rotation=90, fontsize=7)
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
            label = f"{GOAL_SHORT.get(g, g)}-{FORMAT_LABEL.get(f, f)} ({width})"
        ax.text(start - 0.5 + width / 2, -0.6, label, ha="center", va="bottom", fontsize=9, fontweight="bold",
                clip_on=False)
        start += width
    ax.set_xlabel("scenario (grouped by goal and format; number of scenarios in brackets)")
    ax.set_ylabel("reward model")
    cb = fig.colorbar(im, ax=ax, shrink=0.9 if n_r > 4 else 1.0, pad=0.01, fraction=0.03 if n_col > 40 else 0.05)
    cb.set_label(_wrap(ACC_LABEL + "; grey = no items", 40))
    ax.set_title(title + " (pairwise chance 0.5; BoN chance ≈ 1 / group size)", pad=22)
    return _save(fig, out)


# ------------------------------------------------------------------------------------------- pairwise vs BoN
@_styled
def plot_pairwise_vs_bon(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """One panel per goal: each RM's pairwise accuracy (x) against its BoN accuracy (y), 95% CIs both ways."""
    title = f"{_prefix(metrics)}pairwise vs best-of-N accuracy per RM (95% CI)"
    rows = _sorted_metrics(metrics)
    pts = []  # (goal, rm, x, xlo, xhi, y, ylo, yhi)
    bon_chance: dict[str, list[float]] = {}
    for m in rows:
        for g in GOALS:
            pair = _get(m, "goals", g, "pairwise") or {}
            bon = _get(m, "goals", g, "bon") or {}
            ch = _num(bon.get("chance"))
            if not math.isnan(ch):
                bon_chance.setdefault(g, []).append(ch)
            x, y = _num(pair.get("accuracy")), _num(bon.get("accuracy"))
            if math.isnan(x) or math.isnan(y):
                continue
            pts.append((g, str(m.get("rm", "?")), x, _num(pair.get("ci_low")), _num(pair.get("ci_high")), y,
                        _num(bon.get("ci_low")), _num(bon.get("ci_high"))))
    if not pts:
        return _message_figure(out, title, "no RM has both pairwise and BoN accuracy")
    goals = [g for g in GOALS if any(p[0] == g for p in pts)]
    n_side = max(sum(p[0] == g for p in pts) for g in goals)
    side = 5.6 if n_side <= 8 else 7.0
    fig, axes = plt.subplots(1, len(goals), figsize=(side * len(goals) + 0.4, side + 0.9), layout="constrained",
                             squeeze=False)
    jobs = []
    for ax, g in zip(axes[0], goals):
        sel = [p for p in pts if p[0] == g]
        style = GOAL_STYLE.get(g, {"color": "#4d4d4d", "marker": "o"})
        xs = np.array([p[2] for p in sel])
        ys = np.array([p[5] for p in sel])
        xerr = np.array([_err(p[2], p[3], p[4]) for p in sel]).T
        yerr = np.array([_err(p[5], p[6], p[7]) for p in sel]).T
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
        ax.set_ylabel(_wrap(BON_LABEL, 58))
        ax.set_title(g, color=style["color"], fontweight="bold")
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
        jobs.append((ax, list(xs), list(ys), [_wrap(p[1], 24) for p in sel], [style["color"]] * len(sel)))
    fig.suptitle(title)
    fig.draw_without_rendering()  # final layout first, then place labels in display space
    for ax, xs, ys, labels, colors in jobs:
        _place_labels(ax, xs, ys, labels, colors)
    return _save(fig, out)


# ------------------------------------------------------------------------------------------- correlation
_DOWNSTREAM_MEANING = {
    "mean_oracle": "mean judge score of the RM's pick (1–5)",
    "mean_random": "mean judge score of a random pick (1–5)",
    "mean_best": "mean judge score of the best candidate (1–5)",
    "win_rate": "fraction of prompts where the RM's pick beats a random pick",
    "regret": "best − picked judge score (1–5 scale; lower is better)",
}


def _describe_metric(name: str) -> str:
    return f"{name}\n(accuracy, fraction of items correct)"


def _describe_downstream(name: str) -> str:
    key = str(name).split("@", 1)[0].strip()
    meaning = _DOWNSTREAM_MEANING.get(key)
    return f"{name}\n({meaning})" if meaning else str(name)


def _coef_text(row: Mapping | None) -> str:
    if row is None:
        return "r=n/a, ρ=n/a, τ=n/a (n=n/a)"
    n = _num(row.get("n_rms"))
    n_txt = "n/a" if math.isnan(n) else str(int(n))
    return (f"r={_fmt(row.get('pearson'))}, ρ={_fmt(row.get('spearman'))}, τ={_fmt(row.get('kendall'))} "
            f"(n={n_txt})")


def _is_empty(frame: Any) -> bool:
    return frame is None or not isinstance(frame, pd.DataFrame) or frame.empty


@_styled
def plot_correlation_scatter(points: pd.DataFrame, correlation: pd.DataFrame, out: str | Path,
                             max_panels: int = 12) -> list[Path]:
    """One panel per (metric, downstream) pair: RMs as labelled points, a least-squares line, and the
    Pearson r / Spearman ρ / Kendall τ across RMs in the panel title."""
    title = "benchmark metric vs downstream best-of-N quality, across RMs"
    if _is_empty(points) or _is_empty(correlation):
        return _message_figure(out, title, NOT_ENOUGH_RMS,
                               "Correlations are computed across reward models; with fewer than 3 RMs they are "
                               "not defined.")
    pts = points.copy()
    pts["x"] = pd.to_numeric(pts["x"], errors="coerce")
    pts["y"] = pd.to_numeric(pts["y"], errors="coerce")
    corr_rows: dict[tuple[str, str], Mapping] = {}
    for rec in correlation.to_dict("records"):
        corr_rows.setdefault((str(rec.get("metric")), str(rec.get("downstream"))), rec)
    pairs = []
    for (metric, down), grp in pts.groupby(["metric", "downstream"], sort=True):
        row = corr_rows.get((str(metric), str(down)))
        n = _num(row.get("n_rms")) if row is not None else math.nan
        if math.isnan(n):
            n = float(grp[["x", "y"]].dropna().shape[0])
        pairs.append((-n, str(metric), str(down), grp, row))
    pairs.sort(key=lambda p: (p[0], p[1], p[2]))
    shown = pairs[:max_panels]
    if not shown:
        return _message_figure(out, title, NOT_ENOUGH_RMS)
    n_p = len(shown)
    ncols = min(3, n_p)
    nrows = math.ceil(n_p / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.9 * ncols + 0.5, 4.3 * nrows + 0.8), layout="constrained",
                             squeeze=False)
    rm_names = sorted(set(pts["rm"].astype(str)))
    colors, markers = _rm_colors(rm_names), _rm_markers(rm_names)
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
        ax.set_xlabel(_describe_metric(metric), fontsize=8)
        ax.set_ylabel(_wrap(_describe_downstream(down), 44), fontsize=8)
        ax.set_title(_coef_text(row), fontsize=9)
        jobs.append((ax, list(xs), list(ys), [_wrap(n, 20) for n in names], [colors[n] for n in names]))
    for k in range(n_p, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    extra = f" (showing {n_p} of {len(pairs)} pairs)" if len(pairs) > n_p else ""
    fig.suptitle(f"{title}{extra}\nr = Pearson, ρ = Spearman, τ = Kendall; few RMs ⇒ wide uncertainty")
    handles, labels = _unique_handles(axes.ravel())
    fit = [(h, lab) for h, lab in zip(handles, labels) if lab == "least-squares fit"]
    rms = sorted(((h, lab) for h, lab in zip(handles, labels) if lab != "least-squares fit"), key=lambda t: t[1])
    if use_legend:
        entries = fit + rms
        fig.legend([h for h, _ in entries], [_wrap(lab, 34) for _, lab in entries], loc="outside right upper",
                   frameon=False, title="reward model")
    elif fit:
        fig.legend([h for h, _ in fit], [lab for _, lab in fit], loc="outside lower center", frameon=False)
    if not use_legend:
        fig.draw_without_rendering()  # final layout first, then place labels in display space
        for ax, xs, ys, labels_, cols in jobs:
            _place_labels(ax, xs, ys, labels_, cols, 7)
    return _save(fig, out)


@_styled
def plot_correlation_heatmap(correlation: pd.DataFrame, out: str | Path, method: str = "spearman") -> list[Path]:
    """Benchmark metric (rows) × downstream measure (columns) heatmap of a correlation coefficient across RMs."""
    names = {"pearson": "Pearson r", "spearman": "Spearman ρ", "kendall": "Kendall τ"}
    if method not in names:
        raise ValueError(f"method: expected one of {sorted(names)}, got {method!r}")
    title = f"{names[method]} across RMs: benchmark metric vs downstream best-of-N"
    if _is_empty(correlation) or method not in correlation.columns:
        return _message_figure(out, title, NOT_ENOUGH_RMS,
                               "Correlations are computed across reward models; with fewer than 3 RMs they are "
                               "not defined.")
    frame = correlation.copy()
    frame["metric"] = frame["metric"].astype(str)
    frame["downstream"] = frame["downstream"].astype(str)
    frame = frame.drop_duplicates(["metric", "downstream"], keep="first")
    row_names = list(dict.fromkeys(frame["metric"]))
    col_names = sorted(dict.fromkeys(frame["downstream"]))
    idx = {(r, c): rec for rec in frame.to_dict("records") for r, c in [(rec["metric"], rec["downstream"])]}
    data = np.full((len(row_names), len(col_names)), np.nan)
    for i, r in enumerate(row_names):
        for j, c in enumerate(col_names):
            rec = idx.get((r, c))
            if rec is not None:
                data[i, j] = _num(rec.get(method))
    n_vals = pd.to_numeric(frame.get("n_rms", pd.Series(dtype=float)), errors="coerce").dropna()
    if n_vals.empty:
        n_txt = "n = n/a RMs"
    elif n_vals.min() == n_vals.max():
        n_txt = f"n = {int(n_vals.min())} RMs"
    else:
        n_txt = f"n = {int(n_vals.min())}–{int(n_vals.max())} RMs"

    n_r, n_c = data.shape
    show_ci = n_r * n_c <= 80 and f"{method}_lo" in frame.columns
    cell_w = 1.25 if show_ci else 0.8
    fig_w = max(8.0, 3.5 + cell_w * n_c)
    fig_h = max(4.5, 3.0 + (0.55 if show_ci else 0.4) * n_r)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), layout="constrained")
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#e6e6e6")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(n_r), [_wrap(r, 30) for r in row_names])
    ax.set_xticks(range(n_c), [_wrap(c, 22) for c in col_names], rotation=35, ha="right", rotation_mode="anchor")
    ax.tick_params(length=0)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xticks(np.arange(-0.5, n_c, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_r, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    fs = 8 if n_r * n_c <= 80 else 6
    any_ci = False
    for i, r in enumerate(row_names):
        for j, c in enumerate(col_names):
            v = data[i, j]
            txt = "n/a" if np.isnan(v) else f"{v:.2f}"
            rec = idx.get((r, c))
            if show_ci and rec is not None and not np.isnan(v):
                lo, hi = _num(rec.get(f"{method}_lo")), _num(rec.get(f"{method}_hi"))
                if not (math.isnan(lo) or math.isnan(hi)):
                    txt += f"\n[{lo:.2f}, {hi:.2f}]"
                    any_ci = True
            strong = not np.isnan(v) and abs(v) > 0.6
            ax.text(j, i, txt, ha="center", va="center", fontsize=fs if "\n" not in txt else fs - 1,
                    color="white" if strong else "black")
    ax.set_xlabel("downstream best-of-N measure (measure@N goal)")
    ax.set_ylabel("benchmark metric")
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label(f"{names[method]} across RMs (−1 … 1)")
    ci_note = "; brackets: 95% interval" if any_ci else ""
    ax.set_title(f"{title}\n({n_txt}; few RMs ⇒ wide intervals{ci_note})")
    return _save(fig, out)


# ------------------------------------------------------------------------------------------- judge-gap curves
@_styled
def plot_accuracy_by_gap(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """Per goal, pairwise accuracy of each RM as a function of the judge's score gap between chosen and rejected."""
    title = f"{_prefix(metrics)}pairwise accuracy by judge score gap"
    rows = _sorted_metrics(metrics)
    series: dict[str, dict[str, list[tuple[float, float, float]]]] = {}
    for m in rows:
        for r in m.get("by_judge_gap") or []:
            if not isinstance(r, Mapping):
                continue
            gap, acc = _num(r.get("gap")), _num(r.get("accuracy"))
            if math.isnan(gap):
                continue
            series.setdefault(str(r.get("goal")), {}).setdefault(str(m.get("rm", "?")), []).append(
                (gap, acc, _num(r.get("n_items"))))
    goals = [g for g in GOALS if g in series] + sorted(g for g in series if g not in GOALS)
    if not goals:
        return _message_figure(out, title, "no judge-gap data (items carry no judge scores)")
    rm_names = [str(m.get("rm", "?")) for m in rows]
    colors, markers = _rm_colors(rm_names), _rm_markers(rm_names)
    missing = [rm for rm in rm_names if not any(rm in series[g] for g in goals)]
    fig, axes = plt.subplots(1, len(goals), figsize=(5.2 * len(goals) + 2.6, _legend_height(rm_names)),
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
    ymin = min([0.5] + [v[1] for g in series.values() for vs in g.values() for v in vs if not math.isnan(v[1])])
    ymax = max([0.5] + [v[1] for g in series.values() for vs in g.values() for v in vs if not math.isnan(v[1])])
    pad = max(0.03, 0.08 * (ymax - ymin))
    axes[0][0].set_ylim(max(0.0, ymin - pad), min(1.0, ymax + pad))
    handles, labels = _unique_handles(axes[0])
    _legend_outside(fig, handles, [_wrap(lab, 30) for lab in labels], title="reward model")
    note = f"\nno judge-gap data: {', '.join(missing)}" if missing else ""
    fig.suptitle(title + " (n = pairs per gap)" + note)
    return _save(fig, out)


# ------------------------------------------------------------------------------------------- best-of-N curves
@_styled
def plot_bon_curves(downstream: Sequence[Mapping], out: str | Path) -> list[Path]:
    """Per goal, the mean judge score of the RM's pick among N candidates, against N (log2 scale)."""
    title = f"{_prefix(downstream)}downstream best-of-N: judge score of the RM's pick"
    records = [d for d in (downstream or []) if isinstance(d, Mapping)]
    by_goal: dict[str, dict[str, list[Mapping]]] = {}
    no_data: list[str] = []
    for d in records:
        rm = str(d.get("rm", "?"))
        rows = [r for r in (d.get("bon") or []) if isinstance(r, Mapping) and not math.isnan(_num(r.get("n")))]
        if not rows:
            no_data.append(rm)
            continue
        for r in rows:
            by_goal.setdefault(str(r.get("goal", "all")), {}).setdefault(rm, []).append(r)
    order = ["all", *GOALS]
    goals = [g for g in order if g in by_goal] + sorted(g for g in by_goal if g not in order)
    if not goals:
        return _message_figure(out, title, "no downstream best-of-N data",
                               f"RMs without downstream data: {', '.join(no_data)}" if no_data else "")
    rm_names = [str(d.get("rm", "?")) for d in records]
    colors, markers = _rm_colors(rm_names), _rm_markers(rm_names)
    fig, axes = plt.subplots(1, len(goals), figsize=(5.0 * len(goals) + 2.8, _legend_height(rm_names, 2)),
                             layout="constrained", squeeze=False)
    for ax, goal in zip(axes[0], goals):
        per_rm = by_goal[goal]
        ns = sorted({int(_num(r["n"])) for rows in per_rm.values() for r in rows})
        ref = None  # random / oracle-best reference: from the first RM with rows for this goal
        for rm in rm_names:
            rows = sorted(per_rm.get(rm, []), key=lambda r: _num(r.get("n")))
            if not rows:
                continue
            if ref is None:
                ref = rows
            ax.plot([_num(r.get("n")) for r in rows], [_num(r.get("mean_oracle")) for r in rows],
                    marker=markers[rm], color=colors[rm], linewidth=1.6, markersize=5, label=rm, zorder=3)
        if ref is not None:
            rx = [_num(r.get("n")) for r in ref]
            ax.plot(rx, [_num(r.get("mean_random")) for r in ref], color="#555555", linestyle="--", linewidth=1.3,
                    label="random pick", zorder=2)
            ax.plot(rx, [_num(r.get("mean_best")) for r in ref], color="black", linestyle=":", linewidth=1.6,
                    label="oracle best", zorder=2)
            n_prompts = _num(ref[0].get("n_prompts"))
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
    handles, labels = _unique_handles(axes[0])
    _legend_outside(fig, handles, [_wrap(lab, 30) for lab in labels])
    note = f"\nno downstream data: {', '.join(no_data)}" if no_data else ""
    fig.suptitle(title + note)
    return _save(fig, out)


# ------------------------------------------------------------------------------------------- all
def draw_all(metrics: Sequence[Mapping], downstream: Sequence[Mapping], correlation: pd.DataFrame,
             points: pd.DataFrame, out_dir: str | Path) -> dict[str, list[Path]]:
    """Draw every figure into ``out_dir`` (``<name>.png`` and ``<name>.pdf`` per figure)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "leaderboard": plot_leaderboard(metrics, out_dir / "leaderboard"),
        "scenario_heatmap": plot_scenario_heatmap(metrics, out_dir / "scenario_heatmap"),
        "pairwise_vs_bon": plot_pairwise_vs_bon(metrics, out_dir / "pairwise_vs_bon"),
        "correlation_scatter": plot_correlation_scatter(points, correlation, out_dir / "correlation_scatter"),
        "correlation_heatmap": plot_correlation_heatmap(correlation, out_dir / "correlation_heatmap"),
        "accuracy_by_gap": plot_accuracy_by_gap(metrics, out_dir / "accuracy_by_gap"),
        "bon_curves": plot_bon_curves(downstream, out_dir / "bon_curves"),
    }


def headline_pairs(points: pd.DataFrame) -> pd.DataFrame:
    """The (metric, downstream measure) pairs worth a scatter panel: micro accuracies against the pick quality and
    win rate on the matching goal (Overall with all goals, Help-* with Helpfulness, Harm-* with Harmlessness)."""
    if points.empty:
        return points
    goal_of = {"Overall": "all", "Help": "Helpfulness", "Harm": "Harmlessness"}
    keep = []
    for metric, measure in points[["metric", "downstream"]].drop_duplicates().itertuples(index=False):
        name, _, kind = str(metric).rpartition(" ")
        goal = goal_of.get(name.split("-")[0])
        m_name, _, m_goal = str(measure).partition(" ")
        if kind == "micro" and goal == m_goal and m_name.split("@")[0] in ("mean_oracle", "win_rate"):
            keep.append((metric, measure))
    mask = pd.Series([(m, d) in set(keep) for m, d in zip(points["metric"], points["downstream"])], index=points.index)
    return points[mask]


# ------------------------------------------------------------------------------------------- significance
@_styled
def plot_significance_matrix(significance: pd.DataFrame, out: str | Path, column: str = "Overall",
                             alpha: float = 0.05, test: str = "bootstrap") -> list[Path]:
    """RM × RM matrix of accuracy differences (row − column) on one headline column, from a significance table
    (``rmeval.stats.paired_comparisons`` or results/significance/{benchmark}.csv). RMs sorted best first; a cell
    is marked * when the Holm-adjusted paired test rejects 'no difference' at ``alpha``."""
    p_key = {"bootstrap": "p_boot_holm", "mcnemar": "p_mcnemar_holm"}[test]
    title = f"paired differences in {column} (row − column)\n* = {test} test, Holm-adjusted p < {alpha:g}"
    part = significance[significance["column"] == column] if not _is_empty(significance) else pd.DataFrame()
    if part.empty:
        return _message_figure(out, title, "no pair of RMs to compare", "the significance table has no rows for this column")
    values: dict[str, float] = {}
    for r in part.itertuples(index=False):
        values.setdefault(r.rm_a, _num(r.value_a))
        values.setdefault(r.rm_b, _num(r.value_b))
    names = sorted(values, key=lambda n: (-values[n] if not math.isnan(values[n]) else math.inf, n))
    k = len(names)
    pos = {n: i for i, n in enumerate(names)}
    diff = np.full((k, k), np.nan)
    star = np.zeros((k, k), dtype=bool)
    for r in part.itertuples(index=False):
        i, j, d, p = pos[r.rm_a], pos[r.rm_b], _num(r.diff), _num(getattr(r, p_key))
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
                    fontsize=7 if k <= 8 else 5.5, color=_text_color(rgba))
    labels = [_truncate(n, 28) for n in names]
    ax.set_xticks(range(k), labels, rotation=40, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_title(title)
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.set_label(f"{column}: accuracy of row RM − column RM")
    return _save(fig, out)


@_styled
def plot_position_bias(metrics: Sequence[Mapping], out: str | Path) -> list[Path]:
    """Pairwise judges' position bias from the ``judge`` block of their metrics: the chosen response's win rate
    when shown as A and as B, the share of A among valid verdicts, and the consistency across both orders."""
    title = f"{_prefix(metrics)}position bias of pairwise judges"
    judges = [m for m in metrics if m.get("judge")]
    if not judges:
        return _message_figure(out, title, "no pairwise judge among the RMs", "position bias needs comparisons (PairwiseJudgeRM)")
    bars = [("win_rate_chosen_shown_as_A", "chosen wins when shown as A"),
            ("win_rate_chosen_shown_as_B", "chosen wins when shown as B"),
            ("share_A_among_valid", "share of A among valid verdicts"),
            ("consistency_rate", "same winner in both orders")]
    colors = ("#1f78b4", "#a6cee3", "#e66101", "#5e3c99")
    fig, ax = plt.subplots(figsize=(9, max(3.8, 1.6 + 1.1 * len(judges))), layout="constrained")
    h = 0.8 / len(bars)
    for i, m in enumerate(judges):
        for j, ((key, label), color) in enumerate(zip(bars, colors)):
            v = _num(m["judge"].get(key))
            y = i + (j - (len(bars) - 1) / 2) * h
            if math.isnan(v):
                ax.text(0.005, y, "n/a", va="center", ha="left", fontsize=7, color="#777777")
                continue
            ax.barh(y, v, height=h * 0.9, color=color, label=label if i == 0 else "_", zorder=2)
            ax.text(v + 0.008, y, f"{v:.2f}", va="center", ha="left", fontsize=6.5, zorder=3, bbox=_LABEL_BOX)
    handles, labs = ax.get_legend_handles_labels()
    for (key, label), color in zip(bars, colors):
        if label not in labs:
            handles.append(plt.Rectangle((0, 0), 1, 1, color=color))
            labs.append(label)
    handles.append(ax.axvline(0.5, color="#444444", linestyle=(0, (2, 2)), linewidth=1.0, zorder=1))
    labs.append("no position preference (share of A = 0.5)")
    ax.set_yticks(range(len(judges)), [_wrap(m.get("rm", "?"), 28) for m in judges])
    ax.set_ylim(len(judges) - 0.5, -0.5)
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("rate (fraction of comparisons)")
    ax.xaxis.grid(True, zorder=0)
    ax.set_axisbelow(True)
    ax.set_title(title)
    _legend_outside(fig, handles, labs)
    return _save(fig, out)
