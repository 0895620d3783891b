"""The statistics figures: pairwise-difference matrix and pairwise judges' position bias (PNG + PDF, edge cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image as mpimg  # noqa: E402

from rmeval.plots.position_bias import plot_position_bias  # noqa: E402
from rmeval.plots.significance_matrix import plot_significance_matrix  # noqa: E402
from rmeval.benchmarks.rmb import RMBBenchmark  # noqa: E402
from rmeval.metrics.paired import component_columns, paired_comparisons  # noqa: E402


def _outcomes(correct):
    n = len(correct)
    return pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "prompt_id": [f"q{k // 2}" for k in range(n)],
                         "format": ["pairwise", "bon"] * (n // 2), "goal": "Helpfulness", "task": "T", "scenario": "S",
                         "n_losers": 1, "correct": correct, "tie": False, "invalid": False})


def _check(paths):
    png, pdf = paths
    assert png.suffix == ".png" and pdf.suffix == ".pdf" and pdf.stat().st_size > 1000
    assert mpimg.imread(png).shape[0] > 100


def test_significance_matrix(tmp_path):
    rng = np.random.default_rng(0)
    frames = {name: _outcomes(list(rng.random(40) < p)) for name, p in (("strong-rm", 0.9), ("mid", 0.6), ("weak", 0.3))}
    table = paired_comparisons(frames, component_columns(RMBBenchmark.components)[:2], n_boot=100, seed=0)
    _check(plot_significance_matrix(table, tmp_path / "sig", column="Help-Pair"))
    _check(plot_significance_matrix(table, tmp_path / "sig_mcnemar", column="Help-Pair", test="mcnemar"))
    _check(plot_significance_matrix(table, tmp_path / "none", column="Overall"))  # no rows: a message figure
    _check(plot_significance_matrix(pd.DataFrame(), tmp_path / "empty", column="Overall"))


def test_position_bias(tmp_path):
    judge = {"n_comparisons": 10, "verdicts": {"A": 6, "B": 3, "tie": 1, "invalid": 0}, "share_A_among_valid": 0.667,
             "win_rate_chosen_shown_as_A": 0.8, "win_rate_chosen_shown_as_B": 0.5, "consistency_rate": None}
    metrics = [{"benchmark": "rmb", "rm": "judge-a", "judge": judge}, {"benchmark": "rmb", "rm": "length"},
               {"benchmark": "rmb", "rm": "judge-b", "judge": {**judge, "consistency_rate": 0.7}}]
    _check(plot_position_bias(metrics, tmp_path / "pos"))
    _check(plot_position_bias(metrics[1:2], tmp_path / "no_judge"))
