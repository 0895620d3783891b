"""Correlation across RMs between benchmark metrics and downstream measures (Pearson, Spearman, Kendall τ-b),
each with its SciPy p-value (``scipy.stats.pearsonr``, ``spearmanr``, ``kendalltau``: two-sided, exact where SciPy
is for small samples) and a seeded percentile-bootstrap CI over RMs. Pure functions.

Every table row and point says which data its metric comes from (``metric_data``): a pool's own benchmark gives
its metrics on the benchmark half of the prompts (``downstream.downstream_fraction`` holds the other half out for
best-of-N), so they differ from the leaderboard's, which uses all items; other benchmarks give all their items.
``correlation_summary`` ranks a table's relations for reading (results/correlation/*.summary.md)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from rmeval.errors import RmevalError

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


def correlation_table(values: pd.DataFrame, metrics: Sequence[str], measures: Sequence[str], n_boot: int, level: float,
                      seed: int, min_rms_for_ci: int = MIN_RMS_FOR_CI, metric_data: Mapping[str, str] | None = None,
                      ) -> pd.DataFrame:
    """``values``: one row per RM with a column per metric and per downstream measure.

    Returns one row per (metric, downstream measure) with n_rms, the data each metric comes from (``metric_data``:
    metric -> label, e.g. ``BENCHMARK_HALF``; column left out without it) and each coefficient with its p-value and
    CI. Fewer than 3 RMs gives NaN coefficients, fewer than ``min_rms_for_ci`` NaN CIs (reported, not hidden).
    """
    rows = []
    for i, metric in enumerate(metrics):
        for j, measure in enumerate(measures):
            res = correlate(values[metric], values[measure], n_boot, level, seed=[seed, i, j], min_rms_for_ci=min_rms_for_ci)
            data = {"metric_data": metric_data[metric]} if metric_data is not None else {}
            rows.append({"metric": metric, "downstream": measure, **res, **data})
    cols = ["metric", "downstream", "n_rms", *(["metric_data"] if metric_data is not None else []),
            *[c for m in METHODS for c in (m, f"{m}_p", f"{m}_lo", f"{m}_hi")]]
    return pd.DataFrame(rows, columns=cols)


def scatter_points(values: pd.DataFrame, metrics: Sequence[str], measures: Sequence[str],
                   metric_data: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Long table (rm, metric, downstream, [metric_data,] x, y) behind each correlation, for plots."""
    rows = []
    for metric in metrics:
        data = {"metric_data": metric_data[metric]} if metric_data is not None else {}
        for measure in measures:
            for rm, x, y in zip(values["rm"], values[metric], values[measure]):
                rows.append({"rm": rm, "metric": metric, "downstream": measure, **data, "x": x, "y": y})
    return pd.DataFrame(rows, columns=["rm", "metric", "downstream", *(["metric_data"] if metric_data is not None else []),
                                       "x", "y"])


# ------------------------------------------------------------------------------ benchmark metrics vs downstream
SEP = " | "  # joins a benchmark (or pool) and a metric (or measure) in the cross-benchmark table's column names
# metric_data: where a metric's values come from
BENCHMARK_HALF = "benchmark half"  # a pool's own benchmark: the items of the prompts not held out for best-of-N
ALL_ITEMS = "all items"  # a benchmark without a downstream pool: every item, as on its leaderboard


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
    data = dict.fromkeys(metrics, BENCHMARK_HALF)
    return _tables(rows, metrics, measures, n_boot, level, seed, min_rms_for_ci, data, split=False)


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
    data = {k: BENCHMARK_HALF if k.split(SEP, 1)[0] in pools else ALL_ITEMS for k in names}
    return _tables(rows, names, sorted(measure_keys), n_boot, level, seed, min_rms_for_ci, data, split=True)


