"""The benchmark interface: custom preference data, RM-Bench goldens, hub loading through `datasets` on a local
folder in the hub's layout, the cross-benchmark leaderboard, and the one-line errors of every reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.benchmarks import build_benchmark
from rmeval.data.schema import DataError

M = {"n_boot": 200, "ci_level": 0.95, "seed": 0}


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def custom(path, **kw):
    return build_benchmark({"_target_": "rmeval.benchmarks.custom.CustomBenchmark", "name": "mine", "version": "1",
                            "path": str(path), **kw})


def scores_from(texts: pd.DataFrame, fn) -> pd.DataFrame:
    return pd.DataFrame({"text_id": texts["text_id"], "score": [float(fn(r)) for r in texts["response"]],
                         "n_tokens": 1, "truncated": False})


CUSTOM = [
    {"prompt": "q1", "chosen": "long good answer", "rejected": "bad", "group": "g1"},
    {"prompt": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "q2"}], "chosen": "fine answer",
     "rejected": ["no", "meh!"], "group": "g2", "id": "x"},
    {"prompt": "q3", "chosen": "tie", "rejected": "eit", "group": "g1"},  # same length: a tie under the length RM
]


# ------------------------------------------------------------------------------------------- custom
def test_custom_pairwise_and_bon_with_groups_and_golden_metrics(tmp_path):
    bench = custom(write_jsonl(tmp_path / "prefs.jsonl", CUSTOM))
    items, texts, report = bench.load(bench.source().path)
    assert list(items["format"].value_counts().sort_index().items()) == [("bon", 1), ("pairwise", 2)]
    assert set(items["scenario"]) == {"g1", "g2"} and len(texts) == 7
    bon = items[items["format"] == "bon"].iloc[0]
    assert bon["item_id"] == "mine-x" and len(bon["rejected_ids"]) == 2
    conv = texts.set_index("text_id").loc[bon["chosen_id"], "conversation"]
    assert [t["role"] for t in conv] == ["system", "user"]
    m = bench.evaluate(items, scores=scores_from(texts, len), metrics_cfg=M)
    head = m["headline"]["values"]
    # pairwise: q1 right, q3 a tie (wrong); BoN: "fine answer" beats "no" and "meh!"
    assert head["Pairwise"]["accuracy"] == 0.5 and head["BoN"]["accuracy"] == 1.0
    assert head["Accuracy"]["accuracy"] == pytest.approx(2 / 3) and head["Accuracy"]["n_items"] == 3
    assert m["formats"]["pairwise"]["n_ties"] == 1
    assert head["BoN"]["chance"] == pytest.approx(1 / 3)
    groups = {(g["format"], g["scenario"]): g["accuracy"] for g in m["by_group"]}
    assert groups == {("bon", "g2"): 1.0, ("pairwise", "g1"): 0.5}
    from rmeval.metrics import item_outcomes

    out = item_outcomes(items, dict(zip(texts["text_id"], texts["response"].str.len().astype(float))))
    assert {c.name: c.value(out) for c in bench.significance_columns(items)} == pytest.approx({k: v["accuracy"] for k, v in head.items()})
    assert report["has_judge_scores"] is False


def test_custom_parquet_and_judge_scores(tmp_path):
    records = [dict(r, chosen_score=4.0, rejected_scores=[2.0] * (len(r["rejected"]) if isinstance(r["rejected"], list) else 1)) for r in CUSTOM]
    records = [{k: (json.dumps(v) if k == "prompt" and isinstance(v, list) else v) for k, v in r.items()} for r in records]
    records[1]["prompt"] = "q2"  # parquet needs one type per column
    for r in records:
        r["rejected"] = r["rejected"] if isinstance(r["rejected"], list) else [r["rejected"]]  # a list of one: a pair
    path = tmp_path / "prefs.parquet"
    pd.DataFrame(records).to_parquet(path)
    bench = custom(path, judge_scores=True, score_range=[1, 5])
    items, texts, report = bench.load(bench.source().path)
    assert report["has_judge_scores"] and items["chosen_score"].eq(4.0).all()
    assert sorted(items["format"]) == ["bon", "pairwise", "pairwise"]
    assert texts["judge_score"].notna().all()


CUSTOM_ERRORS = [
    ({"prompt": "q", "rejected": "r"}, "record 1 (line 2): field 'chosen': missing"),
    ({"prompt": "q", "chosen": "c", "rejected": 3}, "field 'rejected': expected str/list, got int"),
    ({"prompt": "q", "chosen": "c", "rejected": []}, "field 'rejected': empty list"),
    ({"prompt": "q", "chosen": "", "rejected": "r"}, "field 'chosen': empty response"),
    ({"prompt": [{"role": "assistant", "content": "hi"}], "chosen": "c", "rejected": "r"}, "field 'prompt[0].role': the last turn must be the user's"),
    ({"prompt": "q", "chosen": "c", "rejected": ["a", 5]}, "field 'rejected[1]': expected str, got int"),
    ({"prompt": "q", "chosen": "c", "rejected": "r", "chosen_score": "high"}, "field 'chosen_score': expected a number"),
    ({"prompt": "q", "chosen": "c", "rejected": ["a", "b"], "rejected_scores": [1]}, "field 'rejected_scores': 1 scores for 2 rejected"),
    ({"prompt": "q", "chosen": "c", "rejected": "r", "group": 7}, "field 'group': expected str, got int"),
    ({"prompt": "q", "chosen": "c", "rejected": "r", "id": "a"}, None),  # duplicate of the first record's id
]


@pytest.mark.parametrize("bad,expected", CUSTOM_ERRORS)
def test_custom_bad_records_fail_with_file_line_and_field(tmp_path, bad, expected):
    path = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "prompt": "q", "chosen": "c", "rejected": "r"}, bad])
    with pytest.raises(DataError) as err:
        custom(path).load(str(path))
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{path}: record 1 (line 2)")
    assert (expected or "field 'id': duplicate id 'a'") in msg


def test_custom_judge_scores_required_when_declared(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "q", "chosen": "c", "rejected": "r"}])
    with pytest.raises(DataError, match="field 'chosen_score': missing: benchmark.judge_scores=true"):
        custom(path, judge_scores=True).load(str(path))


def test_bom_is_stripped(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\ufeff" + json.dumps({"prompt": "q", "chosen": "c", "rejected": "r"}) + "\n", encoding="utf-8")
    items, _, _ = custom(path).load(str(path))
    assert len(items) == 1


def test_shipped_example_loads():
    from rmeval.config import compose_benchmark

    bench = build_benchmark(compose_benchmark("example"))
    items, texts, _ = bench.load(bench.source().path)
    assert set(items["format"]) == {"pairwise", "bon"} and len(items) == 13


# ------------------------------------------------------------------------------------------- RM-Bench
def rmbench_record(uid, domain, chosen_len, rejected_len):
    return {"id": uid, "prompt": f"p{uid}", "domain": domain,
            "chosen": ["c" * n + str(uid) for n in chosen_len], "rejected": ["r" * n + str(uid) for n in rejected_len]}


def rmbench_bench():
    return build_benchmark({"_target_": "rmeval.benchmarks.rmbench.RMBenchBenchmark", "name": "rmbench", "version": "1"})


def test_rmbench_style_matrix_golden(tmp_path):
    """Length RM on hand-made responses: chosen lengths (2, 5, 8), rejected (1, 4, 7) in every domain, except one
    chat prompt whose rejected are all longer (10, 11, 12). Hand computation of the 3x3 matrices:
    chat prompt A: [[1,0,0],[1,1,0],[1,1,1]]; chat prompt B: all 0 -> chat matrix = half of A;
    other domains: matrix A. Hard = upper triangle, Normal = diagonal, Easy = lower triangle."""
    recs = [rmbench_record(0, "chat", (2, 5, 8), (1, 4, 7)), rmbench_record(1, "chat", (2, 5, 8), (10, 11, 12)),
            rmbench_record(2, "code", (2, 5, 8), (1, 4, 7)), rmbench_record(3, "math", (2, 5, 8), (1, 4, 7)),
            rmbench_record(4, "safety-refuse", (2, 5, 8), (1, 4, 7)), rmbench_record(5, "safety-response", (2, 5, 8), (1, 4, 7))]
    path = write_jsonl(tmp_path / "total_dataset.jsonl", recs)
    bench = rmbench_bench()
    items, texts, report = bench.load(str(path))
    assert len(items) == 6 * 9 and report["prompts_per_domain"]["safety-refuse"] == 1
    m = bench.evaluate(items, scores=scores_from(texts, len), metrics_cfg=M)
    a = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=float)
    assert np.allclose(m["domains"]["Chat"]["matrix"], a / 2)
    assert np.allclose(m["domains"]["Safety"]["matrix"], a)  # both safety sub-domains pool into Safety
    assert m["domains"]["Code"]["Hard"] == 0.0 and m["domains"]["Code"]["Normal"] == 1.0 and m["domains"]["Code"]["Easy"] == 1.0
    assert m["domains"]["Chat"]["Total"] == pytest.approx(6 / 18)
    head = {k: v["accuracy"] for k, v in m["headline"]["values"].items()}
    assert head["Chat"] == pytest.approx(1 / 3) and head["Code"] == pytest.approx(2 / 3)
    assert head["Average"] == pytest.approx((1 / 3 + 3 * 2 / 3) / 4)
    assert head["Hard"] == pytest.approx(0.0) and head["Normal"] == pytest.approx((0.5 + 3) / 4) and head["Easy"] == pytest.approx((0.5 + 3) / 4)
    lo, hi = m["ci"]["Chat"]
    assert lo <= head["Chat"] <= hi
    # the paired tests' columns reproduce every headline value from per-item outcomes
    from rmeval.metrics import item_outcomes

    out = item_outcomes(items, dict(zip(texts["text_id"], texts["response"].str.len().astype(float))))
    cols = {c.name: c for c in bench.significance_columns(items)}
    assert list(cols) == list(bench.headline_columns)
    for name, value in head.items():
        assert cols[name].value(out) == pytest.approx(value, abs=1e-12), name


@pytest.mark.parametrize("bad,expected", [
    ({"chosen": ["a", "b"]}, "field 'chosen': expected 3 responses"),
    ({"domain": "poetry"}, "field 'domain': unknown domain 'poetry'"),
    ({"rejected": ["a", None, "c"]}, "field 'rejected[1]': null"),
])
def test_rmbench_bad_records(tmp_path, bad, expected):
    path = write_jsonl(tmp_path / "d.jsonl", [dict(rmbench_record(0, "chat", (1, 2, 3), (1, 2, 3)), **bad)])
    with pytest.raises(DataError, match=r"d.jsonl: record 0 \(id=0\): " + expected.replace("[", r"\[").replace("(", r"\(")):
        rmbench_bench().load(str(path))


# ------------------------------------------------------------------------------------------- hub path
def test_hub_path_reads_a_local_folder_in_the_hub_layout(tmp_path):
    """With no root, RewardBench loads through datasets.load_dataset(dataset, split=..., revision=...); here the
    dataset id is a local folder in the hub's layout (data/<split>-*.parquet), read by the same call."""
    pytest.importorskip("datasets")
    rows = [{"id": i, "prompt": f"q{i}", "chosen": "good long answer", "rejected": "bad", "chosen_model": "a",
             "rejected_model": "b", "subset": "alpacaeval-easy"} for i in range(4)]
    (tmp_path / "hub" / "data").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(tmp_path / "hub" / "data" / "filtered-00000-of-00001.parquet")
    bench = build_benchmark({"_target_": "rmeval.benchmarks.rewardbench.RewardBenchV1", "name": "rewardbench",
                             "version": "1", "dataset": str(tmp_path / "hub"), "split": "filtered"})
    assert bench.source().kind == "hub"  # the DAG gives the data stage no input: the job reads the hub
    items, texts, report = bench.load(None)
    assert report["source"] == "hub" and len(items) == 4
    assert report["hub"]["revision"] is None and "not pinned" in report["hub"]["warning"]
    m = bench.evaluate(items, scores=scores_from(texts, len), metrics_cfg=M)
    assert m["headline"]["values"]["Chat"]["accuracy"] == 1.0


