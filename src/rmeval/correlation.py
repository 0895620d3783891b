"""Correlation across RMs between benchmark metrics and downstream measures (Pearson, Spearman, Kendall τ-b),
each with its SciPy p-value (``scipy.stats.pearsonr``, ``spearmanr``, ``kendalltau``: two-sided, exact where SciPy
is for small samples) and a seeded percentile-bootstrap CI over RMs. Pure functions."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

METHODS = ("pearson", "spearman", "kendall")
_SCIPY = {"pearson": sps.pearsonr, "spearman": sps.spearmanr, "kendall": sps.kendalltau}


def coefficient(method: str, x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(coefficient, two-sided p-value) from SciPy; (NaN, NaN) for fewer than 2 points or a constant input."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns on near-constant input; the result is NaN then
        res = _SCIPY[method](x, y)
    return float(res.statistic), float(res.pvalue)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    return coefficient("pearson", x, y)[0]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    return coefficient("spearman", x, y)[0]


def kendall(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's τ-b (tie-corrected)."""
    return coefficient("kendall", x, y)[0]


FUNCS = {"pearson": pearson, "spearman": spearman, "kendall": kendall}


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    dx, dy = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
    denom = np.sqrt((dx**2).sum(axis=1) * (dy**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 1e-15, (dx * dy).sum(axis=1) / np.where(denom > 0, denom, 1.0), np.nan)


def batched(method: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The coefficient of each row pair of (n_boot, n) arrays (for bootstrap replicates; one row equals SciPy's
    coefficient on it). Spearman ranks with ``scipy.stats.rankdata``; Kendall is τ-b as in ``kendalltau``."""
    if method == "pearson":
        return _pearson_rows(x, y)
    if method == "spearman":
        return _pearson_rows(sps.rankdata(x, axis=1), sps.rankdata(y, axis=1))
    n = x.shape[1]
    upper = np.triu_indices(n, 1)
    sx = np.sign(x[:, :, None] - x[:, None, :])[:, upper[0], upper[1]]
    sy = np.sign(y[:, :, None] - y[:, None, :])[:, upper[0], upper[1]]
    denom = np.sqrt(np.abs(sx).sum(axis=1) * np.abs(sy).sum(axis=1))  # untied pairs in x, in y
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (sx * sy).sum(axis=1) / np.where(denom > 0, denom, 1.0), np.nan)


MIN_RMS = 3  # fewer RMs: no coefficient
MIN_RMS_FOR_CI = 5  # fewer RMs: resamples of so few points are mostly ties and duplicates; no CI is given


def correlate(x: Sequence[float], y: Sequence[float], n_boot: int, level: float, seed: int | Sequence[int], min_rms_for_ci: int = MIN_RMS_FOR_CI) -> dict:
    """Coefficients with SciPy p-values and bootstrap CIs over RMs (pairs resampled; degenerate resamples are
    skipped). Below ``MIN_RMS`` RMs the coefficients and p-values are NaN; below ``min_rms_for_ci`` the CIs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    out: dict = {"n_rms": int(len(x))}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x))) if len(x) >= max(MIN_RMS, min_rms_for_ci) else None
    alpha = (1.0 - level) / 2.0
    for name in METHODS:
        out[name], out[f"{name}_p"] = coefficient(name, x, y) if len(x) >= MIN_RMS else (float("nan"), float("nan"))
        lo = hi = float("nan")
        if idx is not None and not np.isnan(out[name]):
            reps = batched(name, x[idx], y[idx])
            reps = reps[~np.isnan(reps)]
            if len(reps) >= max(10, n_boot // 10):
                lo, hi = float(np.quantile(reps, alpha)), float(np.quantile(reps, 1.0 - alpha))
        out[f"{name}_lo"], out[f"{name}_hi"] = lo, hi
    return out


def correlation_table(values: pd.DataFrame, metrics: Sequence[str], measures: Sequence[str], n_boot: int, level: float, seed: int, min_rms_for_ci: int = MIN_RMS_FOR_CI) -> pd.DataFrame:
    """``values``: one row per RM with a column per metric and per downstream measure.

    Returns one row per (metric, downstream measure) with n_rms and each coefficient with its p-value and CI.
    Fewer than 3 RMs gives NaN coefficients, fewer than ``min_rms_for_ci`` NaN CIs (reported, not hidden).
    """
    rows = []
    for i, metric in enumerate(metrics):
        for j, measure in enumerate(measures):
            res = correlate(values[metric], values[measure], n_boot, level, seed=[seed, i, j], min_rms_for_ci=min_rms_for_ci)
            rows.append({"metric": metric, "downstream": measure, **res})
    cols = ["metric", "downstream", "n_rms", *[c for m in METHODS for c in (m, f"{m}_p", f"{m}_lo", f"{m}_hi")]]
    return pd.DataFrame(rows, columns=cols)


def scatter_points(values: pd.DataFrame, metrics: Sequence[str], measures: Sequence[str]) -> pd.DataFrame:
    """Long table (rm, metric, downstream, x, y) behind each correlation, for plots."""
    rows = []
    for metric in metrics:
        for measure in measures:
            for rm, x, y in zip(values["rm"], values[metric], values[measure]):
                rows.append({"rm": rm, "metric": metric, "downstream": measure, "x": x, "y": y})
    return pd.DataFrame(rows, columns=["rm", "metric", "downstream", "x", "y"])
