"""What every figure shares: the style, saving, message figures, value access, RM colours and label placement.

Cheap to import (the Snakefile scans the figure modules): matplotlib and numpy are imported inside the functions.
"""

from __future__ import annotations

import logging
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, wraps
from pathlib import Path
from typing import Any

DPI = 150
FORMAT_LABEL = {"pairwise": "pairwise", "bon": "BoN"}
# Per goal, in the benchmark's goal order (see goal_order); further goals are grey.
GOAL_STYLES = ({"color": "#2171b5", "marker": "o"}, {"color": "#d94801", "marker": "s"})
OTHER_GOAL_STYLE = {"color": "#4d4d4d", "marker": "o"}

ACC_LABEL = "accuracy (fraction of items correct, ties count wrong)"
PAIR_LABEL = "pairwise accuracy (fraction of pairs, ties count wrong)"
NOT_ENOUGH_RMS = "not enough RMs (need ≥ 3)"
NO_CORRELATION = "Correlations are computed across reward models; with fewer than 3 RMs they are not defined."

RC = {
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
LABEL_BOX = {"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.75}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "8", "p")


# ------------------------------------------------------------------------------------------- matplotlib
@cache
def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (imported on the first figure, not with the package)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # it logs every PDF font subset at INFO
    return plt


def styled(fn: Callable[..., list[Path]]) -> Callable[..., list[Path]]:
    """Run a plotting function under the figures' rc settings without touching the global rcParams."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        with pyplot().rc_context(RC):
            return fn(*args, **kwargs)

    return wrapper


def save(fig, out: str | Path) -> list[Path]:
    """Save ``fig`` as ``<out>.png`` (150 dpi) and ``<out>.pdf``, close it, and return the two paths (a refused
    write: ``rmeval.io.WriteError``)."""
    from rmeval.io import writing

    out = Path(out)
    png, pdf = out.parent / (out.name + ".png"), out.parent / (out.name + ".pdf")
    try:
        with writing(png):
            png.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(png, dpi=DPI, facecolor="white")
        # The layout is final after the first save: freeze it, so the PDF has the same layout and is faster.
        fig.set_layout_engine("none")
        with writing(pdf):
            fig.savefig(pdf, facecolor="white", metadata={"CreationDate": None})  # no date: a rerun gives the same bytes
    finally:
        pyplot().close(fig)
    return [png, pdf]


def message_figure(out: str | Path, title: str, message: str, detail: str = "") -> list[Path]:
    """A figure that says, in its middle, why there is nothing to plot."""
    fig = pyplot().figure(figsize=(8, 4.5), layout="constrained")
    fig.suptitle(title)
    fig.text(0.5, 0.52, message, ha="center", va="center", fontsize=16, color="#444444")
    if detail:
        fig.text(0.5, 0.38, textwrap.fill(detail, 90), ha="center", va="center", fontsize=9, color="#777777")
    return save(fig, out)


# ------------------------------------------------------------------------------------------- values and text
def num(value: Any) -> float:
    """A float, or NaN for None / NaN / anything not numeric."""
    if value is None:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def get(node: Any, *keys: str) -> Any:
    """Nested dict lookup that returns None as soon as a key (or a dict) is missing."""
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def fmt(value: Any, digits: int = 2) -> str:
    v = num(value)
    return "n/a" if math.isnan(v) else f"{v:.{digits}f}"


def wrap(text: Any, width: int = 24) -> str:
    """Wrap a (possibly space-less) name into lines of about ``width`` characters, breaking after / - _ . or space."""
    text = str(text)
    if "\n" in text:
        return "\n".join(wrap(part, width) for part in text.split("\n"))
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


def truncate(text: Any, width: int = 40) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def is_empty(frame: Any) -> bool:
    """True for None, anything that is not a DataFrame, and an empty one."""
    return frame is None or not hasattr(frame, "empty") or frame.empty


def goal_abbreviation(goal: str) -> str:
    """A goal's four-letter short form, as headline column names use it (e.g. "Help" for "Helpfulness")."""
    return str(goal)[:4]


# ------------------------------------------------------------------------------------------- metrics records
def prefix(records: Sequence[Mapping]) -> str:
    """"<benchmark>: " from the first record that names its benchmark ("" if none does)."""
    for r in records:
        b = r.get("benchmark") if isinstance(r, Mapping) else None
        if b:
            return f"{b}: "
    return ""


def goal_order(metrics: Sequence[Mapping]) -> list[str]:
    """The goals in the order the metrics' ``goals`` blocks list them (the benchmark's own order)."""
    seen: dict[str, None] = {}
    for m in metrics or []:
        goals = m.get("goals") if isinstance(m, Mapping) else None
        if isinstance(goals, Mapping):
            seen.update(dict.fromkeys(str(g) for g in goals))
    return list(seen)


def ordered(found: Iterable[str], known: Sequence[str]) -> list[str]:
    """``found`` with the ``known`` names first, in their order, then the rest alphabetically."""
    found = set(found)
    return [k for k in known if k in found] + sorted(f for f in found if f not in known)


def primary_value(m: Mapping) -> float:
    head = m.get("headline") if isinstance(m, Mapping) else None
    if isinstance(head, Mapping):
        return num(get(head, "values", head.get("primary", ""), "accuracy"))
    v = num(get(m, "overall", "micro", "accuracy"))
    return num(get(m, "overall", "accuracy")) if math.isnan(v) else v


def sorted_metrics(metrics: Sequence[Mapping]) -> list[Mapping]:
    """RMs by their benchmark's primary headline, best first; RMs without one go last, then by name."""
    valid = [m for m in metrics if isinstance(m, Mapping)]

    def key(m):
        v = primary_value(m)
        return (math.isnan(v), -v if not math.isnan(v) else 0.0, str(m.get("rm", "")))

    return sorted(valid, key=key)


def err(value: float, lo: float, hi: float) -> tuple[float, float]:
    """Non-negative error-bar lengths below/above ``value``; 0 where the interval is unknown."""
    if math.isnan(value):
        return 0.0, 0.0
    below = 0.0 if math.isnan(lo) else max(value - lo, 0.0)
    above = 0.0 if math.isnan(hi) else max(hi - value, 0.0)
    return below, above


# ------------------------------------------------------------------------------------------- RM colours, legends
def rm_colors(names: Iterable[str]) -> dict[str, tuple]:
    """A stable colour per RM: RMs are coloured in alphabetical order, so the same set gets the same colours
    in every figure."""
    plt = pyplot()
    names = sorted({str(n) for n in names})
    n = len(names)
    if n <= 10:
        palette = [plt.get_cmap("tab10")(i) for i in range(10)]
    elif n <= 20:
        palette = [plt.get_cmap("tab20")(i) for i in range(20)]
    else:
        palette = [plt.get_cmap("turbo")(0.05 + 0.9 * i / max(n - 1, 1)) for i in range(n)]
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def rm_markers(names: Iterable[str]) -> dict[str, str]:
    names = sorted({str(n) for n in names})
    return {name: _MARKERS[i % len(_MARKERS)] for i, name in enumerate(names)}


def text_color(color: Any) -> tuple:
    """A darker version of ``color`` so that text in light palette colours stays legible."""
    from matplotlib import colors as mcolors

    r, g, b = mcolors.to_rgb(color)
    return (0.6 * r, 0.6 * g, 0.6 * b)


def text_on(background: Any) -> str:
    """Black or white, whichever contrasts more with ``background`` (WCAG relative luminance of the sRGB colour:
    black on cells lighter than about 18% luminance, white on darker ones)."""
    from matplotlib import colors as mcolors

    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in mcolors.to_rgb(background)]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "black" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "white"


def legend_outside(fig, handles, labels, ncols: int = 1, title: str | None = None) -> None:
    if handles:
        fig.legend(handles, labels, loc="outside right upper", ncols=ncols, title=title, frameon=False)


def legend_height(names: Sequence[str], extra_entries: int = 1, minimum: float = 4.8) -> float:
    """Figure height (inches) that fits a one-column legend of wrapped RM names beside the panels."""
    lines = sum(wrap(n, 30).count("\n") + 1 for n in names) + extra_entries
    return max(minimum, 1.2 + 0.19 * lines)


def unique_handles(axes: Iterable) -> tuple[list, list]:
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_") and lab not in seen:
                seen[lab] = h
    return list(seen.values()), list(seen.keys())


# ------------------------------------------------------------------------------------------- point labels
def _overlap(a, b) -> float:
    x0, y0 = max(a.x0, b.x0), max(a.y0, b.y0)
    x1, y1 = min(a.x1, b.x1), min(a.y1, b.y1)
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


_OFFSETS = [(5, 3), (5, -12), (-5, 3), (-5, -12), (0, 7), (0, -17), (9, 12), (9, -22), (-9, 12), (-9, -22),
            (14, -5), (-14, -5), (0, 20), (0, -30), (18, 22), (-18, 22), (18, -32), (-18, -32)]


def place_labels(ax, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], colors=None,
                 fontsize: float = 7.5) -> None:
    """Label scatter points, choosing per label the candidate offset that least overlaps already placed labels,
    the points and the outside of the axes (greedy, in display space).

    Call after the figure's layout is final (``fig.draw_without_rendering()``); the labels take no part in the layout.
    """
    import numpy as np
    from matplotlib import transforms as mtransforms

    if not len(xs):
        return
    renderer = ax.figure.canvas.get_renderer()
    ax_box = ax.get_window_extent(renderer)
    pts_disp = ax.transData.transform(np.column_stack([xs, ys]))
    point_boxes = [mtransforms.Bbox.from_extents(px - 4, py - 4, px + 4, py + 4) for px, py in pts_disp]
    placed: list = []
    order = sorted(range(len(xs)), key=lambda i: (-ys[i], xs[i]))

    def make(i, dx, dy):
        ha = "left" if dx > 0 else ("right" if dx < 0 else "center")
        color = text_color(colors[i]) if colors else "#222222"
        leader = {"arrowstyle": "-", "color": "#9a9a9a", "linewidth": 0.5, "shrinkA": 0, "shrinkB": 3}
        text = ax.annotate(labels[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points", ha=ha,
                           va="bottom", fontsize=fontsize, color=color, annotation_clip=False, bbox=LABEL_BOX,
                           zorder=5, arrowprops=leader if abs(dx) + abs(dy) > 18 else None)
        text.set_in_layout(False)
        return text

    for i in order:
        best, best_cost = _OFFSETS[0], math.inf
        for dx, dy in _OFFSETS:
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
