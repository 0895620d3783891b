"""Which data a correlation comes from, and the ranked summary a reader starts from (rmeval.correlation).

Every correlation row and point names its metric's data (a pool's own benchmark: its benchmark half; any other
benchmark: all items); ``correlation_summary`` ranks the relations by |ρ| with CIs and n RMs and warns below 8 RMs;
the heatmap gives each cell's n and the half in its title; the correlation stage writes the summary next to the CSV.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rmeval.correlation import (
    ALL_ITEMS,
    BENCHMARK_HALF,
    FEW_RMS,
    benchmark_correlation,
    correlation_summary,
    cross_benchmark_correlation,
    headline_values,
    split_lines,
)

SPLIT = {"seed": 0, "downstream_fraction": 0.5, "n_prompts_benchmark": 10, "n_prompts_downstream": 12,
         "n_items_benchmark": 14}


def headline(acc: float) -> dict:
    return {"columns": ["Accuracy"], "values": {"Accuracy": {"accuracy": acc}}}


def summary(rm: str, half_acc: float, oracle: float, benchmark: str = "pool") -> dict:
    """A downstream summary as results/downstream/{benchmark}/{rm}.json holds it (the keys correlation reads)."""
    bon = [{"n": "pool", "goal": "all", "mean_oracle": oracle, "win_rate": oracle / 5, "regret": 5 - oracle}]
    return {"benchmark": benchmark, "rm": rm, "split": SPLIT, "bon": bon, "benchmark_half": {"headline": headline(half_acc)}}


# Five RMs: the half's accuracy rises with the pick quality; the other benchmark's accuracy falls with it.
HALF = (0.2, 0.4, 0.5, 0.7, 0.9)
ORACLE = (3.0, 3.2, 3.5, 3.9, 4.4)
OTHER = (0.9, 0.7, 0.6, 0.3, 0.1)
SUMMARIES = [summary(f"rm{k}", h, o) for k, (h, o) in enumerate(zip(HALF, ORACLE))]
# The pool's own full-data metrics must not be used (its half is): give them the reverse order to tell them apart.
METRICS = [{"benchmark": b, "rm": f"rm{k}", "headline": headline(v)}
           for b, values in (("pool", HALF[::-1]), ("other", OTHER)) for k, v in enumerate(values)]
SETTINGS = {"n_boot": 50, "level": 0.95, "seed": 0}


def test_cross_benchmark_rows_and_points_name_their_data():
    table, points, n_rms = cross_benchmark_correlation(SUMMARIES, METRICS, **SETTINGS)
    assert n_rms == 5 and list(table.columns[:6]) == ["benchmark", "metric", "pool", "downstream", "n_rms", "metric_data"]
    assert dict(zip(table["benchmark"], table["metric_data"])) == {"pool": BENCHMARK_HALF, "other": ALL_ITEMS}
    assert dict(zip(points["benchmark"], points["metric_data"])) == {"pool": BENCHMARK_HALF, "other": ALL_ITEMS}
    own = table[(table["benchmark"] == "pool") & (table["downstream"] == "mean_oracle@pool all")]
    assert own["spearman"].iloc[0] == pytest.approx(1.0)  # the half's values (the full ones would give -1)
    other = table[(table["benchmark"] == "other") & (table["downstream"] == "mean_oracle@pool all")]
    assert other["spearman"].iloc[0] == pytest.approx(-1.0)


def test_a_benchmark_correlation_is_on_the_benchmark_half_throughout():
    table, points, _ = benchmark_correlation(SUMMARIES, headline_values, [], **SETTINGS)
    assert set(table["metric_data"]) == set(points["metric_data"]) == {BENCHMARK_HALF}
    assert len(table) == 3 and table["n_rms"].tolist() == [5, 5, 5]


def test_split_lines_give_the_halves_sizes_and_the_other_benchmarks():
    pool, other = split_lines(SUMMARIES, ["other"])
    assert pool.startswith("pool: metrics on the benchmark half (50% of the prompts: 10 prompts, 14 items)")
    assert "held-out half (12 prompts; downstream.downstream_fraction=0.5, split_seed=0)" in pool
    assert "leaderboard uses all items" in pool
    assert other.startswith("other: metrics on all items")
    assert split_lines(SUMMARIES) == [pool]


def relations(rhos, n_rms=5, lo=-0.5, hi=0.99) -> pd.DataFrame:
    """A correlation table with the given Spearman ρ per relation (metric m<k> against measure d)."""
    rows = [{"metric": f"m{k}", "downstream": "d", "n_rms": n_rms, "metric_data": BENCHMARK_HALF, "spearman": r,
             "spearman_p": 0.0004 if k == 0 else 0.2, "spearman_lo": lo, "spearman_hi": hi} for k, r in enumerate(rhos)]
    return pd.DataFrame(rows)


def section(text: str, heading: str) -> list[str]:
    """The table rows under the heading that starts with ``heading``."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(heading))
    rows = []
    for ln in lines[start + 4:]:  # heading, blank, header, separator
        if not ln.startswith("|"):
            break
        rows.append(ln)
    return rows


