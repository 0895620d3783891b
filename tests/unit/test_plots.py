"""Smoke tests for rmeval.plots: every figure is written as a readable PNG and a PDF, also for edge cases
(a single RM, None/NaN values, an RM without downstream data, an empty correlation table)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image as mpimg  # noqa: E402

from rmeval import plots  # noqa: E402

GOALS = ("Helpfulness", "Harmlessness")
SCENARIOS = {
    ("Helpfulness", "bon"): ["Code Generation", "Technical and Scientific Translation", "Creative Writing"],
    ("Helpfulness", "pairwise"): ["Code Generation", "Personal Opinion and Advice"],
    ("Harmlessness", "bon"): ["S1 Violent Crimes", "S10 Suicide & Self-Harm"],
    ("Harmlessness", "pairwise"): ["S1 Violent Crimes", "S2 Non-Violent Crimes", "multi Multiple Hazards"],
}
RMS = ("Skywork/Skywork-Reward-Llama-3.1-8B-v0.2-with-a-really-long-suffix", "length", "random")
CORR_COLUMNS = ["metric", "downstream", "n_rms", "pearson", "pearson_lo", "pearson_hi", "spearman", "spearman_lo",
                "spearman_hi", "kendall", "kendall_lo", "kendall_hi"]


def _acc(value):
    return {"accuracy": value, "ci_low": value - 0.03, "ci_high": value + 0.03}


def make_metrics(rm: str, skill: float) -> dict:
    goals = {}
    for g in GOALS:
        goals[g] = {}
        for fmt, chance in (("pairwise", 0.5), ("bon", 0.31)):
            acc = chance + skill
            goals[g][fmt] = {**_acc(acc), "n_items": 100, "chance": chance,
                             "macro": {**_acc(acc + 0.01), "n_scenarios": len(SCENARIOS[(g, fmt)])}}
    overall = float(np.mean([goals[g][f]["accuracy"] for g in GOALS for f in ("pairwise", "bon")]))
    by_scenario = [
        {"goal": g, "format": f, "scenario": s, "n_items": 10, "accuracy": min(1.0, goals[g][f]["accuracy"] + 0.02 * i),
         "ci_low": 0.1, "ci_high": 0.9, "chance": goals[g][f]["chance"]}
        for (g, f), names in SCENARIOS.items() for i, s in enumerate(names)
    ]
    by_gap = [{"goal": g, "gap": gap, "n_items": 50, "accuracy": 0.5 + skill * gap}
              for g in GOALS for gap in (0.5, 1.0, 1.5, 2.0, 2.5)]
    return {"benchmark": "rmb", "rm": rm, "goals": goals,
            "overall": {"micro": _acc(overall), "macro": _acc(overall), "accuracy": overall},
            "by_scenario": by_scenario, "by_judge_gap": by_gap}


def make_downstream(rm: str, skill: float) -> dict:
    rows = []
    for goal in ("all", *GOALS):
        for n in (2, 4, 8, 12):
            best = 3.0 + 0.3 * math.log2(n)
            picked = 3.0 + skill * (best - 3.0)
            rows.append({"goal": goal, "n": n, "n_prompts": 40, "mean_oracle": picked, "mean_random": 3.0,
                         "mean_best": best, "win_rate": 0.5 + skill / 2, "regret": best - picked})
    return {"benchmark": "rmb", "rm": rm, "bon": rows}


def make_correlation(metrics: list[dict], downstream: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    metric_fns = {
        "Overall micro": lambda m: m["overall"]["micro"]["accuracy"],
    }
    down_fns = {
        "mean_oracle@max all": ("mean_oracle", "all"),
        "win_rate@max Helpfulness": ("win_rate", "Helpfulness"),
    }
    points, rows = [], []
    for mname, fn in metric_fns.items():
        for dname, (measure, goal) in down_fns.items():
            for m, d in zip(metrics, downstream):
                y = [r[measure] for r in d["bon"] if r["goal"] == goal][-1]
                points.append({"rm": m["rm"], "metric": mname, "downstream": dname, "x": fn(m), "y": y})
            rows.append({"metric": mname, "downstream": dname, "n_rms": len(metrics), "pearson": 0.9,
                         "pearson_lo": 0.2, "pearson_hi": 1.0, "spearman": 1.0, "spearman_lo": np.nan,
                         "spearman_hi": np.nan, "kendall": 1.0, "kendall_lo": -1.0, "kendall_hi": 1.0})
    return pd.DataFrame(points), pd.DataFrame(rows, columns=CORR_COLUMNS)


@pytest.fixture(scope="module")
def inputs():
    skills = (0.15, 0.05, 0.0)
    metrics = [make_metrics(rm, s) for rm, s in zip(RMS, skills)]
    downstream = [make_downstream(rm, s) for rm, s in zip(RMS, skills)]
    points, correlation = make_correlation(metrics, downstream)
    return metrics, downstream, correlation, points


def assert_figure(paths: list[Path]) -> None:
    assert len(paths) == 2
    png, pdf = paths
    assert png.suffix == ".png" and pdf.suffix == ".pdf"
    for p in paths:
        assert p.is_file() and p.stat().st_size > 0, p
    assert pdf.read_bytes()[:5] == b"%PDF-"
    image = mpimg.imread(png)
    height, width = image.shape[:2]
    assert width >= 600 and height >= 300, (png, width, height)


@pytest.fixture(scope="module")
def drawn(inputs, tmp_path_factory):
    """draw_all on the three-RM inputs, once for the module (drawing is the slow part)."""
    metrics, downstream, correlation, points = inputs
    out_dir = tmp_path_factory.mktemp("plots")
    return out_dir, plots.draw_all(metrics, downstream, correlation, points, out_dir)


def test_draw_all_writes_fourteen_files(drawn):
    out_dir, out = drawn
    assert list(out) == list(plots.PLOT_NAMES)
    assert len(list(out_dir.iterdir())) == 14
    for name, paths in out.items():
        assert paths == [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]
        assert_figure(paths)


@pytest.mark.parametrize("method", ["pearson", "kendall"])
def test_correlation_heatmap_other_methods(inputs, tmp_path, method):
    # The out prefix may contain dots and missing folders: ".png"/".pdf" are appended, folders created.
    prefix = tmp_path / "nested" / "rmb.v1" / f"corr_{method}"
    paths = plots.plot_correlation_heatmap(inputs[2], prefix, method=method)
    assert paths == [prefix.parent / f"corr_{method}.png", prefix.parent / f"corr_{method}.pdf"]
    assert_figure(paths)


def test_unknown_correlation_method_is_an_error(inputs, tmp_path):
    with pytest.raises(ValueError, match="method"):
        plots.plot_correlation_heatmap(inputs[2], tmp_path / "x", method="cosine")


def test_single_rm_and_empty_correlation(inputs, tmp_path):
    metrics, downstream, correlation, points = inputs
    empty_corr = pd.DataFrame(columns=CORR_COLUMNS)
    empty_points = pd.DataFrame(columns=["rm", "metric", "downstream", "x", "y"])
    # One RM, judged on one goal only downstream and by judge gap (fewer panels: keeps the test fast).
    one = copy.deepcopy(metrics[0])
    one["by_judge_gap"] = [r for r in one["by_judge_gap"] if r["goal"] == "Helpfulness"]
    one_down = {**downstream[0], "bon": [r for r in downstream[0]["bon"] if r["goal"] == "all"]}
    out = plots.draw_all([one], [one_down], empty_corr, empty_points, tmp_path / "one")
    assert len(list((tmp_path / "one").iterdir())) == 14
    for paths in out.values():
        assert_figure(paths)


def test_missing_values_and_rm_without_downstream(inputs, tmp_path):
    metrics, downstream, correlation, points = inputs
    metrics = copy.deepcopy(metrics)
    metrics[0]["goals"]["Helpfulness"]["bon"].update(accuracy=None, ci_low=None, ci_high=None)
    metrics[1]["goals"]["Harmlessness"]["pairwise"].update(ci_low=float("nan"), ci_high=None)
    metrics[1]["overall"]["micro"] = {"accuracy": None, "ci_low": None, "ci_high": None}
    metrics[2]["by_scenario"][0]["accuracy"] = float("nan")
    metrics[2]["by_scenario"] = metrics[2]["by_scenario"][:4]
    metrics[2]["by_judge_gap"] = []
    metrics[0]["by_judge_gap"][1]["accuracy"] = None
    downstream = copy.deepcopy(downstream)
    downstream[1]["bon"] = []  # an RM with no downstream data
    downstream[0]["bon"][0]["mean_oracle"] = None
    correlation = correlation.copy()
    correlation.loc[0, ["pearson", "spearman", "kendall"]] = np.nan
    correlation.loc[1, "n_rms"] = np.nan
    points = points.copy()
    points.loc[0, "x"] = np.nan
    points.loc[1, "y"] = None
    out = plots.draw_all(metrics, downstream, correlation, points, tmp_path / "nan")
    assert len(list((tmp_path / "nan").iterdir())) == 14
    for paths in out.values():
        assert_figure(paths)


def test_degenerate_inputs_draw_a_message_instead_of_failing(inputs, tmp_path):
    points, correlation = inputs[3], inputs[2]
    assert_figure(plots.plot_leaderboard([], tmp_path / "lb"))
    assert_figure(plots.plot_scenario_heatmap([{"rm": "x"}], tmp_path / "sh"))
    assert_figure(plots.plot_pairwise_vs_bon([{"rm": "x", "goals": {}}], tmp_path / "pb"))
    assert_figure(plots.plot_accuracy_by_gap([{"rm": "x", "by_judge_gap": []}], tmp_path / "gap"))
    assert_figure(plots.plot_bon_curves([{"rm": "x", "bon": []}], tmp_path / "bon"))
    # Points without correlation rows, no points at all, a table without columns: "not enough RMs".
    assert_figure(plots.plot_correlation_scatter(points, pd.DataFrame(columns=CORR_COLUMNS), tmp_path / "cs1"))
    assert_figure(plots.plot_correlation_scatter(None, correlation, tmp_path / "cs2"))
    assert_figure(plots.plot_correlation_heatmap(pd.DataFrame(), tmp_path / "ch"))


def test_title_formatting_shows_na_for_missing_coefficients():
    row = {"pearson": 0.5, "spearman": float("nan"), "kendall": None, "n_rms": 4}
    assert plots._coef_text(row) == "r=0.50, ρ=n/a, τ=n/a (n=4)"
    assert plots._coef_text(None) == "r=n/a, ρ=n/a, τ=n/a (n=n/a)"


def test_wrap_breaks_long_names_without_losing_characters():
    name = "Skywork/Skywork-Reward-Llama-3.1-8B-v0.2-with-a-really-long-suffix"
    wrapped = plots._wrap(name, 20)
    assert max(len(line) for line in wrapped.split("\n")) <= 20
    assert wrapped.replace("\n", "") == name
