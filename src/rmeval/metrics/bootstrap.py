"""Seeded percentile-bootstrap CIs over per-item outcomes.

The default (``bootstrap="cluster"``) resamples *prompts* (``prompt_id``) with all their items, because a benchmark
may hold several items per prompt (and a BoN pair may also be a pairwise pair): items are not independent. Prompts
are resampled within their stratum (goal/scenario: each keeps its number of prompts, as the benchmark's design fixes
it), from an RNG seeded by the run's seed and the stratum's *name*, so a missing scenario file leaves every other
scenario's draws unchanged. ``bootstrap="item"`` resamples items instead (seeds from the names of what is resampled).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

BOOTSTRAP_METHODS = ("cluster", "item")
CLUSTER_COLUMN = "prompt_id"  # what the cluster bootstrap resamples


def name_seed(seed: int, *names: object) -> list[int]:
    """Seed material for ``np.random.default_rng`` from the run's seed and the names of what is resampled
    (a stable hash, so a group's interval does not depend on which other groups exist)."""
    digest = hashlib.sha256("\x1f".join(str(n) for n in names).encode("utf-8")).digest()
    return [int(seed), *(int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4))]


def check_bootstrap(method: str) -> str:
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"metrics.bootstrap: expected one of {', '.join(BOOTSTRAP_METHODS)}, got {method!r}")
    return method

STRATUM_COLUMNS = ("goal", "scenario")  # prompts are resampled within their scenario (a fixed part of the design)


def cluster_codes(outcomes: pd.DataFrame, method: str = "cluster") -> tuple[np.ndarray, int]:
    """(cluster index per row, number of clusters): prompts for the cluster bootstrap, rows for the item one."""
    if check_bootstrap(method) == "item":
        return np.arange(len(outcomes)), len(outcomes)
    if CLUSTER_COLUMN not in outcomes.columns:
        raise ValueError(f"outcomes: field {CLUSTER_COLUMN!r} missing: the cluster bootstrap resamples prompts; "
                         "give the items a prompt_id or set metrics.bootstrap=item")
    codes, uniques = pd.factorize(outcomes[CLUSTER_COLUMN], sort=True)
    return codes.astype(np.int64), len(uniques)


def cluster_strata(outcomes: pd.DataFrame, codes: np.ndarray, n_clusters: int) -> list[str]:
    """The stratum name of each cluster: its (goal, scenario), the first in sort order if it has several."""
    cols = [c for c in STRATUM_COLUMNS if c in outcomes.columns]
    if n_clusters == 0:
        return []
    if not cols:
        return ["all"] * n_clusters
    names = outcomes[cols[0]].astype(str).to_numpy(dtype=object)
    for c in cols[1:]:
        names = names + "/" + outcomes[c].astype(str).to_numpy(dtype=object)
    first = pd.Series(names).groupby(codes).min()
    return first.reindex(range(n_clusters), fill_value="all").tolist()


def cluster_weights(outcomes: pd.DataFrame, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(cluster index per row, (n_boot, n_clusters) multiplicities) for a stratified cluster bootstrap.

    Within each stratum (scenario) its k prompts are drawn k times with replacement, from an RNG seeded by the
    run's seed and the stratum's *name*: the draws of a scenario are the same whichever other scenarios exist,
    and every table built from these weights (components, macro, Overall) sees one joint resample (the per-group
    tables of ``aggregate.group_table`` draw their own).
    """
    codes, n_clusters = cluster_codes(outcomes, "cluster")
    weights = np.zeros((n_boot, n_clusters))
    strata = pd.Series(cluster_strata(outcomes, codes, n_clusters))
    for name, members in strata.groupby(strata, sort=True).groups.items():
        idx = np.asarray(members, dtype=np.int64)
        rng = np.random.default_rng(name_seed(seed, "stratum", name))
        weights[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n_boot)
    return codes, weights


def ratio_replicates(weights: np.ndarray, codes: np.ndarray, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Bootstrap replicates of the mean of ``values`` over the rows in ``mask``, under cluster ``weights``:
    Σ_c w_c·sum_c / Σ_c w_c·count_c. NaN in a replicate that draws no row of the mask."""
    n_boot, n_clusters = weights.shape
    mask = np.ones(len(values), bool) if mask is None else np.asarray(mask, bool)
    if not mask.any():
        return np.full(n_boot, np.nan)
    sums = np.bincount(codes[mask], weights=np.asarray(values, np.float64)[mask], minlength=n_clusters)
    counts = np.bincount(codes[mask], minlength=n_clusters).astype(np.float64)
    num, den = weights @ sums, weights @ counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def bootstrap_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` item-bootstrap replicates of the mean of ``values``.

    For 0/1 values the number of ones in a resample of n items is Binomial(n, mean), which is drawn directly
    (exact, and O(n_boot) instead of O(n_boot·n)).
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.full(n_boot, np.nan)
    if np.isin(values, (0.0, 1.0)).all():
        return rng.binomial(n, values.mean(), size=n_boot) / n
    out = np.empty(n_boot)
    for b in range(n_boot):
        out[b] = values[rng.integers(0, n, size=n)].mean()
    return out


def group_replicates(outcomes: pd.DataFrame, n_boot: int, rng: np.random.Generator | int, method: str = "cluster",
                     column: str = "correct") -> np.ndarray:
    """Replicates of the mean of ``column`` over ``outcomes``. Item bootstrap: drawn from ``rng``. Cluster
    bootstrap: prompts resampled within scenarios, seeded by ``rng`` when it is the run's seed (an int) and by
    the scenario names, or drawn from ``rng`` when it is a Generator (one seed taken from it)."""
    values = outcomes[column].to_numpy(dtype=np.float64)
    if check_bootstrap(method) == "item":
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return bootstrap_means(values, n_boot, rng)
    seed = int(rng.integers(0, 2**31)) if isinstance(rng, np.random.Generator) else int(rng)
    codes, weights = cluster_weights(outcomes, n_boot, seed)
    return ratio_replicates(weights, codes, values)


def nanmean_rows(stack: Sequence[np.ndarray], n_boot: int) -> np.ndarray:
    """Mean across arrays per replicate, skipping NaN entries; NaN where all are NaN (or none given)."""
    if not len(stack):
        return np.full(n_boot, np.nan)
    arr = np.vstack(stack)
    ok = ~np.isnan(arr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok.any(axis=0), np.where(ok, arr, 0.0).sum(axis=0) / ok.sum(axis=0), np.nan)


def interval(replicates: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """Percentile interval of the replicates (NaN replicates dropped); (None, None) if none is left."""
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[~np.isnan(reps)]
    if len(reps) == 0:
        return None, None
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(reps, alpha)), float(np.quantile(reps, 1.0 - alpha))


def ci_description(outcomes: pd.DataFrame, method: str, level: float, n_boot: int, seed: int) -> dict:
    """The ``ci`` block of a metrics result: which bootstrap, over what, at which level."""
    if check_bootstrap(method) == "cluster":
        _, n_clusters = cluster_codes(outcomes, method)
        return {"method": "cluster bootstrap over prompts", "bootstrap": "cluster", "cluster": CLUSTER_COLUMN,
                "n_clusters": int(n_clusters), "interval": "percentile",
                "strata": "goal/scenario", "overall": "one joint resample of prompts for all four components", "level": level, "n_boot": n_boot, "seed": seed}
    return {"method": "item bootstrap", "bootstrap": "item", "cluster": None, "n_clusters": int(len(outcomes)),
            "interval": "percentile", "overall": "components resampled independently", "level": level, "n_boot": n_boot, "seed": seed}
