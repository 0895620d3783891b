"""Statistics around the headline numbers: paired comparisons between RMs, ranks, length bias and PPE's
lower-quantile aggregation. Pure functions over per-item outcomes (``rmeval.metrics.item_outcomes`` or a judge's
``comparison_outcomes``); the resampling is ``rmeval.metrics``' (clustered by prompt by default).

- A headline **column** is a function of per-item outcomes: a weighted mean of the accuracies of some parts of the
  items (RMB: each goal x format component is one part; Overall is the four with equal weights). A benchmark
  supplies its own columns (``Column``), e.g. RewardBench sections as count-weighted subsets.
- **Paired bootstrap**: both RMs are evaluated on the same resampled prompts; the percentile CI of the difference
  and a two-sided bootstrap p-value (twice the smaller tail share of differences at or beyond 0).
- **Exact McNemar** on the column's items: among items where exactly one RM is right, the count where the first
  one is right is Binomial(n, 1/2) under the null; two-sided p = min(1, 2·P(X ≤ min(b, c))). Only for a column
  that is one set of items (not Overall, a mean of parts; its discordant counts are still given). It treats
  items as independent (RMB's share prompts), so the bootstrap p is the one the ranks use by default.
- **Holm** adjusts the p-values of all pairs of RMs within one column.
- **Ranks** (Chatbot Arena's convention): rank = 1 + the number of RMs significantly better on the column, where
  "significantly better" is closed under transitivity; two significantly different RMs never share a rank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats as sps

from rmeval.metrics.bootstrap import check_bootstrap, cluster_codes, cluster_weights, interval, name_seed, ratio_replicates
from rmeval.metrics.comparisons import comparison_outcomes
from rmeval.metrics.outcomes import item_outcomes, with_prompt_ids

Selector = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Column:
    """A headline column: sum_k w_k · accuracy(items selected by part k) / sum_k w_k."""

    name: str
    parts: tuple[tuple[Selector, float], ...]
    description: str = ""

    def masks(self, outcomes: pd.DataFrame) -> list[tuple[np.ndarray, float]]:
        return [(np.asarray(sel(outcomes), dtype=bool), float(w)) for sel, w in self.parts]

    def value(self, outcomes: pd.DataFrame, column: str = "correct") -> float | None:
        """The column's value (None when a part has no items)."""
        values = outcomes[column].to_numpy(dtype=np.float64)
        accs, weights = [], []
        for mask, w in self.masks(outcomes):
            if not mask.any():
                return None
            accs.append(values[mask].mean())
            weights.append(w)
        return float(np.dot(accs, weights) / np.sum(weights)) if accs else None

    def replicates(self, outcomes: pd.DataFrame, codes: np.ndarray, weights: np.ndarray, column: str = "correct") -> np.ndarray:
        """Bootstrap replicates under cluster ``weights`` (the same weights for every RM make them paired)."""
        values = outcomes[column].to_numpy(dtype=np.float64)
        parts = self.masks(outcomes)
        reps = [ratio_replicates(weights, codes, values, mask) for mask, _ in parts]
        w = np.array([w for _, w in parts])
        return np.sum([r * wi for r, wi in zip(reps, w)], axis=0) / w.sum()


def _is(goal: str, fmt: str) -> Selector:
    return lambda o: (o["goal"].to_numpy() == goal) & (o["format"].to_numpy() == fmt)


def component_columns(components: Mapping[str, tuple[str, str]]) -> list[Column]:
    """The headline columns of a benchmark scored by goal x format components (``rmeval.metrics.components``): each
    component (micro) and Overall (their mean)."""
    cols = [Column(name, ((_is(goal, fmt), 1.0),), f"{goal} {fmt} accuracy") for name, (goal, fmt) in components.items()]
    overall = Column("Overall", tuple((_is(goal, fmt), 1.0) for goal, fmt in components.values()), "mean of the four components")
    return [*cols, overall]


