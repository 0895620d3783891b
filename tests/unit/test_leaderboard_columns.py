"""Issue 26, item 3 and issue 22, item 5: what every leaderboard shows besides the headline: ranks, n items per
column, length-controlled accuracy and the prefers-longer rate, no CI on too few items, all.md's mean rank (weights,
small benchmarks left out), and published numbers beside ours with whether they lie inside our CI."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from rmeval.benchmarks.custom import CustomBenchmark
from rmeval.config.schemas import LeaderboardConfig
from rmeval.data.schema import DataError
from rmeval.leaderboards import (Published, PublishedRow, cross_benchmark_frame, cross_benchmark_markdown, inside_ci,
                                 read_published)
from rmeval.metrics.paired import significance_ranks

COLUMNS = ("Pairwise", "BoN", "Accuracy")


def cell(acc, lo, hi, n):
    return {"accuracy": acc, "ci_low": lo, "ci_high": hi, "n_items": n, "chance": None}


def custom_metrics(rm, acc, lo, hi, n=40, lc=(0.5, 0.45, 0.55), longer=0.9, decided=30, benchmark="example"):
    """A custom benchmark's metrics JSON: the same value in every column, and a length_bias block."""
    return {"benchmark": benchmark, "rm": rm,
            "headline": {"primary": "Accuracy", "columns": list(COLUMNS), "definition": "accuracy",
                         "values": {c: cell(acc, lo, hi, n) for c in COLUMNS}},
            "length_bias": {"chosen_longer": {"n_items": 20, "accuracy": 0.6}, "chosen_shorter": {"n_items": 12, "accuracy": 0.4},
                            "prefers_longer_rate": longer, "n_decided_unequal": decided,
                            "length_controlled": {"accuracy": lc[0], "ci_low": lc[1], "ci_high": lc[2]}},
            "ci": {"method": "cluster bootstrap over prompts"}}


def bench():
    return CustomBenchmark(name="example", version="1", path="x")


def test_every_leaderboard_has_ranks_n_and_the_length_columns():
    metrics = [custom_metrics("length", 0.9, 0.85, 0.95, longer=1.0, lc=(0.5, 0.5, 0.5)),
               custom_metrics("rm-b", 0.7, 0.6, 0.8, longer=0.55, decided=29)]
    sig = pd.DataFrame([("Accuracy", "length", "rm-b", 0.9, 0.7, 0.001, 0.01)],
                       columns=["column", "rm_a", "rm_b", "value_a", "value_b", "p_boot_holm", "p_mcnemar_holm"])
    frame, md = bench().leaderboard(metrics, significance_ranks(sig, "Accuracy"))
    csv = pd.read_csv(io.StringIO(frame.to_csv(index=False)))
    assert csv["rank"].tolist() == [1, 2]
    assert csv["Accuracy n"].tolist() == [40, 40] and csv["BoN n"].tolist() == [40, 40]
    assert csv["length-controlled"].tolist() == [0.5, 0.5] and csv["length-controlled n"].tolist() == [32, 32]
    assert csv["prefers longer"].tolist() == [1.0, 0.55] and csv["prefers longer n"].tolist() == [30, 29]
    head = md.splitlines()[4]
    assert head == ("| rank | RM | Pairwise (n=40) | BoN (n=40) | Accuracy (n=40) | length-controlled (n=32) | prefers longer |")
    assert "| 1 | length | 0.900 [0.850, 0.950] | 0.900 [0.850, 0.950] | 0.900 [0.850, 0.950] | 0.500 [0.500, 0.500] | 1.000 (n=30) |" in md
    assert "| 2 | rm-b |" in md and "0.550 (n=29) |" in md
    assert "rank = 1 + the number of RMs significantly better on Accuracy" in md