def _tables(rows: list[dict], metrics: list[str], measures: list[str], n_boot: int, level: float, seed: int,
            min_rms_for_ci: int, metric_data: dict[str, str], split: bool) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    values = pd.DataFrame(rows)
    for col in [*metrics, *measures]:
        if col not in values:
            values[col] = float("nan")
    table = correlation_table(values, metrics, measures, n_boot=n_boot, level=level, seed=seed,
                              min_rms_for_ci=min_rms_for_ci, metric_data=metric_data)
    points = scatter_points(values, metrics, measures, metric_data)
    if split:  # 'benchmark | metric' -> benchmark, metric; 'pool | measure' -> pool, downstream
        for frame in (table, points):
            parts = frame["metric"].str.split(SEP, n=1, expand=True, regex=False)
            frame.insert(0, "benchmark", parts[0])
            frame["metric"] = parts[1]
            pool = frame["downstream"].str.split(SEP, n=1, expand=True, regex=False)
            frame.insert(frame.columns.get_loc("downstream"), "pool", pool[0])
            frame["downstream"] = pool[1]
    return table, points, len(values)


# ------------------------------------------------------------------------------ the summary a reader starts from
FEW_RMS = 8  # fewer RMs: the summary warns that a correlation across so few RMs is very uncertain
SUMMARY_ROWS = 10  # relations listed as the strongest, and as many as the weakest
_SYMBOL = {"pearson": "r", "spearman": "ρ", "kendall": "τ"}
_NAME = {"pearson": "Pearson r", "spearman": "Spearman ρ", "kendall": "Kendall τ-b"}


def split_lines(summaries: Sequence[dict], other_benchmarks: Sequence[str] = ()) -> list[str]:
    """What data each side of a correlation comes from, one line per downstream pool (from the ``split`` block of
    its downstream summaries) and one for ``other_benchmarks`` (benchmarks without a pool: all their items)."""
    lines = []
    for bench in sorted({s.get("benchmark", "?") for s in summaries}):
        split = next(s.get("split") or {} for s in summaries if s.get("benchmark", "?") == bench)
        frac = split.get("downstream_fraction")
        share = f"{1 - frac:.0%} of the prompts" if frac is not None else "part of the prompts"
        lines.append(f"{bench}: metrics on the {BENCHMARK_HALF} ({share}: {split.get('n_prompts_benchmark', '?')} "
                     f"prompts, {split.get('n_items_benchmark', '?')} items), best-of-N on the held-out half "
                     f"({split.get('n_prompts_downstream', '?')} prompts; downstream.downstream_fraction={frac}, "
                     f"split_seed={split.get('seed', '?')}); its leaderboard uses all items, so its values there differ.")
    if other_benchmarks:
        lines.append(f"{', '.join(sorted(other_benchmarks))}: metrics on {ALL_ITEMS}, as on their leaderboards "
                     "(no prompt of theirs is in a best-of-N pool).")
    return lines


def _label(row: Mapping, name: str, group: str) -> str:
    return f"{row[group]}: {row[name]}" if group in row and isinstance(row.get(group), str) else str(row[name])