# ------------------------------------------------------------------------------------------- cross-benchmark
def test_cross_benchmark_leaderboard_sorts_by_mean_rank():
    from rmeval.leaderboards import cross_benchmark_frame, cross_benchmark_markdown

    def m(bench, rm, v, primary):
        return {"benchmark": bench, "rm": rm, "headline": {"primary": primary, "columns": [primary],
                "values": {primary: {"accuracy": v, "ci_low": v - 0.1, "ci_high": v + 0.1, "n_items": 1000}}}}

    metrics = [m("rmb", "a", 0.6, "Overall"), m("rmb", "b", 0.7, "Overall"), m("rb", "a", 0.9, "Score"), m("rb", "b", 0.5, "Score"),
               m("rmb", "c", 0.1, "Overall"), m("rb", "c", 0.8, "Score")]
    frame = cross_benchmark_frame(metrics)
    assert list(frame["rm"]) == ["a", "b", "c"]  # mean ranks 1.5, 2.0, 2.5
    assert list(frame["rmb rank"]) == [2, 1, 3]
    md = cross_benchmark_markdown(frame, metrics)
    assert "| a | 0.600 [0.500, 0.700] (#2) | 0.900 [0.800, 1.000] (#1) | 1.50 |" in md


def test_prompt_sets_share_the_record_reader(tmp_path):
    from rmeval.construct.prompts import jsonl_prompts

    path = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": "q", "goal": "Helpfulness", "scenario": "s"},
                                                     {"prompt": "q2", "goal": "Fun", "scenario": "s"}])
    with pytest.raises(DataError, match=r"prompts.jsonl: record 1: field 'goal': expected Helpfulness or Harmlessness, got 'Fun'"):
        jsonl_prompts(path)
    ok = write_jsonl(tmp_path / "ok.jsonl", [{"conversation": [{"role": "user", "content": "q"}], "goal": "Harmlessness", "scenario": "S1"}])
    assert len(jsonl_prompts(ok)) == 1