def resample_weights(outcomes: pd.DataFrame, n_boot: int, seed: int, bootstrap: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(cluster index per row, (n_boot, n_clusters) weights): prompts within scenarios (``metrics.cluster_weights``)
    or items (each row its own cluster; the RNG seeded by ``name``)."""
    if check_bootstrap(bootstrap) == "cluster":
        return cluster_weights(outcomes, n_boot, seed)
    codes, n = cluster_codes(outcomes, "item")
    if n == 0:
        return codes, np.zeros((n_boot, 0))
    rng = np.random.default_rng(name_seed(seed, "items", name))
    return codes, rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)


def scenario_is(name: str) -> Selector:
    return lambda o: o["scenario"].to_numpy() == name


def all_items() -> Selector:
    return lambda o: np.ones(len(o), dtype=bool)


def format_is(fmt: str) -> Selector:
    return lambda o: o["format"].to_numpy() == fmt


def rm_outcomes(items: pd.DataFrame, scores: Mapping[str, pd.DataFrame], comparisons: Mapping[str, pd.DataFrame] | None = None,
                order_rule: str = "all") -> dict[str, pd.DataFrame]:
    """Per-item outcomes of every RM: pointwise RMs from their scores, pairwise judges from their comparisons (the
    orders combined by the benchmark's ``order_rule``)."""
    out = {}
    for name, frame in scores.items():
        out[name] = item_outcomes(items, dict(zip(frame["text_id"], frame["score"].astype(float))))
    for name, frame in (comparisons or {}).items():
        if name in out:
            raise ValueError(f"rm {name}: field 'rm': given both as a score file and as a comparisons file")
        out[name] = with_prompt_ids(items, comparison_outcomes(items, frame, rule=order_rule)[0])
    return out


def significance_table(bench, items: pd.DataFrame, scores: Mapping[str, pd.DataFrame],
                       comparisons: Mapping[str, pd.DataFrame], n_boot: int, level: float, seed: int,
                       bootstrap: str) -> pd.DataFrame:
    """``paired_comparisons`` of every pair of RMs (pointwise ``scores`` and pairwise judges' ``comparisons``, by RM
    name) on the headline columns of the benchmark object ``bench``, with a leading ``benchmark`` column. With a
    pairwise judge among the RMs, every RM is compared on the items a judge is asked about (``bench.judged_items``)."""
    if comparisons:
        items = bench.judged_items(items).reset_index(drop=True)
    table = paired_comparisons(rm_outcomes(items, scores, comparisons, bench.order_rule), bench.significance_columns(items),
                               n_boot=n_boot, level=level, seed=seed, bootstrap=bootstrap)
    table.insert(0, "benchmark", bench.name)
    return table


# ------------------------------------------------------------------------------------------- tests
def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (a right & b wrong, b right & a wrong)."""
    n = int(a_only) + int(b_only)
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * sps.binom.cdf(min(a_only, b_only), n, 0.5)))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and do not count towards m)."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


def bootstrap_p(diff_reps: np.ndarray) -> float:
    """Two-sided bootstrap p-value of 'no difference': 2 · min(share ≤ 0, share ≥ 0), capped at 1."""
    reps = np.asarray(diff_reps, dtype=np.float64)
    reps = reps[~np.isnan(reps)]
    if len(reps) == 0:
        return float("nan")
    return float(min(1.0, 2.0 * min(np.mean(reps <= 0), np.mean(reps >= 0))))


# ------------------------------------------------------------------------------------------- paired comparisons
SIGNIFICANCE_COLUMNS = [
    "column", "rm_a", "rm_b", "n_items", "value_a", "value_b", "diff", "diff_lo", "diff_hi", "p_boot", "p_boot_holm",
    "n_discordant", "a_only", "b_only", "p_mcnemar", "p_mcnemar_holm", "bootstrap", "level", "n_boot", "seed",
]


def _aligned(outcomes: Mapping[str, pd.DataFrame]) -> tuple[list[str], pd.DataFrame, dict[str, pd.DataFrame]]:
    """All RMs' outcomes in the first RM's item order; every RM must have the same items."""
    names = list(outcomes)
    ref = outcomes[names[0]].reset_index(drop=True)
    ids = ref["item_id"].tolist()
    out = {}
    for name in names:
        frame = outcomes[name]
        if len(frame) != len(ids) or set(frame["item_id"]) != set(ids):
            missing = sorted(set(ids) ^ set(frame["item_id"]))
            raise ValueError(f"rm {name}: field 'item_id': items differ from rm {names[0]}'s "
                             f"({len(missing)} items in one but not the other, e.g. {missing[0] if missing else '?'})")
        out[name] = frame.set_index("item_id").loc[ids].reset_index()
    return names, ref, out


def paired_comparisons(outcomes: Mapping[str, pd.DataFrame], columns: Sequence[Column], n_boot: int = 1000,
                       level: float = 0.95, seed: int = 0, bootstrap: str = "cluster") -> pd.DataFrame:
    """One row per (column, pair of RMs): values, difference a − b with its paired bootstrap CI and p-value,
    exact McNemar on the column's items, both Holm-adjusted across the pairs of that column."""
    check_bootstrap(bootstrap)
    if len(outcomes) < 2:
        return pd.DataFrame(columns=SIGNIFICANCE_COLUMNS)
    names, ref, aligned = _aligned(outcomes)
    codes, weights = resample_weights(ref, n_boot, seed, bootstrap, "paired")
    rows = []
    for col in columns:
        masks = col.masks(ref)
        union = np.any([m for m, _ in masks], axis=0) if masks else np.zeros(len(ref), bool)
        values = {n: col.value(aligned[n]) for n in names}
        reps = {n: col.replicates(aligned[n], codes, weights) for n in names}
        first = len(rows)
        for a, b in combinations(names, 2):
            ca = aligned[a]["correct"].to_numpy(bool)[union]
            cb = aligned[b]["correct"].to_numpy(bool)[union]
            a_only, b_only = int((ca & ~cb).sum()), int((cb & ~ca).sum())
            diff_reps = reps[a] - reps[b]
            lo, hi = interval(diff_reps, level)
            va, vb = values[a], values[b]
            rows.append({
                "column": col.name, "rm_a": a, "rm_b": b, "n_items": int(union.sum()), "value_a": va, "value_b": vb,
                "diff": None if va is None or vb is None else va - vb, "diff_lo": lo, "diff_hi": hi,
                "p_boot": bootstrap_p(diff_reps) if va is not None and vb is not None else np.nan,
                "n_discordant": a_only + b_only, "a_only": a_only, "b_only": b_only,
                "p_mcnemar": mcnemar_exact(a_only, b_only) if union.any() and len(masks) == 1 else np.nan,
                "bootstrap": bootstrap, "level": level, "n_boot": n_boot, "seed": seed,
            })
        block = rows[first:]
        for key in ("p_boot", "p_mcnemar"):
            for row, adj in zip(block, holm([r[key] for r in block])):
                row[f"{key}_holm"] = adj
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)


TESTS = {"bootstrap": "p_boot_holm", "mcnemar": "p_mcnemar_holm"}


def significance_ranks(significance: pd.DataFrame, column: str, alpha: float = 0.05, test: str = "bootstrap") -> pd.DataFrame:
    """Ranks on one column from a significance table (``paired_comparisons`` or its CSV), Chatbot Arena's convention:
    rank = 1 + the number of RMs significantly better.

    X is significantly better than Y when X's value is higher and their Holm-adjusted p-value is below ``alpha``,
    closed under transitivity: X better than Y and Y better than Z count X as better than Z even where the X–Z test
    did not reject. Holm bounds the chance of any false rejection within the column by ``alpha``, so the rejections
    hold together, and so do their consequences; the closure is what keeps two significantly different RMs from
    sharing a rank (without it, Z could count only Y above it and tie with Y). RMs with the same outcomes share a
    rank; RMs with equal values need not (the paired test sees which items each gets right). A pair without a
    p-value (the test does not apply) is no evidence of a difference. An RM whose value is undefined (NaN, no items)
    gets no rank and is left out. Returns rm, value, rank, better (the RMs counted, best first), the test and the
    level; sorted by rank, then value (best first), then name.
    """
    if test not in TESTS:
        raise ValueError(f"significance_ranks: field 'test': expected one of {', '.join(TESTS)}, got {test!r}")
    part = significance[significance["column"] == column]
    values: dict[str, float] = {}
    for r in part.itertuples(index=False):
        values.setdefault(r.rm_a, r.value_a)
        values.setdefault(r.rm_b, r.value_b)
    order = sorted((n for n, v in values.items() if v is not None and not pd.isna(v)), key=lambda n: (-values[n], n))
    p_key = TESTS[test]
    beaten_by: dict[str, set[str]] = {n: set() for n in order}  # direct significant wins over each RM
    for r in part.itertuples(index=False):
        p = getattr(r, p_key)
        if r.rm_a not in beaten_by or r.rm_b not in beaten_by or p is None or pd.isna(p) or float(p) >= alpha:
            continue
        if values[r.rm_a] > values[r.rm_b]:
            beaten_by[r.rm_b].add(r.rm_a)
        elif values[r.rm_b] > values[r.rm_a]:
            beaten_by[r.rm_a].add(r.rm_b)
    better: dict[str, set[str]] = {}
    for name in order:  # a win goes from a higher value to a lower one: every RM above is done before this one
        better[name] = set().union(*({x} | better[x] for x in beaten_by[name])) if beaten_by[name] else set()
    rows = [{"rm": n, "value": values[n], "rank": 1 + len(better[n]),
             "better": tuple(sorted(better[n], key=lambda x: (-values[x], x)))} for n in order]
    frame = pd.DataFrame(rows, columns=["rm", "value", "rank", "better"])
    if len(frame):
        frame = frame.sort_values(["rank", "value", "rm"], ascending=[True, False, True], kind="stable").reset_index(drop=True)
    frame["test"] = f"{test} (Holm-adjusted)"
    frame["alpha"] = alpha
    return frame


def read_significance_ranks(path, column: str = "Overall", alpha: float = 0.05, test: str = "bootstrap") -> pd.DataFrame:
    """``significance_ranks`` from ``results/significance/{benchmark}.csv`` (the leaderboard's entry point)."""
    return significance_ranks(pd.read_csv(path), column, alpha, test)


def rank_note(ranks: pd.DataFrame, column: str) -> str:
    """The leaderboard note that says what a rank means: the column, the test and the level behind it."""
    if ranks.empty:
        return ""
    return (f"rank = 1 + the number of RMs significantly better on {column} (Chatbot Arena's convention; "
            f"{ranks['test'].iloc[0]} paired test over the same items, α = {ranks['alpha'].iloc[0]:g}; an RM better "
            "than one that is significantly better counts too). Two significantly different RMs never share a rank; "
            "RMs that share one are not shown to differ. An RM with no value on the column has no rank.")


# ------------------------------------------------------------------------------------------- length bias
def length_bias(items: pd.DataFrame, texts: pd.DataFrame, outcomes: pd.DataFrame, n_boot: int = 1000,
                level: float = 0.95, seed: int = 0, bootstrap: str = "cluster", unit: str = "chars") -> dict:
    """Length bias of one RM on the pairwise items, overall and per goal.

    Strata: chosen longer than rejected, chosen shorter (equal lengths are counted and left out). Reported:
    accuracy per stratum, the rate at which the RM prefers the longer response (among decided pairs of unequal
    length; a tie or an invalid score decides nothing), and the length-controlled accuracy = mean of the two
    strata's accuracies, with a (cluster) bootstrap CI. A BoN group has several losers and is left out.
    """
    if unit not in ("chars", "words"):
        raise ValueError(f"length_bias: field 'unit': expected chars or words, got {unit!r}")
    measure = (lambda r: len(r)) if unit == "chars" else (lambda r: len(r.split()))
    length = dict(zip(texts["text_id"], (measure(str(r)) for r in texts["response"])))
    pair = (items["format"] == "pairwise").to_numpy()
    try:
        chosen_len = np.array([length[t] for t in items["chosen_id"][pair]], dtype=float)
        rejected_len = np.array([length[r[0]] for r in items["rejected_ids"][pair]], dtype=float)
    except KeyError as err:
        raise ValueError(f"texts: field 'text_id': no text {err.args[0]} for an item's response") from None
    out = outcomes[pair].reset_index(drop=True).copy()
    out["stratum"] = np.where(chosen_len > rejected_len, "longer", np.where(chosen_len < rejected_len, "shorter", "equal"))
    decided = ~out["tie"].to_numpy(bool) & ~out["invalid"].to_numpy(bool)
    picked_chosen = out["correct"].to_numpy(bool)
    out["prefers_longer"] = np.where(out["stratum"] == "longer", picked_chosen, ~picked_chosen).astype(float)
    out["decided_unequal"] = decided & (out["stratum"] != "equal").to_numpy()
    result = {"unit": unit, "formats": ["pairwise"], **_length_block(out, n_boot, level, seed, bootstrap, "all")}
    result["by_goal"] = {g: _length_block(part, n_boot, level, seed, bootstrap, g)
                         for g, part in out.groupby("goal", sort=True)} if "goal" in out.columns else {}
    return result


def _length_block(out: pd.DataFrame, n_boot: int, level: float, seed: int, bootstrap: str, name: str) -> dict:
    strata = out["stratum"].to_numpy()
    block: dict = {"n_items": int(len(out)), "n_equal_length": int((strata == "equal").sum())}
    for s in ("longer", "shorter"):
        mask = strata == s
        block[f"chosen_{s}"] = {"n_items": int(mask.sum()), "accuracy": float(out["correct"][mask].mean()) if mask.any() else None}
    dec = out["decided_unequal"].to_numpy(bool)
    block["prefers_longer_rate"] = float(out["prefers_longer"][dec].mean()) if dec.any() else None
    block["n_decided_unequal"] = int(dec.sum())
    col = Column("length-controlled", ((lambda o: o["stratum"].to_numpy() == "longer", 1.0),
                                       (lambda o: o["stratum"].to_numpy() == "shorter", 1.0)))
    value = col.value(out)
    lo = hi = None
    if value is not None:
        codes, weights = resample_weights(out, n_boot, seed, bootstrap, f"length {name}")
        lo, hi = interval(col.replicates(out, codes, weights), level)
    block["length_controlled"] = {"accuracy": value, "ci_low": lo, "ci_high": hi,
                                  "definition": "mean of the accuracies where the chosen is longer and where it is shorter"}
    return block


# ------------------------------------------------------------------------------------------- PPE quantile
def lower_quantile_scores(accuracy: pd.DataFrame, q: float) -> pd.Series:
    """PPE's lower-quantile aggregation: ``accuracy`` has one row per RM and one column per scenario. Each
    scenario is z-scored across RMs (population sd; a scenario where all RMs agree gives 0), then each RM's
    z-scores are aggregated with quantile ``q`` (linear interpolation; q = 0 is the RM's worst scenario).
    A scenario missing for an RM is skipped for that RM."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"lower_quantile_scores: field 'q': expected 0 <= q <= 1, got {q}")
    acc = accuracy.astype(float)
    sd = acc.std(axis=0, ddof=0)
    z = (acc - acc.mean(axis=0)) / sd.where(sd > 0)
    z = z.where(~(sd == 0).to_numpy()[None, :] | acc.isna(), 0.0)
    return z.apply(lambda row: float(np.quantile(row.dropna(), q)) if row.notna().any() else np.nan, axis=1)