def test_too_few_items_for_a_ci():
    metrics = [custom_metrics("a", 1.0, 1.0, 1.0, n=13), custom_metrics("b", 0.5, 0.3, 0.7, n=13)]
    frame, md = bench().leaderboard(metrics, board=LeaderboardConfig(min_items_for_ci=30))
    assert "Accuracy (n=13, too few items for a CI)" in md and "[1.000, 1.000]" not in md
    assert "| 1 | a | 1.000 | 1.000 | 1.000 |" in md
    assert "fewer than 30 items (leaderboard.min_items_for_ci)" in md
    assert frame["Accuracy lo"].isna().all() and frame["length-controlled lo"].notna().all()  # 32 items: kept
    _, md13 = bench().leaderboard(metrics, board=LeaderboardConfig(min_items_for_ci=13))
    assert "1.000 [1.000, 1.000]" in md13 and "too few" not in md13
    # RMs with different n: per cell
    mixed = [custom_metrics("a", 0.8, 0.7, 0.9, n=50), custom_metrics("b", 0.5, 0.3, 0.7, n=20)]
    _, md_mixed = bench().leaderboard(mixed)
    assert md_mixed.splitlines()[4] == "| # | RM | Pairwise | BoN | Accuracy | length-controlled (n=32) | prefers longer (n=30) |"
    assert "0.800 [0.700, 0.900] (n=50)" in md_mixed and "0.500 (n=20, too few items for a CI)" in md_mixed


# ------------------------------------------------------------------------------------------- all.md
def primary_metrics(benchmark, rm, value, n):
    return {"benchmark": benchmark, "rm": rm, "headline": {"primary": "Score", "definition": f"{benchmark} score",
                                                           "values": {"Score": cell(value, value - 0.05, value + 0.05, n)}}}


ALL = [primary_metrics("big", "a", 0.9, 1000), primary_metrics("big", "b", 0.8, 1000), primary_metrics("big", "c", 0.7, 1000),
       primary_metrics("mid", "a", 0.5, 200), primary_metrics("mid", "b", 0.7, 200), primary_metrics("mid", "c", 0.6, 200),
       primary_metrics("tiny", "a", 0.1, 13), primary_metrics("tiny", "b", 0.2, 13), primary_metrics("tiny", "c", 0.3, 13)]


def test_mean_rank_weights_and_leaves_small_benchmarks_out():
    # ranks: big a1 b2 c3; mid a3 b1 c2; tiny a3 b2 c1
    equal = cross_benchmark_frame(ALL)
    assert dict(zip(equal["rm"], equal["mean rank"])) == {"a": 2.0, "b": 1.5, "c": 2.5}  # tiny (13 items) left out
    md = cross_benchmark_markdown(equal, ALL)
    assert "tiny: Score (n=13, too few items for a CI, not in the mean rank)" in md
    assert "Left out of the mean rank, fewer than 100 items in the primary column" in md and "tiny (13 items)" in md
    assert "over big, mid; every benchmark counts the same" in md
    items = cross_benchmark_frame(ALL, LeaderboardConfig(weight="items"))
    assert items.set_index("rm")["mean rank"].round(6).to_dict() == {"a": round((1000 + 600) / 1200, 6),
                                                                     "b": round((2000 + 200) / 1200, 6), "c": round((3000 + 400) / 1200, 6)}
    assert "each benchmark weighted by the items of its primary column (big 1,000, mid 200)" in cross_benchmark_markdown(items, ALL)
    small = cross_benchmark_frame(ALL, LeaderboardConfig(include_small=True))
    assert dict(zip(small["rm"], small["mean rank"])) == {"b": 5 / 3, "a": 7 / 3, "c": 2.0}
    assert "Counted in the mean rank although below 100 items (leaderboard.include_small): tiny" in cross_benchmark_markdown(small, ALL)
    assert small["rm"].tolist() == ["b", "c", "a"]


# ------------------------------------------------------------------------------------------- published numbers
@pytest.mark.parametrize("published, lo, hi, expected", [
    (0.70, 0.69, 0.72, "yes"),
    (0.75, 0.69, 0.72, "no"),
    (0.60, 0.69, 0.72, "no"),
    (0.69, 0.69, 0.72, "yes"),   # on the lower end
    (0.72, 0.69, 0.72, "yes"),   # on the upper end
    (0.70, None, None, "no CI"),
    (0.70, float("nan"), float("nan"), "no CI"),
    (None, 0.69, 0.72, None),
])
def test_inside_ci(published, lo, hi, expected):
    assert inside_ci(published, lo, hi) == expected


