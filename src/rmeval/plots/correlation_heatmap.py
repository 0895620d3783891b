"""Correlation heatmap: benchmark metric (rows) × downstream measure (columns) of a correlation across RMs, per
benchmark and across benchmarks. Each cell gives its number of RMs; the title (and, where rows differ, each row)
says which data the metrics come from (the table's ``metric_data``: a pool's benchmark half, or all items)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.errors import RmevalError
from rmeval.plots import FIGURES
from rmeval.plots._common import (
    NO_CORRELATION, NOT_ENOUGH_RMS, is_empty, message_figure, num, pyplot, save, styled, wrap,
)

if TYPE_CHECKING:
    import pandas as pd

HALF, ALL = "benchmark half", "all items"  # rmeval.correlation's metric_data labels (not imported: pandas, scipy)


def data_note(correlation: pd.DataFrame | None) -> str:
    """Which data the rows' metrics come from, for the title ("" for a table without ``metric_data``)."""
    if correlation is None or "metric_data" not in correlation.columns:
        return ""
    labels = set(correlation["metric_data"].dropna().astype(str))
    if labels == {HALF}:
        return ("metrics on the benchmark half of the prompts (not the leaderboard's all items); "
                "best-of-N on the held-out half")
    if labels == {ALL}:
        return "metrics on all items; best-of-N on the pools' held-out prompts"
    return ("metrics: a pool's own benchmark on its benchmark half, other benchmarks on all items (rows marked); "
            "best-of-N on the held-out half")


@styled
def plot_correlation_heatmap(correlation: pd.DataFrame | None, out: str | Path,
                             method: str = "spearman") -> list[Path]:
    """Benchmark metric (rows) × downstream measure (columns) heatmap of a correlation coefficient across RMs."""
    import numpy as np
    import pandas as pd

    plt = pyplot()
    names = {"pearson": "Pearson r", "spearman": "Spearman ρ", "kendall": "Kendall τ"}
    if method not in names:
        raise RmevalError(f"correlation heatmap: method {method!r}: expected one of {', '.join(sorted(names))}")
    title = f"{names[method]} across RMs: benchmark metric vs downstream best-of-N"
    if is_empty(correlation) or method not in correlation.columns:
        return message_figure(out, title, NOT_ENOUGH_RMS, NO_CORRELATION)
    frame = correlation.copy()
    note = data_note(frame)
    if "metric_data" in frame.columns and frame["metric_data"].nunique() > 1:  # mixed: each row says its data
        frame["metric"] = frame["metric"].astype(str) + " (" + frame["metric_data"].astype(str) + ")"
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
                data[i, j] = num(rec.get(method))
    n_vals = pd.to_numeric(frame.get("n_rms", pd.Series(dtype=float)), errors="coerce")
    coef = pd.to_numeric(frame[method], errors="coerce")
    n_vals = (n_vals[coef.notna()] if coef.notna().any() else n_vals).dropna()  # the RMs behind the coefficients
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
    fig_h = max(4.5, 3.0 + (0.7 if show_ci else 0.45) * n_r)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), layout="constrained")
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="#e6e6e6")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(n_r), [wrap(r, 30) for r in row_names])
    ax.set_xticks(range(n_c), [wrap(c, 22) for c in col_names], rotation=35, ha="right", rotation_mode="anchor")
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
                lo, hi = num(rec.get(f"{method}_lo")), num(rec.get(f"{method}_hi"))
                if not (math.isnan(lo) or math.isnan(hi)):
                    txt += f"\n[{lo:.2f}, {hi:.2f}]"
                    any_ci = True
            n_cell = num(rec.get("n_rms")) if rec is not None else math.nan
            if not math.isnan(n_cell):
                txt += f"\nn={int(n_cell)}"
            strong = not np.isnan(v) and abs(v) > 0.6
            ax.text(j, i, txt, ha="center", va="center", fontsize=fs if "\n" not in txt else fs - 1,
                    color="white" if strong else "black")
    ax.set_xlabel("downstream best-of-N measure (measure@N goal)")
    ax.set_ylabel("benchmark metric")
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label(f"{names[method]} across RMs (−1 … 1)")
    ci_note = "; brackets: 95% interval" if any_ci else ""
    note = "\n" + note.replace("; ", ";\n") if note else ""  # one line per side
    ax.set_title(f"{title}{note}\n({n_txt}, per cell: n=RMs; few RMs ⇒ wide intervals{ci_note})")
    return save(fig, out)



def cross_benchmark_table(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """results/correlation/all.csv as a heatmap table: rows "<benchmark>: <metric>", columns
    "<pool>: <downstream measure>"."""
    if is_empty(table):
        return table
    table = table.copy()
    table["metric"] = table["benchmark"].astype(str) + ": " + table["metric"].astype(str)
    table["downstream"] = table["pool"].astype(str) + ": " + table["downstream"].astype(str)
    return table


@FIGURES.register("correlation_heatmap", category="Downstream")
def draw(data, out: Path) -> list[Path]:
    return plot_correlation_heatmap(data.correlation, out)


@FIGURES.register("correlation_all", scope="all", stem="correlation_heatmap", category="Downstream")
def draw_across_benchmarks(data, out: Path) -> list[Path]:
    return plot_correlation_heatmap(cross_benchmark_table(data.correlation), out)
