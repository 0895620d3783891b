"""rmeval.plots: the registry lists every figure, each one is written as a readable PNG and a PDF, also for edge
cases (a single RM, None/NaN values, an RM without downstream data, an empty correlation table), and importing the
package or the plot stage pulls in no torch or transformers (nor, for the package, matplotlib or pandas)."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image as mpimg  # noqa: E402

from rmeval import plots  # noqa: E402
from rmeval.plots import PlotData, draw_all  # noqa: E402
from rmeval.plots._common import wrap  # noqa: E402
from rmeval.plots.accuracy_by_gap import plot_accuracy_by_gap  # noqa: E402
from rmeval.plots.bon_curves import plot_bon_curves  # noqa: E402
from rmeval.plots.correlation_heatmap import plot_correlation_heatmap  # noqa: E402
from rmeval.plots.correlation_scatter import coef_text, headline_pairs, plot_correlation_scatter  # noqa: E402
from rmeval.plots.leaderboard import plot_leaderboard  # noqa: E402
from rmeval.plots.pairwise_vs_bon import plot_pairwise_vs_bon  # noqa: E402
from rmeval.plots.scenario_heatmap import plot_scenario_heatmap  # noqa: E402

REPORT = Path(__file__).resolve().parents[2] / "workflow" / "report"
FIGURE_NAMES = {"leaderboard", "scenario_heatmap", "pairwise_vs_bon", "accuracy_by_gap", "bon_curves",
                "correlation_scatter", "correlation_heatmap", "significance_matrix", "position_bias"}
# A benchmark scored by goal x format components whose mean is the primary column (RMB's shape).
GOALS = ("Helpfulness", "Harmlessness")
COMPONENTS = {"Help-BoN": ("Helpfulness", "bon"), "Help-Pair": ("Helpfulness", "pairwise"),
              "Harm-BoN": ("Harmlessness", "bon"), "Harm-Pair": ("Harmlessness", "pairwise")}
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
    """One RM's metrics as the metrics stage writes them: goals, overall, breakdowns and the headline block."""
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
    values = {c: {**_acc(goals[g][f]["accuracy"]), "n_items": 100, "chance": goals[g][f]["chance"]}
              for c, (g, f) in COMPONENTS.items()}
    values["Overall"] = {**_acc(overall), "n_items": 400, "chance": None}
    return {"benchmark": "rmb", "rm": rm, "goals": goals,
            "overall": {"components": list(COMPONENTS), "micro": _acc(overall), "macro": _acc(overall),
                        "accuracy": overall},
            "by_scenario": by_scenario, "by_judge_gap": by_gap,
            "headline": {"primary": "Overall", "columns": [*COMPONENTS, "Overall"], "values": values}}


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
    return PlotData(metrics=metrics, downstream=downstream, correlation=correlation, points=points)


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


def assert_all_drawn(out: dict, out_dir: Path, names) -> None:
    assert set(out) == set(names)
    assert len(list(out_dir.iterdir())) == 2 * len(names)
    for paths in out.values():
        assert_figure(paths)


def test_registry_lists_the_nine_figures_with_their_report_captions():
    assert set(plots.figure_names()) == FIGURE_NAMES
    assert plots.figure_names(judged=False) == ["leaderboard", "scenario_heatmap"]
    assert [(f.name, f.stem) for f in plots.figures(scope="all")] == [("correlation_all", "correlation_heatmap")]
    for scope in plots.SCOPES:
        for fig in plots.figures(scope=scope):
            assert (REPORT / fig.caption).is_file(), fig
            assert fig.category in ("Benchmark", "Downstream", "Statistics"), fig
    with pytest.raises(ValueError, match="unknown"):
        draw_all(PlotData(), "unused", ["leaderbord"])


@pytest.fixture(scope="module")
def drawn(inputs, tmp_path_factory):
    """draw_all on the three-RM inputs, once for the module (drawing is the slow part)."""
    out_dir = tmp_path_factory.mktemp("plots")
    return out_dir, draw_all(inputs, out_dir)


def test_every_registered_figure_draws(drawn):
    out_dir, out = drawn
    assert_all_drawn(out, out_dir, FIGURE_NAMES)
    for name, paths in out.items():
        assert paths == [out_dir / f"{name}.png", out_dir / f"{name}.pdf"]


def test_cross_benchmark_heatmap(inputs, tmp_path):
    table = inputs.correlation.assign(benchmark="rmb", pool="rmb")
    out = draw_all(PlotData(correlation=table), tmp_path, plots.figure_names(scope="all"))
    assert out == {"correlation_all": [tmp_path / "correlation_heatmap.png", tmp_path / "correlation_heatmap.pdf"]}
    assert_figure(out["correlation_all"])


@pytest.mark.parametrize("method", ["pearson", "kendall"])
def test_correlation_heatmap_other_methods(inputs, tmp_path, method):
    # The out prefix may contain dots and missing folders: ".png"/".pdf" are appended, folders created.
    prefix = tmp_path / "nested" / "rmb.v1" / f"corr_{method}"
    paths = plot_correlation_heatmap(inputs.correlation, prefix, method=method)
    assert paths == [prefix.parent / f"corr_{method}.png", prefix.parent / f"corr_{method}.pdf"]
    assert_figure(paths)


def test_unknown_correlation_method_is_an_error(inputs, tmp_path):
    with pytest.raises(ValueError, match="method"):
        plot_correlation_heatmap(inputs.correlation, tmp_path / "x", method="cosine")


def test_headline_pairs_match_columns_to_goals(inputs):
    pairs = headline_pairs(inputs.points, "Overall")[["metric", "downstream"]].drop_duplicates()
    assert pairs.values.tolist() == [["Overall micro", "mean_oracle@max all"]]
    help_pair = inputs.points.assign(metric="Help-Pair micro")
    assert len(headline_pairs(help_pair, "Overall")) == len(RMS)  # the Helpfulness win rate only


