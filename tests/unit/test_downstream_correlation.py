"""Golden tests for best-of-N downstream measures and cross-RM correlations (hand-computed values)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rmeval.correlation import coefficient, correlate, correlation_table
from rmeval.downstream import (
    DownstreamError,
    _pick_stats,
    best_of_n,
    downstream_summary,
    downstream_values,
    oracle_pools,
    split_prompts,
)


def pearson(x, y):
    return coefficient("pearson", x, y)[0]


def spearman(x, y):
    return coefficient("spearman", x, y)[0]


def kendall(x, y):  # tau-b (tie-corrected)
    return coefficient("kendall", x, y)[0]


def rmb_half_metrics(m: dict):
    """The benchmark-half metrics as the downstream stage computes them for an RMB-layout benchmark."""
    from rmeval.benchmarks.rmb import RMBBenchmark

    bench = RMBBenchmark(name="t")
    return bench, lambda half, scores=None, outcomes=None: bench.evaluate(half, scores=scores, outcomes=outcomes, metrics_cfg=m)


# ----------------------------------------------------------------------------------------- correlation
def test_coefficients_without_ties():
    x, y = [1, 2, 3, 4], [1, 3, 2, 4]
    assert pearson(x, y) == pytest.approx(0.8)
    assert spearman(x, y) == pytest.approx(0.8)
    assert kendall(x, y) == pytest.approx(4 / 6)  # 5 concordant, 1 discordant pair


def test_coefficients_with_ties():
    x, y = [1, 1, 2, 3], [1, 2, 2, 3]
    assert kendall(x, y) == pytest.approx(0.8)  # tau-b: 4 / sqrt(5 * 5)
    assert spearman(x, y) == pytest.approx(3.75 / 4.5)  # average ranks [1.5,1.5,3,4] vs [1,2.5,2.5,4]


def test_constant_input_gives_nan():
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))
    assert math.isnan(kendall([1, 1, 1], [1, 2, 3]))


def test_few_rms_give_nan_not_fake_certainty():
    two = correlate([0.1, 0.2], [1.0, 2.0], n_boot=100, level=0.95, seed=0)
    assert two["n_rms"] == 2 and math.isnan(two["pearson"]) and math.isnan(two["pearson_lo"])
    three = correlate([0.1, 0.2, 0.3], [1.0, 3.0, 2.0], n_boot=100, level=0.95, seed=0)
    assert three["spearman"] == pytest.approx(0.5) and math.isnan(three["spearman_lo"])  # no CI below 5 RMs


def test_bootstrap_ci_brackets_the_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    x = rng.normal(size=12)
    y = x + rng.normal(scale=0.5, size=12)
    a = correlate(x, y, n_boot=300, level=0.95, seed=7)
    b = correlate(x, y, n_boot=300, level=0.95, seed=7)
    assert a == b
    for m in ("pearson", "spearman", "kendall"):
        assert a[f"{m}_lo"] <= a[m] <= a[f"{m}_hi"]
    assert a["n_rms"] == 12


def test_correlation_table_skips_nan_rms():
    values = pd.DataFrame({"rm": list("abcdef"), "m": [0.1, 0.2, 0.3, 0.4, 0.5, np.nan], "d": [1, 2, 3, 4, 5, 6]})
    table = correlation_table(values, ["m"], ["d"], n_boot=50, level=0.95, seed=0)
    assert table.loc[0, "n_rms"] == 5 and table.loc[0, "pearson"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------- downstream
def test_split_is_stable_per_prompt_and_respects_the_fraction():
    prompts = [f"p{i}" for i in range(2000)]
    half = split_prompts(prompts, seed=0, downstream_fraction=0.5)
    assert half == split_prompts(list(reversed(prompts)), seed=0, downstream_fraction=0.5)
    assert 900 < len(half) < 1100
    assert split_prompts(prompts, 0, 0.0) == set() and split_prompts(prompts, 0, 1.0) == set(prompts)
    assert half != split_prompts(prompts, seed=1, downstream_fraction=0.5)


def test_pick_stats_golden():
    assert _pick_stats(np.array([0.1, 0.9, 0.5]), np.array([1.0, 3.0, 5.0])) == pytest.approx((3.0, 3.0, 5.0, 0.5))
    # RM tie between candidates 0 and 1: the pick is worth the mean of their oracle scores
    pick, rand, best, win = _pick_stats(np.array([1.0, 1.0, 0.0]), np.array([2.0, 4.0, 3.0]))
    assert (pick, rand, best) == pytest.approx((3.0, 3.0, 4.0))
    assert win == pytest.approx(((0 + 0.5) / 3 + (2 + 0.5) / 3) / 2)


def _items():
    # prompt A: 3 candidates (scores 5, 3, 1), prompt B: 2 candidates (4, 2), one conflicting rating of "a2"
    return pd.DataFrame({
        "item_id": ["i1", "i2", "i3", "i4"],
        "format": ["pairwise", "pairwise", "bon", "pairwise"],
        "goal": ["Helpfulness", "Helpfulness", "Helpfulness", "Harmlessness"],
        "task": ["t"] * 4, "scenario": ["s"] * 4,
        "prompt_id": ["A", "A", "A", "B"],
        "chosen_id": ["a1", "a2", "a1", "b1"],
        "rejected_ids": [["a2"], ["a3"], ["a2", "a3"], ["b2"]],
        "chosen_score": [5.0, 3.0, 5.0, 4.0],
        "rejected_scores": [[3.0], [1.0], [2.0, 1.0], [2.0]],
    })


def test_oracle_pools_average_conflicting_ratings():
    pools = oracle_pools(_items())
    got = dict(zip(pools["text_id"], pools["oracle"]))
    assert got == {"a1": 5.0, "a2": pytest.approx((3 + 3 + 2) / 3), "a3": 1.0, "b1": 4.0, "b2": 2.0}


def test_oracle_pools_need_judge_scores():
    items = _items().assign(chosen_score=np.nan, rejected_scores=[[np.nan]] * 3 + [[np.nan]])
    with pytest.raises(DownstreamError, match="no judge scores"):
        oracle_pools(items)


def test_best_of_n_full_pool_golden():
    pools = oracle_pools(_items())
    oracle_rm = dict(zip(pools["text_id"], pools["oracle"]))
    worst_rm = {k: -v for k, v in oracle_rm.items()}
    good = best_of_n(pools, oracle_rm, n_draws=5, seed=0, min_prompts=1).set_index(["goal", "n"])
    bad = best_of_n(pools, worst_rm, n_draws=5, seed=0, min_prompts=1).set_index(["goal", "n"])
    row = good.loc[("all", "pool")]
    assert row["n_prompts"] == 2
    assert row["mean_oracle"] == pytest.approx((5 + 4) / 2) and row["regret"] == pytest.approx(0.0)
    a_mean = (5 + 8 / 3 + 1) / 3
    assert row["mean_random"] == pytest.approx((a_mean + 3) / 2)
    assert row["win_rate"] == pytest.approx(((2 + 0.5) / 3 + (1 + 0.5) / 2) / 2)
    worst = bad.loc[("all", "pool")]
    assert worst["mean_oracle"] == pytest.approx((1 + 2) / 2) and worst["regret"] == pytest.approx((4 + 2) / 2)
    # N = 2 subsets of prompt A (pool of 3) are the same for every RM: same random and best means
    assert good.loc[("all", 2), "mean_random"] == pytest.approx(bad.loc[("all", 2), "mean_random"])
    assert good.loc[("all", 2), "mean_best"] == pytest.approx(bad.loc[("all", 2), "mean_best"])
    assert good.loc[("all", 2), "regret"] == pytest.approx(0.0)
    assert set(good.index.get_level_values("goal")) == {"all", "Helpfulness", "Harmlessness"}


def test_best_of_n_missing_score_names_the_text():
    pools = oracle_pools(_items())
    with pytest.raises(DownstreamError, match="a3"):
        best_of_n(pools, {"a1": 1.0, "a2": 0.5, "b1": 1.0, "b2": 0.0}, n_draws=2, seed=0, min_prompts=1)


def test_downstream_summary_keeps_the_halves_apart():
    rng = np.random.default_rng(0)
    rows = []
    for p in range(40):
        for k in range(2):
            rows.append({
                "item_id": f"i{p}-{k}", "format": "pairwise" if k == 0 else "bon",
                "goal": "Helpfulness" if p % 2 else "Harmlessness", "task": "t", "scenario": "s", "prompt_id": f"P{p}",
                "chosen_id": f"P{p}-c", "rejected_ids": [f"P{p}-r{j}" for j in range(1 + k)],
                "chosen_score": 5.0, "rejected_scores": [3.0 - j for j in range(1 + k)],
            })
    items = pd.DataFrame(rows)
    texts = sorted({t for r in rows for t in [r["chosen_id"], *r["rejected_ids"]]})
    scores = pd.DataFrame({"text_id": texts, "score": rng.normal(size=len(texts))})
    cfg = {"split_seed": 0, "downstream_fraction": 0.5, "n_draws": 3, "seed": 0, "min_prompts": 1}
    bench, evaluate_half = rmb_half_metrics({"n_boot": 50, "ci_level": 0.95, "seed": 0})
    summary = downstream_summary(items, scores, cfg, evaluate_half)
    split = summary["split"]
    assert split["n_prompts_benchmark"] + split["n_prompts_downstream"] == 40
    assert summary["pool"]["n_prompts"] == split["n_prompts_downstream"]
    assert summary["benchmark_half"]["n_items"] == split["n_items_benchmark"] == 2 * split["n_prompts_benchmark"]
    names = bench.metric_values(summary["benchmark_half"])
    assert set(names) >= {"Help-Pair micro", "Harm-BoN macro", "Overall micro"}
    assert set(downstream_values(summary)) >= {"mean_oracle@pool all", "win_rate@pool Helpfulness", "regret@pool Harmlessness"}


# ----------------------------------------------------------------------------------------- SciPy p-values
def test_p_values_equal_scipy():
    from scipy import stats as sps

    rng = np.random.default_rng(3)
    x = rng.normal(size=9)
    y = np.round(x + rng.normal(scale=0.8, size=9), 1)
    y[2] = y[5]  # a tie
    res = correlate(x, y, n_boot=200, level=0.95, seed=0)
    assert res["pearson_p"] == sps.pearsonr(x, y).pvalue and res["pearson"] == sps.pearsonr(x, y).statistic
    assert res["spearman_p"] == sps.spearmanr(x, y).pvalue and res["spearman"] == sps.spearmanr(x, y).statistic
    assert res["kendall_p"] == sps.kendalltau(x, y).pvalue and res["kendall"] == sps.kendalltau(x, y).statistic
    table = correlation_table(pd.DataFrame({"rm": list("abcdefghi"), "m": x, "d": y}), ["m"], ["d"], n_boot=50, level=0.95, seed=0)
    assert list(table.columns) == ["metric", "downstream", "n_rms", "pearson", "pearson_p", "pearson_lo", "pearson_hi",
                                   "spearman", "spearman_p", "spearman_lo", "spearman_hi", "kendall", "kendall_p", "kendall_lo", "kendall_hi"]
    assert table.loc[0, "kendall_p"] == sps.kendalltau(x, y).pvalue
    few = correlate([0.1, 0.2], [1.0, 2.0], n_boot=10, level=0.95, seed=0)
    assert math.isnan(few["pearson_p"]) and math.isnan(few["kendall_p"])


def test_batched_bootstrap_coefficients_equal_scipy_per_resample():
    from scipy import stats as sps

    from rmeval.correlation import batched

    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(40, 7)).astype(float)  # many ties, some constant rows
    y = rng.integers(0, 4, size=(40, 7)).astype(float)
    x[0] = 1.0
    funcs = {"pearson": sps.pearsonr, "spearman": sps.spearmanr, "kendall": sps.kendalltau}
    for name, fn in funcs.items():
        got = batched(name, x, y)
        assert math.isnan(got[0])
        for row in range(1, 40):
            if np.all(x[row] == x[row][0]) or np.all(y[row] == y[row][0]):
                assert math.isnan(got[row])
            else:
                assert got[row] == pytest.approx(fn(x[row], y[row]).statistic, abs=1e-12)


# ----------------------------------------------------------------------------------------- PPE lower quantile
def test_quantile_metric_values_hand_computed():
    from rmeval.downstream import quantile_metric_values

    def summary(rm, accs):
        rows = [{"goal": g, "format": "pairwise", "scenario": s, "accuracy": a} for (g, s), a in accs.items()]
        return {"rm": rm, "benchmark_half": {"by_scenario": rows}}

    # Helpfulness scenarios A, B and Harmlessness S1 over three RMs. A: 0.8/0.6/0.4 -> z = sqrt(1.5), 0, -sqrt(1.5);
    # B: 0.5/0.7/0.6 -> z = -sqrt(1.5), sqrt(1.5), 0; S1: all 0.9 -> z = 0.
    z = math.sqrt(1.5)
    summaries = [
        summary("a", {("Helpfulness", "A"): 0.8, ("Helpfulness", "B"): 0.5, ("Harmlessness", "S1"): 0.9}),
        summary("b", {("Helpfulness", "A"): 0.6, ("Helpfulness", "B"): 0.7, ("Harmlessness", "S1"): 0.9}),
        summary("c", {("Helpfulness", "A"): 0.4, ("Helpfulness", "B"): 0.6, ("Harmlessness", "S1"): 0.9}),
    ]
    out = quantile_metric_values(summaries, quantiles=(0.0, 0.5))
    assert out["a"]["All scenario z q=0"] == pytest.approx(-z)
    assert out["b"]["All scenario z q=0"] == pytest.approx(0.0)
    assert out["c"]["All scenario z q=0"] == pytest.approx(-z)
    assert out["c"]["Helpfulness scenario z q=0.5"] == pytest.approx(-z / 2)  # median of (-sqrt(1.5), 0)
    assert out["a"]["Harmlessness scenario z q=0"] == 0.0
    assert set(out["a"]) == {f"{s} scenario z q={q}" for s in ("All", "Harmlessness", "Helpfulness") for q in ("0", "0.5")}
    assert quantile_metric_values([{"rm": "x", "benchmark_half": {}}]) == {}


def test_downstream_summary_carries_scenarios_for_the_quantile_metrics():
    from rmeval.downstream import quantile_metric_values

    rows = [{"item_id": f"i{p}", "format": "pairwise", "goal": "Helpfulness", "task": "t", "scenario": f"s{p % 2}",
             "prompt_id": f"P{p}", "chosen_id": f"P{p}-c", "rejected_ids": [f"P{p}-r"], "chosen_score": 5.0,
             "rejected_scores": [3.0]} for p in range(30)]
    items = pd.DataFrame(rows)
    texts = sorted({t for r in rows for t in [r["chosen_id"], *r["rejected_ids"]]})
    cfg = {"split_seed": 0, "downstream_fraction": 0.5, "n_draws": 2, "seed": 0, "min_prompts": 1}
    summaries = []
    _, evaluate_half = rmb_half_metrics({"n_boot": 20, "ci_level": 0.95, "seed": 0})
    for rm, seed in (("a", 0), ("b", 1), ("c", 2)):
        scores = pd.DataFrame({"text_id": texts, "score": np.random.default_rng(seed).normal(size=len(texts))})
        summaries.append({"rm": rm, **downstream_summary(items, scores, cfg, evaluate_half)})
    assert summaries[0]["benchmark_half"]["ci"]["bootstrap"] == "cluster"
    values = quantile_metric_values(summaries, quantiles=(0.0,))
    assert set(values) == {"a", "b", "c"} and not any(math.isnan(v["All scenario z q=0"]) for v in values.values())


def correlation_inputs(n_rms: int = 5):
    """Downstream summaries of ``n_rms`` random RMs on a 30-prompt pairwise benchmark, and their RMB evaluator."""
    rows = [{"item_id": f"i{p}", "format": "pairwise", "goal": "Helpfulness" if p % 3 else "Harmlessness", "task": "t",
             "scenario": f"s{p % 2}", "prompt_id": f"P{p}", "chosen_id": f"P{p}-c", "rejected_ids": [f"P{p}-r"],
             "chosen_score": 5.0, "rejected_scores": [3.0]} for p in range(30)]
    items = pd.DataFrame(rows)
    texts = sorted({t for r in rows for t in [r["chosen_id"], *r["rejected_ids"]]})
    cfg = {"split_seed": 0, "downstream_fraction": 0.5, "n_draws": 2, "seed": 0, "min_prompts": 1}
    bench, evaluate_half = rmb_half_metrics({"n_boot": 20, "ci_level": 0.95, "seed": 0})
    summaries = []
    for k in range(n_rms):
        scores = pd.DataFrame({"text_id": texts, "score": np.random.default_rng(k).normal(size=len(texts))})
        summaries.append({"benchmark": "pool", "rm": f"rm{k}", **downstream_summary(items, scores, cfg, evaluate_half)})
    return bench, summaries


def test_benchmark_correlation_crosses_every_metric_with_every_measure():
    from rmeval.correlation import benchmark_correlation

    bench, summaries = correlation_inputs()
    table, points, n_rms = benchmark_correlation(summaries, bench.metric_values, [0.0], n_boot=20, level=0.9, seed=0)
    metrics = [*bench.metric_values(summaries[0]["benchmark_half"]), "All scenario z q=0", "Harmlessness scenario z q=0",
               "Helpfulness scenario z q=0"]
    measures = sorted(downstream_values(summaries[0]))
    assert n_rms == 5 and list(dict.fromkeys(table["metric"])) == metrics
    assert len(table) == len(metrics) * len(measures) and len(points) == len(table) * n_rms
    assert list(table.columns[:3]) == ["metric", "downstream", "n_rms"]


def test_cross_benchmark_correlation_keeps_the_pools_half_and_splits_names():
    from rmeval.correlation import cross_benchmark_correlation

    _, summaries = correlation_inputs(4)
    full = [{"benchmark": b, "rm": s["rm"], "headline": {"columns": ["Accuracy"], "values": {"Accuracy": {"accuracy": v}}}}
            for b in ("pool", "other") for s, v in zip(summaries, (0.1, 0.4, 0.3, 0.2))]
    table, points, n_rms = cross_benchmark_correlation(summaries, full, n_boot=20, level=0.9, seed=0)
    assert n_rms == 4 and list(table.columns[:4]) == ["benchmark", "metric", "pool", "downstream"]
    assert set(table["benchmark"]) == {"pool", "other"} and set(table["pool"]) == {"pool"}
    other = points[points["benchmark"] == "other"]
    assert set(other["metric"]) == {"Accuracy"} and sorted(set(other["x"])) == [0.1, 0.2, 0.3, 0.4]
    own = points[(points["benchmark"] == "pool") & (points["metric"] == "Help-Pair")]  # the benchmark half's
    assert list(own["x"]) == [s["benchmark_half"]["headline"]["values"]["Help-Pair"]["accuracy"]
                              for _ in downstream_values(summaries[0]) for s in summaries]
