"""Ensemble RM: z-score mean and Borda vote golden tests, an ensemble of one RM equals that RM, errors, and the
ensemble + significance stages on tiny files."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rmeval.benchmarks.rmb import RMBBenchmark
from rmeval.metrics import evaluate
from rmeval.rms.ensemble import EnsembleError, EnsembleRM, combine_scores, zscores
from rmeval.scoring import read_scores, write_scores


def score_frame(ids, scores, n_tokens=None, truncated=None) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({"text_id": ids, "score": np.asarray(scores, float), "n_tokens": n_tokens or [1] * n,
                         "truncated": truncated or [False] * n})


def test_zscore_mean_hand_computed():
    a = score_frame(["t1", "t2", "t3"], [1, 2, 3], n_tokens=[5, 6, 7])
    b = score_frame(["t3", "t1", "t2"], [40, 10, 10], n_tokens=[1, 9, 1], truncated=[True, False, False])
    out = combine_scores({"a": a, "b": b}, "zmean")
    # a: mean 2, sd sqrt(2/3) -> [-sqrt(1.5), 0, sqrt(1.5)]; b (t1, t2, t3) = 10, 10, 40: mean 20, sd sqrt(200)
    # -> [-1/sqrt(2), -1/sqrt(2), sqrt(2)]
    s15, r2 = math.sqrt(1.5), math.sqrt(2)
    assert out["text_id"].tolist() == ["t1", "t2", "t3"]
    assert out["score"].tolist() == pytest.approx([(-s15 - 1 / r2) / 2, (0 - 1 / r2) / 2, (s15 + r2) / 2])
    assert out["n_tokens"].tolist() == [9, 6, 7]
    assert out["truncated"].tolist() == [False, False, True]


def test_zscores_constant_and_nan():
    assert zscores(np.array([3.0, 3.0])).tolist() == [0.0, 0.0]
    z = zscores(np.array([1.0, np.nan, 3.0]))
    assert z[0] == -1.0 and math.isnan(z[1]) and z[2] == 1.0


def test_borda_vote_hand_computed():
    # prompt p: texts x, y. Members a and b prefer x, c prefers y: majority for x. Prompt q: u, v; a prefers u,
    # b prefers v: an even split is a tie.
    texts = pd.DataFrame({"text_id": ["x", "y", "u", "v"], "prompt_id": ["p", "p", "q", "q"]})
    a = score_frame(["x", "y", "u", "v"], [0.9, 0.1, 5.0, 1.0])
    b = score_frame(["x", "y", "u", "v"], [3.0, 2.0, 0.0, 1.0])
    c = score_frame(["x", "y", "u", "v"], [-1.0, 0.0, 7.0, 7.0])
    out = combine_scores({"a": a, "b": b, "c": c}, "borda", texts).set_index("text_id")["score"]
    assert out["x"] == 2 + 2 + 1 and out["y"] == 1 + 1 + 2  # ranks within p
    assert out["u"] == 2 + 1 + 1.5 and out["v"] == 1 + 2 + 1.5  # c ties u and v: average rank 1.5 each
    two = combine_scores({"a": a, "b": b}, "borda", texts).set_index("text_id")["score"]
    assert two["u"] == two["v"]


def test_nan_from_any_member_is_nan():
    a = score_frame(["t1", "t2", "t3"], [1, np.nan, 3])
    b = score_frame(["t1", "t2", "t3"], [1, 2, 3])
    out = combine_scores({"a": a, "b": b}, "zmean")
    assert math.isnan(out["score"][1]) and not out["score"].drop(1).isna().any()


def _items_and_scores(seed=0):
    rng = np.random.default_rng(seed)
    rows, texts, scores = [], [], {}
    goals = [("Helpfulness", "pairwise"), ("Helpfulness", "bon"), ("Harmlessness", "pairwise"), ("Harmlessness", "bon")]
    for p in range(30):
        goal, fmt = goals[p % 4]
        ids = [f"p{p}-t{k}" for k in range(4)]
        for t in ids:
            texts.append({"text_id": t, "prompt_id": f"p{p}"})
            scores[t] = float(rng.integers(0, 4))  # small integers: ties happen
        losers = ids[1:2] if fmt == "pairwise" else ids[1:]
        rows.append({"item_id": f"i{p}", "prompt_id": f"p{p}", "format": fmt, "goal": goal, "task": "T",
                     "scenario": f"S{p % 3}", "chosen_id": ids[0], "rejected_ids": losers})
    scores["p0-t1"] = float("nan")
    return pd.DataFrame(rows), pd.DataFrame(texts), score_frame(list(scores), list(scores.values()))


@pytest.mark.parametrize("method", ["zmean", "borda"])
def test_an_ensemble_of_one_rm_equals_that_rm(method):
    items, texts, scores = _items_and_scores()
    single = EnsembleRM(name="solo", members=["m"], method=method).combine({"m": scores}, texts)
    a, b = evaluate(items, scores, RMBBenchmark.components, n_boot=50), evaluate(items, single, RMBBenchmark.components, n_boot=50)
    for goal in ("Helpfulness", "Harmlessness"):
        for fmt in ("pairwise", "bon"):
            na, nb = a["goals"][goal][fmt], b["goals"][goal][fmt]
            assert (na["accuracy"], na["n_ties"], na["n_invalid"]) == (nb["accuracy"], nb["n_ties"], nb["n_invalid"])
            assert (na["ci_low"], na["ci_high"]) == (nb["ci_low"], nb["ci_high"])
    assert a["overall"] == b["overall"]
    assert a["goals"]["Helpfulness"]["pairwise"]["n_invalid"] == 1 and sum(
        a["goals"][g][f]["n_ties"] for g in ("Helpfulness", "Harmlessness") for f in ("pairwise", "bon")) > 0


def test_ensemble_errors_name_the_member_and_field():
    a = score_frame(["t1", "t2"], [1, 2])
    b = score_frame(["t1", "t3"], [1, 2])
    with pytest.raises(EnsembleError, match="member b: field 'text_id'"):
        combine_scores({"a": a, "b": b}, "zmean")
    with pytest.raises(EnsembleError, match="member j: field 'text_id' missing: members must be pointwise"):
        combine_scores({"a": a, "j": pd.DataFrame({"item_id": ["x"], "verdict": ["A"]})}, "zmean")
    with pytest.raises(EnsembleError, match="field 'members': no score file for c"):
        EnsembleRM(name="e", members=["a", "c"]).combine({"a": a})
    with pytest.raises(EnsembleError, match="io.texts"):
        combine_scores({"a": a}, "borda")
    with pytest.raises(EnsembleError, match="field 'method'"):
        EnsembleRM(name="e", members=["a"], method="median")
    with pytest.raises(EnsembleError, match="field 'members'"):
        EnsembleRM(name="e", members=[])


def test_config_rejects_unknown_members():
    from rmeval.config import ConfigError, compose_rm

    assert list(compose_rm("ensemble-cpu").rm.members) == ["tiny-classifier", "minilm-relevance"]
    with pytest.raises(ConfigError, match="field 'members': unknown RM 'nope'"):
        compose_rm("ensemble-cpu", ["rm.members=[length,nope]"])


# ------------------------------------------------------------------------------------------- stages
def _run(stage: str, *overrides: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"rmeval.stages.{stage}", *overrides], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_ensemble_and_significance_stages(tmp_path):
    import os
    from pathlib import Path

    items, texts, scores = _items_and_scores()
    rng = np.random.default_rng(1)
    other = scores.assign(score=rng.normal(size=len(scores)))
    items.to_parquet(tmp_path / "items.parquet", index=False)
    texts.to_parquet(tmp_path / "texts.parquet", index=False)
    write_scores(scores, {"rm": "length"}, tmp_path / "length.parquet")
    write_scores(other, {"rm": "random"}, tmp_path / "random.parquet")
    repo = Path(__file__).resolve().parents[2]
    env_cwd = repo  # conf/ is found from the working directory
    out = tmp_path / "ens.parquet"
    r = _run("ensemble", "rm=ensemble-cpu", "rm.members=[length,random]", f"+io.members=[{tmp_path}/length.parquet,{tmp_path}/random.parquet]",
             f"+io.texts={tmp_path}/texts.parquet", f"+io.out={out}", cwd=env_cwd)
    assert r.returncode == 0, r.stderr
    ens, meta = read_scores(out)
    assert meta["rm"] == "ensemble-cpu" and set(meta["members"]) == {"length", "random"}
    assert len(ens) == len(scores) and ens["score"].isna().sum() == 1
    expected = combine_scores({"length": scores, "random": other}, "zmean")
    assert np.allclose(ens["score"], expected["score"], equal_nan=True)
    sig = tmp_path / "significance.csv"
    r = _run("significance", f"+io.items={tmp_path}/items.parquet",
             f"+io.scores=[{tmp_path}/length.parquet,{tmp_path}/random.parquet,{out}]", f"+io.out={sig}", "metrics.n_boot=50", cwd=env_cwd)
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(sig)
    assert len(table) == 3 * 5 and set(table["benchmark"]) == {"rmb"}
    assert set(zip(table["rm_a"], table["rm_b"])) == {("length", "random"), ("length", "ensemble-cpu"), ("random", "ensemble-cpu")}
    assert (table["bootstrap"] == "cluster").all()
    r = _run("ensemble", "rm=ensemble-cpu", f"+io.members=[{tmp_path}/length.parquet]", f"+io.out={out}", cwd=env_cwd)
    assert r.returncode == 1 and "no score file for tiny-classifier" in r.stderr and "Traceback" not in r.stderr
    assert os.path.exists(out)