def test_single_rm_and_empty_correlation(inputs, tmp_path):
    empty_corr = pd.DataFrame(columns=CORR_COLUMNS)
    empty_points = pd.DataFrame(columns=["rm", "metric", "downstream", "x", "y"])
    # One RM, judged on one goal only downstream and by judge gap (fewer panels: keeps the test fast).
    one = copy.deepcopy(inputs.metrics[0])
    one["by_judge_gap"] = [r for r in one["by_judge_gap"] if r["goal"] == "Helpfulness"]
    one_down = {**inputs.downstream[0], "bon": [r for r in inputs.downstream[0]["bon"] if r["goal"] == "all"]}
    data = PlotData(metrics=[one], downstream=[one_down], correlation=empty_corr, points=empty_points)
    assert_all_drawn(draw_all(data, tmp_path / "one"), tmp_path / "one", FIGURE_NAMES)


def test_missing_values_and_rm_without_downstream(inputs, tmp_path):
    metrics = copy.deepcopy(list(inputs.metrics))
    metrics[0]["headline"]["values"]["Help-BoN"].update(accuracy=None, ci_low=None, ci_high=None)
    metrics[1]["headline"]["values"]["Harm-Pair"].update(ci_low=float("nan"), ci_high=None)
    metrics[1]["headline"]["values"]["Overall"] = {"accuracy": None, "ci_low": None, "ci_high": None}
    metrics[0]["goals"]["Helpfulness"]["bon"].update(accuracy=None, ci_low=None, ci_high=None)
    metrics[2]["by_scenario"][0]["accuracy"] = float("nan")
    metrics[2]["by_scenario"] = metrics[2]["by_scenario"][:4]
    metrics[2]["by_judge_gap"] = []
    metrics[0]["by_judge_gap"][1]["accuracy"] = None
    downstream = copy.deepcopy(list(inputs.downstream))
    downstream[1]["bon"] = []  # an RM with no downstream data
    downstream[0]["bon"][0]["mean_oracle"] = None
    correlation = inputs.correlation.copy()
    correlation.loc[0, ["pearson", "spearman", "kendall"]] = np.nan
    correlation.loc[1, "n_rms"] = np.nan
    points = inputs.points.copy()
    points.loc[0, "x"] = np.nan
    points.loc[1, "y"] = None
    data = PlotData(metrics=metrics, downstream=downstream, correlation=correlation, points=points)
    assert_all_drawn(draw_all(data, tmp_path / "nan"), tmp_path / "nan", FIGURE_NAMES)


def test_degenerate_inputs_draw_a_message_instead_of_failing(inputs, tmp_path):
    points, correlation = inputs.points, inputs.correlation
    assert_figure(plot_leaderboard([], tmp_path / "lb"))
    assert_figure(plot_leaderboard([{"rm": "no headline"}], tmp_path / "lb2"))
    assert_figure(plot_scenario_heatmap([{"rm": "x"}], tmp_path / "sh"))
    assert_figure(plot_pairwise_vs_bon([{"rm": "x", "goals": {}}], tmp_path / "pb"))
    assert_figure(plot_accuracy_by_gap([{"rm": "x", "by_judge_gap": []}], tmp_path / "gap"))
    assert_figure(plot_bon_curves([{"rm": "x", "bon": []}], tmp_path / "bon"))
    # Points without correlation rows, no points at all, a table without columns: "not enough RMs".
    assert_figure(plot_correlation_scatter(points, pd.DataFrame(columns=CORR_COLUMNS), tmp_path / "cs1"))
    assert_figure(plot_correlation_scatter(None, correlation, tmp_path / "cs2"))
    assert_figure(plot_correlation_heatmap(pd.DataFrame(), tmp_path / "ch"))
    # No inputs at all: every figure explains itself.
    assert_all_drawn(draw_all(PlotData(), tmp_path / "none"), tmp_path / "none", FIGURE_NAMES)


def test_title_formatting_shows_na_for_missing_coefficients():
    row = {"pearson": 0.5, "spearman": float("nan"), "kendall": None, "n_rms": 4}
    assert coef_text(row) == "r=0.50, ρ=n/a, τ=n/a (n=4)"
    assert coef_text(None) == "r=n/a, ρ=n/a, τ=n/a (n=n/a)"


def test_wrap_breaks_long_names_without_losing_characters():
    name = "Skywork/Skywork-Reward-Llama-3.1-8B-v0.2-with-a-really-long-suffix"
    wrapped = wrap(name, 20)
    assert max(len(line) for line in wrapped.split("\n")) <= 20
    assert wrapped.replace("\n", "") == name


_IMPORTS = """
import json, sys
import rmeval.plots as plots
plots.figure_names(); plots.figure_names(scope="all")
package = [m for m in ("matplotlib", "pandas", "numpy", "torch", "transformers") if m in sys.modules]
import rmeval.stages.plots
plots.draw_all(plots.PlotData(), sys.argv[1])  # every figure (message figures: no inputs)
print(json.dumps([package, [m for m in ("torch", "transformers") if m in sys.modules]]))
"""


def test_importing_and_drawing_pulls_in_no_torch(tmp_path):
    """The Snakefile imports rmeval.plots (and lists its figures) at every dry run; plot jobs draw with matplotlib
    only. A fresh interpreter, so nothing another test imported counts."""
    run = subprocess.run([sys.executable, "-c", _IMPORTS, str(tmp_path)], capture_output=True, text=True, check=True)
    package, stage = json.loads(run.stdout)
    assert package == [], f"importing rmeval.plots imported {package}"
    assert stage == [], f"importing the plot stage and drawing imported {stage}"