def test_published_beside_ours_in_a_benchmark_leaderboard():
    pub = Published("conf/published/example.yaml", "example", "Example paper, Table 1", {
        "rm-in": PublishedRow("rm-in", "RM-In", {"Accuracy": 0.72, "BoN": 0.50}, "Example paper, Table 1", ("†: unverified",)),
        "rm-edge": PublishedRow("rm-edge", "RM-Edge", {"Accuracy": 0.60}, "Example paper, Table 2"),
        "rm-small": PublishedRow("rm-small", "RM-Small", {"Accuracy": 0.40}, "Example paper, Table 1"),
        "not-run": PublishedRow("not-run", "Not-Run", {"Accuracy": 0.9}, "Example paper, Table 1")})
    metrics = [custom_metrics("rm-in", 0.70, 0.65, 0.75), custom_metrics("rm-edge", 0.65, 0.60, 0.70),
               custom_metrics("rm-small", 0.50, 0.40, 0.60, n=10), custom_metrics("rm-none", 0.30, 0.20, 0.40)]
    frame, md = bench().leaderboard(metrics, published=pub)
    f = frame.set_index("rm")
    assert f.loc["rm-in", "published Accuracy"] == 0.72 and f.loc["rm-in", "published Accuracy diff"] == pytest.approx(-0.02)
    assert f.loc["rm-in", "published Accuracy inside CI"] == "yes" and f.loc["rm-in", "published BoN inside CI"] == "no"
    assert f.loc["rm-edge", "published Accuracy inside CI"] == "yes"  # on the boundary
    assert f.loc["rm-small", "published Accuracy inside CI"] == "no CI"  # 10 items: no CI
    assert pd.isna(f.loc["rm-none", "published Accuracy"]) and pd.isna(f.loc["rm-none", "published Accuracy inside CI"])
    assert "published Pairwise" not in frame.columns  # no row publishes it
    assert "| rm-in | Accuracy | 0.720 | 0.700 [0.650, 0.750] | -0.020 | yes |" in md
    assert "| rm-in | BoN | 0.500 | 0.700 [0.650, 0.750] | +0.200 | no |" in md
    assert "| rm-small | Accuracy | 0.400 | 0.500 | +0.100 | no CI |" in md
    assert "- Source (conf/published/example.yaml): Example paper, Table 2; rows: rm-edge (\"RM-Edge\")." in md
    assert "- Caveat, rm-in: †: unverified." in md and "Not-Run" not in md


def write(tmp_path, text):
    path = tmp_path / "pub.yaml"
    path.write_text(text)
    return path


GOOD = """benchmark: example
source: "Example paper"
rows:
  - rm: random
    name: "Random"
    values: {Accuracy: 0.5}
"""


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("benchmark: example", "benchmark: rmb"), "field 'benchmark': 'rmb' but it is the published file of benchmark 'example'"),
    (GOOD.replace("Accuracy: 0.5", "Accuracy: 50"), "record 0 (rm='random'): field 'values.Accuracy': expected a number in [0, 1]"),
    (GOOD.replace("Accuracy: 0.5", "Overall: 0.5"), "record 0 (rm='random'): field 'values.Overall': not a headline column of example"),
    (GOOD.replace("rm: random", "rm: no-such-rm"), "record 0 (rm='no-such-rm'): field 'rm': no RM 'no-such-rm' in conf/rm/"),
    (GOOD + "  - rm: random\n    name: R\n    values: {BoN: 0.2}\n", "record 1 (rm='random'): field 'rm': RM 'random' has two rows"),
    (GOOD.replace('    name: "Random"\n', ""), "record 0 (rm='random'): field 'name': missing"),
    (GOOD + "    caveats: [1]\n", "record 0 (rm='random'): field 'caveats[0]': expected a non-empty string"),
    (GOOD.replace("source:", "sources:"), "field 'sources': unknown key"),
    ("- a\n", "field '<file>': expected a mapping"),
])
def test_a_bad_published_file_fails_with_one_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as err:
        read_published(path, "example", COLUMNS, ["random", "length"])
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_published_file_names_it(tmp_path):
    with pytest.raises(DataError, match="nope.yaml: cannot read the published numbers"):
        read_published(tmp_path / "nope.yaml", "example", COLUMNS)


