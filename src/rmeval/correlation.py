"""Correlation across RMs between benchmark metrics and downstream measures (Pearson, Spearman, Kendall τ-b),
each with its SciPy p-value (``scipy.stats.pearsonr``, ``spearmanr``, ``kendalltau``: two-sided, exact where SciPy
is for small samples) and a seeded percentile-bootstrap CI over RMs. Pure functions."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

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


# ------------------------------------------------------------------------------ benchmark metrics vs downstream
SEP = " | "  # joins a benchmark (or pool) and a metric (or measure) in the cross-benchmark table's column names


def headline_values(metrics: dict) -> dict[str, float | None]:
    """A metrics dict's headline columns by name (every benchmark writes them; no benchmark object needed)."""
    head = metrics.get("headline") or {}
    return {col: (head.get("values", {}).get(col) or {}).get("accuracy") for col in head.get("columns", [])}


def benchmark_correlation(summaries: Sequence[dict], metric_values: Callable[[dict], dict], quantiles: Sequence[float],
                          n_boot: int, level: float, seed: int, min_rms_for_ci: int = MIN_RMS_FOR_CI,
                          ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """One benchmark's metrics on its benchmark half (``metric_values``: the benchmark object's, plus PPE's
    lower-quantile aggregation) against best-of-N on its held-out half, across the RMs of the downstream
    ``summaries``. Returns (correlation table, scatter points, number of RMs)."""
    from rmeval.downstream import downstream_values, quantile_metric_values

    quant = quantile_metric_values(list(summaries), list(quantiles))
    rows = [{"rm": s["rm"], **metric_values(s["benchmark_half"]), **quant.get(s["rm"], {}), **downstream_values(s)}
            for s in summaries]
    metrics = list(metric_values(summaries[0]["benchmark_half"])) if summaries else []
    metrics += sorted({k for q in quant.values() for k in q})
    measures = sorted({k for s in summaries for k in downstream_values(s)})
    return _tables(rows, metrics, measures, n_boot, level, seed, min_rms_for_ci, split=False)


def cross_benchmark_correlation(summaries: Sequence[dict], metrics: Sequence[dict], n_boot: int, level: float, seed: int,
                                min_rms_for_ci: int = MIN_RMS_FOR_CI) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Every benchmark's headline metrics against every downstream pool's measures, across RMs: rows (benchmark,
    metric), columns (pool, downstream measure). Where the benchmark is a pool's own benchmark, its benchmark-half
    metrics are used (the prompt split holds); other benchmarks use their full ``metrics``.
    Returns (correlation table, scatter points, number of RMs)."""
    from rmeval.downstream import downstream_values

    by_rm: dict[str, dict] = {}
    pools = sorted({s["benchmark"] for s in summaries})
    for s in summaries:
        row = by_rm.setdefault(s["rm"], {"rm": s["rm"]})
        row.update({f"{s['benchmark']}{SEP}{k}": v for k, v in downstream_values(s).items()})
        row.update({f"{s['benchmark']}{SEP}{k}": v for k, v in headline_values(s["benchmark_half"]).items()})
    for m in metrics:
        if m["benchmark"] in pools or m["rm"] not in by_rm:
            continue  # a pool's own benchmark: its benchmark-half metrics (above) keep the split
        by_rm[m["rm"]].update({f"{m['benchmark']}{SEP}{k}": v for k, v in headline_values(m).items()})
    rows = list(by_rm.values())
    measure_keys = {f"{s['benchmark']}{SEP}{k}" for s in summaries for k in downstream_values(s)}
    names = sorted({k for r in rows for k in r if k != "rm" and k not in measure_keys})
    return _tables(rows, names, sorted(measure_keys), n_boot, level, seed, min_rms_for_ci, split=True)


def _tables(rows: list[dict], metrics: list[str], measures: list[str], n_boot: int, level: float, seed: int,
            min_rms_for_ci: int, split: bool) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    values = pd.DataFrame(rows)
    for col in [*metrics, *measures]:
        if col not in values:
            values[col] = float("nan")
    table = correlation_table(values, metrics, measures, n_boot=n_boot, level=level, seed=seed, min_rms_for_ci=min_rms_for_ci)
    points = scatter_points(values, metrics, measures)
    if split:  # 'benchmark | metric' -> benchmark, metric; 'pool | measure' -> pool, downstream
        for frame in (table, points):
            parts = frame["metric"].str.split(SEP, n=1, expand=True, regex=False)
            frame.insert(0, "benchmark", parts[0])
            frame["metric"] = parts[1]
            pool = frame["downstream"].str.split(SEP, n=1, expand=True, regex=False)
            frame.insert(frame.columns.get_loc("downstream"), "pool", pool[0])
            frame["downstream"] = pool[1]
    return table, points, len(values)