def _p_text(p: float) -> str:
    return "–" if math.isnan(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def _relation_rows(frame: pd.DataFrame, method: str, start: int = 1) -> list[str]:
    out = []
    for k, row in enumerate(frame.to_dict("records"), start):
        lo, hi = float(row.get(f"{method}_lo", float("nan"))), float(row.get(f"{method}_hi", float("nan")))
        ci = "no CI" if math.isnan(lo) or math.isnan(hi) else f"[{lo:.2f}, {hi:.2f}]"
        out.append(f"| {k} | {_label(row, 'metric', 'benchmark')} | {row.get('metric_data', '?')} | "
                   f"{_label(row, 'downstream', 'pool')} | {float(row[method]):+.2f} {ci} | "
                   f"{_p_text(float(row.get(f'{method}_p', float('nan'))))} | {int(row['n_rms'])} |")
    return out


def correlation_summary(table: pd.DataFrame, title: str, data_lines: Sequence[str], level: float, n_boot: int,
                        min_rms_for_ci: int = MIN_RMS_FOR_CI, method: str = "spearman", rows: int = SUMMARY_ROWS,
                        few_rms: int = FEW_RMS, source: str = "the correlation table") -> str:
    """A correlation table (``correlation_table`` rows, with ``benchmark``/``pool`` columns where it has them) as
    markdown for reading: the ``rows`` strongest and ``rows`` weakest relations by |coefficient| with CI, p-value
    and n RMs, the data behind them (``data_lines``), and a plain warning when fewer than ``few_rms`` RMs stand
    behind a relation. ``source``: the table's file name, where the other coefficients are."""
    if method not in _NAME:
        raise RmevalError(f"correlation summary: method {method!r}: expected one of {', '.join(_NAME)}")
    sym = _SYMBOL[method]
    lines = [f"# Correlation summary: {title}", "",
             f"{_NAME[method]} across reward models (RMs) between a benchmark metric and a downstream best-of-N measure, "
             f"with its {level:.0%} percentile-bootstrap CI over RMs ({n_boot} resamples; no CI with fewer than "
             f"{min_rms_for_ci} RMs) and SciPy's two-sided p-value. n RMs: the RMs with both values. Every relation, with "
             f"Pearson, Spearman and Kendall, is in {source}.", "", "Which data each side comes from:", ""]
    lines += [f"- {line}" for line in data_lines] + [""]
    coef = pd.to_numeric(table[method], errors="coerce") if len(table) else pd.Series(dtype=float)
    valid = table.assign(_abs=coef.abs())[coef.notna()]
    n_valid, n_missing = len(valid), len(table) - len(valid)
    n = pd.to_numeric((valid if n_valid else table)["n_rms"], errors="coerce").dropna()
    if len(n) and n.min() < few_rms:  # the RMs behind the relations that have a coefficient
        counts = f"{int(n.min())}" if n.min() == n.max() else f"{int(n.min())} to {int(n.max())}"
        lines += [f"> **Warning: only {counts} RMs.** A correlation across fewer than {few_rms} RMs is very uncertain: "
                  "one RM more or less can change it a lot. Read the intervals, not the ranking.", ""]
    order = [c for c in ("benchmark", "metric", "pool", "downstream") if c in table.columns]  # ties: by name
    strongest = valid.sort_values(["_abs", *order], ascending=[False, *[True] * len(order)], kind="mergesort")
    header = [f"| # | metric | metric data | downstream measure | {sym} [{level:.0%} CI] | p | n RMs |",
              "|---:|---|---|---|---:|---:|---:|"]
    if n_valid == 0:
        lines += [f"No relation has a {sym}: fewer than 3 RMs have both values, or one side is constant.", ""]
    elif n_valid <= 2 * rows:
        lines += [f"## All {n_valid} relations, strongest first (largest |{sym}|)", "", *header,
                  *_relation_rows(strongest, method), ""]
    else:
        weakest = valid.sort_values(["_abs", *order], kind="mergesort").iloc[:rows]
        lines += [f"## The {rows} strongest of {n_valid} relations (largest |{sym}|)", "", *header,
                  *_relation_rows(strongest.iloc[:rows], method), "",
                  f"## The {rows} weakest (smallest |{sym}|)", "", *header, *_relation_rows(weakest, method), ""]
    if n_missing:
        lines += [f"{n_missing} of {len(table)} relations have no {sym} (fewer than 3 RMs with both values, or one side "
                  f"constant); they are NaN in {source}.", ""]
    if n_valid:
        lines += [f"The sign gives the direction: + means RMs that score higher on the metric also score higher on the "
                  f"measure (for regret, lower is better: there a good benchmark shows −). p-values are not adjusted for "
                  f"the {n_valid} relations: about {0.05 * n_valid:.1f} of them would reach p < 0.05 by chance alone.", ""]
    return "\n".join(lines)