def test_summary_ranks_by_absolute_coefficient_strongest_and_weakest():
    table = relations([0.3, -0.95, 0.1, float("nan"), 0.9, -0.5])
    text = correlation_summary(table, "t", ["pool: the half"], level=0.95, n_boot=50, rows=2)
    strongest = section(text, "## The 2 strongest of 5 relations")
    weakest = section(text, "## The 2 weakest")
    assert [r.split("|")[2].strip() for r in strongest] == ["m1", "m4"]  # -0.95, then 0.9
    assert [r.split("|")[2].strip() for r in weakest] == ["m2", "m0"]  # 0.1, then 0.3
    assert strongest[0] == "| 1 | m1 | benchmark half | d | -0.95 [-0.50, 0.99] | 0.200 | 5 |"
    assert weakest[1].endswith("| +0.30 [-0.50, 0.99] | < 0.001 | 5 |")
    assert "1 of 6 relations have no ρ" in text and "- pool: the half" in text
    assert "about 0 would reach p < 0.05" not in text and "not adjusted for the 5 relations" in text


def test_summary_lists_everything_once_when_short_and_says_when_there_is_no_ci():
    text = correlation_summary(relations([0.2, -0.7], lo=float("nan")), "t", [], level=0.9, n_boot=50, rows=2)
    rows = section(text, "## All 2 relations, strongest first")
    assert [r.split("|")[2].strip() for r in rows] == ["m1", "m0"]
    assert "-0.70 no CI" in rows[0] and "ρ [90% CI]" in text and "strongest of" not in text


@pytest.mark.parametrize("n_rms, warned", [(3, True), (FEW_RMS - 1, True), (FEW_RMS, False), (20, False)])
def test_summary_warns_plainly_below_eight_rms(n_rms, warned):
    text = correlation_summary(relations([0.5, 0.1], n_rms=n_rms), "t", [], level=0.95, n_boot=50)
    assert (f"**Warning: only {n_rms} RMs.**" in text) is warned
    assert ("Warning" in text) is warned


def test_summary_warning_counts_the_rms_behind_coefficients_not_empty_rows():
    table = pd.concat([relations([0.5], n_rms=6), relations([float("nan")], n_rms=0)], ignore_index=True)
    assert "only 6 RMs" in correlation_summary(table, "t", [], level=0.95, n_boot=50)


def test_summary_without_any_coefficient_says_so():
    text = correlation_summary(relations([float("nan")] * 2, n_rms=2), "t", [], level=0.95, n_boot=50)
    assert "No relation has a ρ" in text and "|---" not in text and "only 2 RMs" in text


def test_summary_of_a_cross_benchmark_table_names_benchmark_and_pool():
    table, _, _ = cross_benchmark_correlation(SUMMARIES, METRICS, **SETTINGS)
    text = correlation_summary(table, "all", split_lines(SUMMARIES, ["other"]), level=0.95, n_boot=50, rows=3,
                               source="all.csv")
    assert "| pool: Accuracy | benchmark half | pool: mean_oracle@pool all | +1.00" in text
    assert "| other: Accuracy | all items | pool: mean_oracle@pool all | -1.00" in text
    assert "is in all.csv" in text and "**Warning: only 5 RMs.**" in text


