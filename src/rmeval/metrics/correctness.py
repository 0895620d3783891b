"""Scores against verified correct / incorrect labels: how well an RM picks and separates correct responses.

- ``best_of_k_curve``: the expected correctness of the top-scored response among K responses drawn uniformly without
  replacement from a set, for every K, exactly (ties at the top picked with equal probability);
- ``roc_auc``: the area under the ROC curve of the scores as a classifier of correctness (ties one half), with
  optional per-response weights (a bootstrap replicate's multiplicities);
- ``pair_counts``: right / tied / all (correct, incorrect) pairs of a set.

A NaN score (a scoring error) ranks below every other score, as PPE (Frick et al., 2024) scores an error as -inf.
Used by PPE Correctness (``rmeval.benchmarks.ppe_correctness``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def lowest_nan(scores) -> np.ndarray:
    """Scores as floats with NaN ranked below everything (-inf)."""
    s = np.asarray(scores, dtype=np.float64)
    return np.where(np.isnan(s), -np.inf, s)


def comb_table(n_max: int) -> np.ndarray:
    """C(a, k) for 0 <= a, k <= n_max as floats (Pascal's rule; exact up to 2**53)."""
    table = np.zeros((n_max + 1, n_max + 1))
    table[:, 0] = 1.0
    for a in range(1, n_max + 1):
        table[a, 1:] = table[a - 1, 1:] + table[a - 1, :-1]
    return table


def best_of_k_curve(scores: Sequence[float], correct: Sequence[float], table: np.ndarray | None = None) -> np.ndarray:
    """Expected correctness of the top-scored response of a uniformly drawn K-subset, for K = 1 … len(scores).

    The responses tied at the top of a subset are picked with equal probability. Exact: for a tie group g of m_g
    responses with a_g responses scored above it, P(the subset's best lies in g) = (C(n - a_g, K) - C(n - a_g - m_g, K))
    / C(n, K), and given that, the pick's expected correctness is g's mean correctness. NaN scores rank lowest."""
    s = lowest_nan(scores)
    c = np.asarray(correct, dtype=np.float64)
    n = len(s)
    if n == 0:
        return np.zeros(0)
    table = comb_table(n) if table is None or len(table) <= n else table
    _, inverse, counts = np.unique(-s, return_inverse=True, return_counts=True)  # groups in descending score
    mean_correct = np.bincount(inverse, weights=c) / counts
    above = np.concatenate([[0], np.cumsum(counts)[:-1]])
    k = np.arange(1, n + 1)
    first, rest = n - above, n - above - counts
    prob = (table[first][:, k] - table[rest][:, k]) / table[n, k]
    return mean_correct @ prob


def roc_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray | None = None) -> float | None:
    """Area under the ROC curve of ``scores`` for the labels ``positive`` (ties count one half; NaN scores rank
    lowest), each response weighted by ``weights`` (a bootstrap's multiplicities); None without both classes."""
    s = lowest_nan(scores)
    y = np.asarray(positive, dtype=bool)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    _, group = np.unique(s, return_inverse=True)  # ascending tie groups
    pos = np.bincount(group, weights=w * y)
    neg = np.bincount(group, weights=w * ~y)
    den = pos.sum() * neg.sum()
    if den <= 0:
        return None
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / den)


def pair_counts(scores: np.ndarray, correct: np.ndarray) -> tuple[int, int, int]:
    """(pairs where the correct response scores strictly higher, tied pairs, all correct x incorrect pairs) of one set."""
    s = lowest_nan(scores)
    correct = np.asarray(correct, dtype=bool)
    bad = np.sort(s[~correct])
    good = s[correct]
    below = np.searchsorted(bad, good, side="left")
    tied = np.searchsorted(bad, good, side="right") - below
    return int(below.sum()), int(tied.sum()), int(len(good) * len(bad))


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where a bootstrap replicate drew nothing (den = 0)."""
    den = np.broadcast_to(den, np.shape(num))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def or_nan(value: float | None) -> float:
    return np.nan if value is None else value