def test_every_published_file_reads(project_root):
    """conf/published/*.yaml against their benchmark classes and the RM zoo."""
    from rmeval.benchmarks import build_benchmark
    from rmeval.config import available_rms, compose_benchmark
    from rmeval.leaderboards import published_path

    conf = project_root / "conf"
    named = {}
    for path in sorted((conf / "benchmark").glob("*.yaml")):
        setting = yaml.safe_load(path.read_text()).get("published")
        if setting:
            named[path.stem] = setting
    assert {"rmb", "rewardbench", "rewardbench2"} <= set(named)
    for name, setting in named.items():
        bench_obj = build_benchmark(compose_benchmark(name, conf_dir=conf))
        path, shown = published_path(setting, conf)
        assert shown == f"conf/published/{setting}.yaml"
        pub = read_published(path, name, bench_obj.headline_columns, available_rms(conf), shown=shown)
        assert pub.rows and all(set(r.values) <= set(bench_obj.headline_columns) for r in pub.rows.values())
    rmb = read_published(conf / "published" / "rmb.yaml", "rmb", ("Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair", "Overall"))
    assert rmb.rows["starling-rm-34b"].values == {"Help-BoN": 0.604, "Help-Pair": 0.774, "Harm-BoN": 0.674, "Harm-Pair": 0.795, "Overall": 0.712}
    assert rmb.rows["internlm2-7b-reward"].name == "Internlm2-7b-reward"
    assert any("unverified" in c for c in rmb.rows["skywork-critic-llama3.1-8b-judge"].caveats)


# ------------------------------------------------------------------------------------------- the stage
def rmb_metrics(rm: str, values: dict[str, tuple[float, float, float, int]]) -> dict:
    """A metrics JSON of RMB's shape: ``values`` per headline column (accuracy, lo, hi, n)."""
    comps = {"Help-BoN": ("Helpfulness", "bon"), "Help-Pair": ("Helpfulness", "pairwise"),
             "Harm-BoN": ("Harmlessness", "bon"), "Harm-Pair": ("Harmlessness", "pairwise")}
    goals: dict = {}
    for col, (goal, fmt) in comps.items():
        acc, lo, hi, n = values[col]
        goals.setdefault(goal, {})[fmt] = {"accuracy": acc, "ci_low": lo, "ci_high": hi, "n_items": n, "n_ties": 0,
                                           "macro": {"accuracy": acc}, "chance": None}
    acc, lo, hi, n = values["Overall"]
    return {"benchmark": "rmb", "rm": rm, "n_items": n, "goals": goals,
            "overall": {"micro": {"accuracy": acc, "ci_low": lo, "ci_high": hi}, "macro": {"accuracy": acc}},
            "headline": {"primary": "Overall", "columns": [*comps, "Overall"], "definition": "RMB accuracy",
                         "values": {c: cell(*values[c]) for c in [*comps, "Overall"]}},
            "data": {"missing_files": [], "sample": None, "identical_pairs": 0}, "ci": {"method": "cluster bootstrap over prompts"}}


