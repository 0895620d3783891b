"""Correlation across RMs between benchmark metrics and downstream measures (Pearson, Spearman, Kendall τ-b),
with seeded percentile-bootstrap CIs over RMs. Pure functions; no SciPy needed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

METHODS = ("pearson", "spearman", "kendall")


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean rank), 1-based."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        return float("nan")
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt((dx**2).sum() * (dy**2).sum())
    return float((dx * dy).sum() / denom) if denom > 0 else float("nan")


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    return pearson(_ranks(np.asarray(x, float)), _ranks(np.asarray(y, float)))


def kendall(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b (tie-corrected): (concordant − discordant) / sqrt((n0 − n1)(n0 − n2))."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 2:
        return float("nan")
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    upper = np.triu_indices(n, 1)
    s = float((sx * sy)[upper].sum())
    n0 = n * (n - 1) / 2
    tx = n0 - float(np.abs(sx[upper]).sum())  # pairs tied in x
    ty = n0 - float(np.abs(sy[upper]).sum())
    denom = np.sqrt((n0 - tx) * (n0 - ty))
    return s / denom if denom > 0 else float("nan")


FUNCS = {"pearson": pearson, "spearman": spearman, "kendall": kendall}


MIN_RMS = 3  # fewer RMs: no coefficient
MIN_RMS_FOR_CI = 5  # fewer RMs: resamples of so few points are mostly ties and duplicates; no CI is given


def correlate(x: Sequence[float], y: Sequence[float], n_boot: int, level: float, seed: int | Sequence[int], min_rms_for_ci: int = MIN_RMS_FOR_CI) -> dict:
    """Coefficients with bootstrap CIs over RMs (pairs resampled; degenerate resamples are skipped).

    Below ``MIN_RMS`` RMs the coefficients are NaN; below ``min_rms_for_ci`` the CIs are NaN."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    out: dict = {"n_rms": int(len(x))}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x))) if len(x) >= max(MIN_RMS, min_rms_for_ci) else None
    alpha = (1.0 - level) / 2.0
    for name, fn in FUNCS.items():
        out[name] = fn(x, y) if len(x) >= MIN_RMS else float("nan")
        lo = hi = float("nan")
        if idx is not None and not np.isnan(out[name]):
            reps = np.array([fn(x[i], y[i]) for i in idx])
            reps = reps[~np.isnan(reps)]
            if len(reps) >= max(10, n_boot // 10):
                lo, hi = float(np.quantile(reps, alpha)), float(np.quantile(reps, 1.0 - alpha))
        out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
    return out


def correlation_table(values: pd.DataFrame, metrics: Sequence[str], measures: Sequence[str], n_boot: int, level: float, seed: int, min_rms_for_ci: int = MIN_RMS_FOR_CI) -> pd.DataFrame:
    """``values``: one row per RM with a column per metric and per downstream measure.

    Returns one row per (metric, downstream measure) with n_rms and each coefficient with its CI.
    Fewer than 3 RMs gives NaN coefficients, fewer than ``min_rms_for_ci`` NaN CIs (reported, not hidden).
    """
    rows = []
    for i, metric in enumerate(metrics):
        for j, measure in enumerate(measures):
            res = correlate(values[metric], values[measure], n_boot, level, seed=[seed, i, j], min_rms_for_ci=min_rms_for_ci)
            rows.append({"metric": metric, "downstream": measure, **res})
    cols = ["metric", "downstream", "n_rms", *[c for m in METHODS for c in (m, f"{m}_lo", f"{m}_hi")]]
    return pd.DataFrame(rows, columns=cols)


def scatter_points(values: pd.DataFrame, metrics: Sequence[str], measures: Sequence[str]) -> pd.DataFrame:
    """Long table (rm, metric, downstream, x, y) behind each correlation, for plots."""
    rows = []
    for metric in metrics:
        for measure in measures:
            for rm, x, y in zip(values["rm"], values[metric], values[measure]):
                rows.append({"rm": rm, "metric": metric, "downstream": measure, "x": x, "y": y})
    return pd.DataFrame(rows, columns=["rm", "metric", "downstream", "x", "y"])