def test_summary_refuses_an_unknown_method():
    with pytest.raises(ValueError, match="method 'cosine'"):
        correlation_summary(relations([0.5]), "t", [], level=0.95, n_boot=50, method="cosine")


# ----------------------------------------------------------------------------------------------- figures
def figure_texts(monkeypatch, module) -> list[str]:
    """Patch ``module.save`` to record every text of the figure instead of writing files."""
    from matplotlib.text import Text

    texts: list[str] = []

    def fake_save(fig, out):
        texts.extend(t.get_text() for t in fig.findobj(Text))
        module.pyplot().close(fig)
        return []

    monkeypatch.setattr(module, "save", fake_save)
    return texts


def test_heatmap_gives_each_cell_its_n_and_the_half_in_the_title(monkeypatch):
    pytest.importorskip("matplotlib")
    from rmeval.plots import correlation_heatmap as heatmap

    table, _, _ = cross_benchmark_correlation(SUMMARIES, METRICS, **SETTINGS)
    table.loc[0, "n_rms"] = 4
    texts = figure_texts(monkeypatch, heatmap)
    heatmap.plot_correlation_heatmap(heatmap.cross_benchmark_table(table), "unused")
    cells = [t for t in texts if t.startswith(("-", "0", "1", "n/a")) and "\n" in t]
    assert len(cells) == len(table) and all(c.endswith(("n=5", "n=4")) for c in cells)
    assert sum(c.endswith("n=4") for c in cells) == 1
    assert any("benchmark half" in t and "all items" in t for t in texts)  # the title
    assert {t for t in texts if t.startswith(("pool: Accuracy", "other: Accuracy"))} == {
        "pool: Accuracy (benchmark\nhalf)", "other: Accuracy (all items)"}


def test_scatter_axis_says_benchmark_half(monkeypatch):
    pytest.importorskip("matplotlib")
    from rmeval.plots import correlation_scatter as scatter

    table, points, _ = benchmark_correlation(SUMMARIES, headline_values, [], **SETTINGS)
    texts = figure_texts(monkeypatch, scatter)
    scatter.plot_correlation_scatter(points, table, "unused", max_panels=1)
    assert any(t.startswith("Accuracy\n(accuracy on the benchmark half") for t in texts)
    assert any("metrics on the benchmark half of the prompts" in t for t in texts)


# ------------------------------------------------------------------------------------------- the stage
def test_the_stage_writes_the_summary_next_to_the_table(tmp_path, project_root):
    down, metrics = [], []
    for s in SUMMARIES:
        down.append(tmp_path / f"down_{s['rm']}.json")
        down[-1].write_text(json.dumps(s))
    for m in METRICS:
        metrics.append(tmp_path / f"metrics_{m['benchmark']}_{m['rm']}.json")
        metrics[-1].write_text(json.dumps(m))
    out = {k: tmp_path / name for k, name in (("out", "all.csv"), ("points", "all.points.csv"),
                                                 ("summary", "all.summary.md"))}
    cmd = [sys.executable, "-m", "rmeval.stages.correlation", "correlation.n_boot=50", "++io.all=true",
           f"++io.downstream=[{','.join(map(str, down))}]", f"++io.metrics=[{','.join(map(str, metrics))}]",
           *[f"++io.{k}={v}" for k, v in out.items()]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=project_root)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    table = pd.read_csv(out["out"])
    assert set(zip(table["benchmark"], table["metric_data"])) == {("pool", BENCHMARK_HALF), ("other", ALL_ITEMS)}
    text = out["summary"].read_text()
    assert text.startswith("# Correlation summary: every benchmark's headline metrics vs every best-of-N pool")
    assert "- pool: metrics on the benchmark half" in text and "- other: metrics on all items" in text
    assert "**Warning: only 5 RMs.**" in text and "is in all.csv" in text
    assert not math.isnan(float(np.nanmax(np.abs(table["spearman"]))))