def test_the_stage_shows_rmbs_published_numbers_for_a_zoo_rm(tmp_path, project_root):
    """A fake run of starling-rm-34b on rmb: the leaderboard stage finds conf/published/rmb.yaml through the
    benchmark's `published` setting and checks each published number against our CI."""
    starling = rmb_metrics("starling-rm-34b", {
        "Help-BoN": (0.650, 0.620, 0.680, 2000),   # published 0.604: outside
        "Help-Pair": (0.780, 0.774, 0.800, 8000),  # published 0.774: on the lower end
        "Harm-BoN": (0.600, 0.500, 0.700, 20),     # 20 items: no CI
        "Harm-Pair": (0.790, 0.780, 0.800, 6000),  # published 0.795: inside
        "Overall": (0.705, 0.695, 0.715, 16020)})  # published 0.712: inside
    length = rmb_metrics("length", {c: (0.5, 0.49, 0.51, n) for c, n in
                                    (("Help-BoN", 2000), ("Help-Pair", 8000), ("Harm-BoN", 20), ("Harm-Pair", 6000), ("Overall", 16020))})
    paths = []
    for m in (starling, length):
        paths.append(tmp_path / f"{m['rm']}.json")
        paths[-1].write_text(json.dumps(m))
    sig = tmp_path / "sig.csv"
    pd.DataFrame([("Overall", "starling-rm-34b", "length", 0.705, 0.5, 0.0, float("nan"))],
                 columns=["column", "rm_a", "rm_b", "value_a", "value_b", "p_boot_holm", "p_mcnemar_holm"]).to_csv(sig, index=False)
    cmd = [sys.executable, "-m", "rmeval.stages.leaderboard", "benchmark=rmb", f"++io.metrics=[{','.join(map(str, paths))}]",
           f"++io.significance={sig}", f"++io.csv={tmp_path / 'rmb.csv'}", f"++io.md={tmp_path / 'rmb.md'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=project_root)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    board = pd.read_csv(tmp_path / "rmb.csv").set_index("rm")
    assert board.loc["starling-rm-34b", "rank"] == 1 and board.loc["length", "rank"] == 2
    s = board.loc["starling-rm-34b"]
    assert [s[f"published {c} inside CI"] for c in ("Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair", "Overall")] == \
        ["no", "yes", "no CI", "yes", "yes"]
    assert s["published Overall"] == 0.712 and s["published Overall diff"] == pytest.approx(-0.007)
    assert s["published name"] == "Starling-RM-34B" and pd.isna(board.loc["length", "published Overall"])
    md = (tmp_path / "rmb.md").read_text()
    assert "| starling-rm-34b | Overall | 0.712 | 0.705 [0.695, 0.715] | -0.007 | yes |" in md
    assert "| starling-rm-34b | Harm-BoN | 0.674 | 0.600 | -0.074 | no CI |" in md
    assert "RM-R1 (arXiv 2505.02387)" in md and "| Harm-BoN (n=20, too few items for a CI) |" in md
    assert "- Source (conf/published/rmb.yaml): " in md and str(project_root) not in md  # the same bytes on any machine


def test_the_stage_fails_in_one_line_on_a_bad_published_file(tmp_path, project_root):
    bad = tmp_path / "rmb_published.yaml"
    bad.write_text("benchmark: rmb\nsource: x\nrows:\n  - rm: starling-rm-34b\n    name: S\n    values: {Overall: 71.2}\n")
    metrics = tmp_path / "m.json"
    metrics.write_text(json.dumps(rmb_metrics("starling-rm-34b", {c: (0.5, 0.4, 0.6, 100) for c in
                                                                  ("Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair", "Overall")})))
    cmd = [sys.executable, "-m", "rmeval.stages.leaderboard", "benchmark=rmb", f"benchmark.published={bad}",
           f"++io.metrics=[{metrics}]", f"++io.csv={tmp_path / 'o.csv'}", f"++io.md={tmp_path / 'o.md'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=project_root)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: {bad}: record 0 (rm='starling-rm-34b'): field 'values.Overall': expected a number in [0, 1] "
        "(our scale; a percentage divided by 100), got 71.2"]


def test_the_cross_benchmark_stage_shows_each_benchmarks_published_primary(tmp_path, project_root):
    values = {c: (0.70, 0.69, 0.72, n) for c, n in (("Help-BoN", 2000), ("Help-Pair", 8000), ("Harm-BoN", 1500),
                                                     ("Harm-Pair", 6000), ("Overall", 17500))}
    paths = []
    for m in (rmb_metrics("starling-rm-34b", values), rmb_metrics("length", {c: (0.5, 0.49, 0.51, v[3]) for c, v in values.items()}),
              custom_metrics("starling-rm-34b", 0.6, 0.5, 0.7, n=13), custom_metrics("length", 1.0, 1.0, 1.0, n=13)):
        paths.append(tmp_path / f"{m['benchmark']}_{m['rm']}.json")
        paths[-1].write_text(json.dumps(m))
    cmd = [sys.executable, "-m", "rmeval.stages.leaderboard", "++io.all=true", f"++io.metrics=[{','.join(map(str, paths))}]",
           f"++io.csv={tmp_path / 'all.csv'}", f"++io.md={tmp_path / 'all.md'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=project_root)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    board = pd.read_csv(tmp_path / "all.csv").set_index("rm")
    assert board.loc["starling-rm-34b", "rmb published"] == 0.712 and board.loc["starling-rm-34b", "rmb published inside CI"] == "yes"
    assert board.loc["starling-rm-34b", "mean rank"] == 1.0  # rmb alone: example (13 items) is left out
    md = (tmp_path / "all.md").read_text()
    assert "| starling-rm-34b | rmb: Overall | 0.712 | 0.700 [0.690, 0.720] | -0.012 | yes |" in md
    assert "example (13 items)" in md and "example: Accuracy (n=13, too few items for a CI, not in the mean rank)" in md
