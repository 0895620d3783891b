"""Issue 25, items 7, 8, 12-16: non-finite scores, unreadable JSON, a full disk, identical BoN losers, p-value text,
NaN RewardBench subsets, and the test extra that lets the SLURM plugin tests run."""

from __future__ import annotations

import errno
import json
import math
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmeval.benchmarks import build_benchmark
from rmeval.data.rmb import load_rmb
from rmeval.data.schema import DataError
from rmeval.errors import RmevalError
from rmeval.metrics import chance_accuracy, item_outcomes

ROOT = Path(__file__).resolve().parents[2]
BON_DOC = "BoN_set/Helpfulness/Code/Documentation.json"
Q = [{"role": "user", "content": "How do I document a function?"}]


def custom(path):
    return build_benchmark({"_target_": "rmeval.benchmarks.custom.CustomBenchmark", "name": "mine", "version": "1",
                            "path": str(path)})


def one_line_error(fn, *fragments):
    with pytest.raises(DataError) as err:
        fn()
    message = str(err.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------------------------------------------- item 7
@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
def test_custom_non_finite_judge_score_fails_naming_file_record_and_field(tmp_path, literal):
    path = tmp_path / "prefs.jsonl"
    path.write_text('{"prompt": "q", "chosen": "a", "rejected": "b", "chosen_score": 3}\n'
                    f'{{"prompt": "q2", "chosen": "a", "rejected": "b", "chosen_score": 1, "rejected_score": {literal}}}\n')
    one_line_error(lambda: custom(path).load(str(path)), "prefs.jsonl: record 1 (line 2)", "field 'rejected_score'",
                   "finite")


def test_custom_non_finite_score_in_a_parquet_list_fails_too(tmp_path):
    path = tmp_path / "prefs.parquet"
    pd.DataFrame([{"prompt": "q", "chosen": "a", "rejected": ["b", "c"], "chosen_score": 2.0,
                   "rejected_scores": [1.0, float("inf")]}]).to_parquet(path)
    one_line_error(lambda: custom(path).load(str(path)), "record 0", "field 'rejected_scores[1]'", "finite")


@pytest.mark.parametrize("name,text,fragments", [
    ("lone.jsonl", '{"prompt": "q", "chosen": "4\\ud800", "rejected": "b"}\n', ["record 0 (line 1)", "lone surrogate"]),
    ("deep.jsonl", "[" * 100_000 + "]" * 100_000 + "\n", ["record 0 (line 1)", "nested too deeply"]),
    ("deep.json", '{"rows": ' + "[" * 100_000 + "]" * 100_000 + "}", ["record ?", "nested too deeply"]),
])
def test_custom_unreadable_json_fails_with_one_line(tmp_path, name, text, fragments):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    one_line_error(lambda: custom(path).load(str(path)), name, *fragments)


def test_a_paired_surrogate_escape_is_text(tmp_path):
    path = tmp_path / "emoji.jsonl"
    path.write_text('{"prompt": "q", "chosen": "ok \\ud83d\\ude00", "rejected": "b"}\n', encoding="utf-8")
    _, texts, _ = custom(path).load(str(path))
    assert "ok \U0001F600" in set(texts["response"])


@pytest.mark.parametrize("payload,fragments", [
    ('[{"bon_uid": 0, "conversation_input": [{"role": "user", "content": "x\\udc00"}]}]', ["lone surrogate"]),
    ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
])
def test_rmb_unreadable_json_fails_with_one_line(tmp_path, payload, fragments):
    path = tmp_path / BON_DOC
    path.parent.mkdir(parents=True)
    path.write_text(payload, encoding="utf-8")
    one_line_error(lambda: load_rmb(tmp_path, check_manifest=False), BON_DOC, "field '<json>'", *fragments)


def test_rmb_infinite_judge_score_fails(tmp_path):
    path = tmp_path / BON_DOC
    path.parent.mkdir(parents=True)
    path.write_text('[{"bon_uid": 7, "conversation_input": [{"role": "user", "content": "q"}], '
                    '"bon_best": {"llm_name": "a", "answer": "x", "score": Infinity}, '
                    '"loser_list": [{"llm_name": "b", "answer": "y"}]}]', encoding="utf-8")
    one_line_error(lambda: load_rmb(tmp_path, check_manifest=False), "record 0", "uid=7", "field 'bon_best.score'")


# ------------------------------------------------------------------------------------------- item 8
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing_behind(tmp_path, monkeypatch):
    from rmeval.io import WriteError, write_json, write_parquet

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = tmp_path / "results" / "metrics.json"
    target.parent.mkdir()
    target.write_text("old")
    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(WriteError) as err:
        write_json({"a": 1}, target)
    message = str(err.value)
    assert isinstance(err.value, RmevalError) and "\n" not in message
    assert str(target) in message and "No space left on device" in message and "rerun" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    monkeypatch.undo()
    assert target.read_text() == "old" and [p.name for p in target.parent.iterdir()] == ["metrics.json"]

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(WriteError, match="scores.parquet: cannot write"):
        write_parquet(pd.DataFrame({"x": [1]}), tmp_path / "scores.parquet")
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob(".*tmp"))


def test_a_full_disk_while_scoring_is_one_error_and_a_rerun_resumes(tmp_path, monkeypatch):
    """The score cache's second part fails to write, and so does the flush when the job stops: the job ends with
    one WriteError naming the part (no chained second traceback); a rerun with space again scores only the rest."""
    from rmeval.io import WriteError
    from rmeval.rms.baselines import LengthRM
    from rmeval.scoring import ScoreCache, score_texts

    texts = pd.DataFrame({"text_id": [f"t{i}" for i in range(6)], "conversation": [[{"role": "user", "content": "q"}]] * 6,
                          "response": ["x" * (100 * (i + 1)) for i in range(6)]})
    rm = LengthRM(name="length", unit="chars")
    rm.max_batch_size = 2  # three batches: the first part is written, the second is not
    real = pd.DataFrame.to_parquet
    writes = {"n": 0}

    def fills_up(self, path, *args, **kwargs):
        writes["n"] += 1
        if writes["n"] > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fills_up)
    with pytest.raises(WriteError) as err:
        score_texts(rm, texts, cache=ScoreCache(tmp_path, {"rm": "length"}), flush_every=1, progress=False)
    message = str(err.value)
    assert "\n" not in message and "part-" in message and "No space left on device" in message
    assert err.value.__suppress_context__  # one error, not a traceback inside another
    monkeypatch.undo()
    cache = ScoreCache(tmp_path, {"rm": "length"})
    assert len(cache) == 2  # the part written before the disk filled
    scores, stats = score_texts(rm, texts, cache=cache, progress=False)
    assert stats.n_cached == 2 and stats.n_scored == 4 and scores["score"].tolist() == [100.0 * (i + 1) for i in range(6)]


# ------------------------------------------------------------------------------------------- item 12
def write_bon(root: Path, groups: list[dict]) -> None:
    path = root / BON_DOC
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(groups), encoding="utf-8")


def group(uid, best, losers):
    return {"bon_uid": uid, "conversation_input": Q, "bon_best": {"llm_name": "m", "answer": best},
            "loser_list": [{"llm_name": f"l{k}", "answer": a} for k, a in enumerate(losers)]}


def test_rmb_bon_group_with_a_loser_identical_to_the_best_is_counted_and_earns_no_chance(tmp_path):
    write_bon(tmp_path, [group(0, "same", ["other", "same"]), group(1, "good", ["bad", "worse"])])
    items, texts, report = load_rmb(tmp_path, check_manifest=False)
    assert report.identical_bon_groups == 1 and report.identical_pairs == 0
    assert report.to_dict()["identical_bon_groups"] == 1
    scores = {t: float(i) for i, t in enumerate(texts["text_id"])}
    out = item_outcomes(items, scores).set_index("item_id")
    assert out.loc["bon-0", "identical"] and not out.loc["bon-1", "identical"]
    assert not out.loc["bon-0", "correct"]
    # a scorer gives the two equal texts equal scores: the group is never right, so chance credits it 0, not 1/3
    assert chance_accuracy(out.reset_index()) == pytest.approx((0.0 + 1 / 3) / 2)


def test_an_identical_pair_keeps_the_conventional_half():
    pairs = pd.DataFrame({"format": ["pairwise", "pairwise"], "n_losers": [1, 1], "identical": [True, False]})
    assert chance_accuracy(pairs) == 0.5


def test_chance_of_a_judge_still_credits_positions():
    """A pairwise judge sees positions, not texts: its outcomes carry no ``identical`` flag and keep 1/(n+1)."""
    judge = pd.DataFrame({"n_losers": [1, 2]})
    assert chance_accuracy(judge) == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_custom_counts_identical_bon_groups_apart_from_pairs(tmp_path):
    path = tmp_path / "prefs.jsonl"
    rows = [{"prompt": "q", "chosen": "a", "rejected": "a"}, {"prompt": "q2", "chosen": "a", "rejected": ["b", "a"]},
            {"prompt": "q3", "chosen": "a", "rejected": ["b", "c"]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, _, report = custom(path).load(str(path))
    assert report["identical_pairs"] == 1 and report["identical_bon_groups"] == 1


# ------------------------------------------------------------------------------------------- item 13
def test_non_finite_scores_are_invalid_and_counted():
    from rmeval.metrics import counts_summary

    items = pd.DataFrame({"item_id": ["i0", "i1", "i2", "i3"], "format": "pairwise", "chosen_id": ["a", "c", "e", "g"],
                          "rejected_ids": [["b"], ["d"], ["f"], ["h"]]})
    scores = {"a": math.inf, "b": math.inf, "c": -math.inf, "d": 0.0, "e": 1.0, "f": math.nan, "g": 2.0, "h": 1.0}
    out = item_outcomes(items, scores)
    assert out["invalid"].tolist() == [True, True, True, False]
    assert out["tie"].tolist() == [False] * 4 and out["correct"].tolist() == [False, False, False, True]
    assert counts_summary(out)["n_invalid"] == 3


def test_rewardbench2_non_finite_scores_are_invalid():
    from rmeval.rewardbench_metrics import best_of_n_credit, v2_item_table

    assert best_of_n_credit(math.inf, [1.0, 2.0, 3.0]) == 0.0
    items = pd.DataFrame({"item_id": ["p"], "format": "bon", "goal": "Math", "chosen_id": ["a"], "rejected_ids": [["b", "c", "d"]]})
    table = v2_item_table(items, {"a": math.inf, "b": 0.0, "c": 0.0, "d": 0.0})
    assert table["invalid"].tolist() == [True] and table["credit"].tolist() == [0.0]


# ------------------------------------------------------------------------------------------- item 14
def test_a_bootstrap_p_value_below_one_resample_prints_as_a_bound():
    from rmeval.leaderboards import p_value_text

    assert p_value_text(0.0, 1000) == "< 0.001"
    assert p_value_text(0.0, 200) == "< 0.005"
    assert p_value_text(0.0004, 1000) == "< 0.001"
    assert p_value_text(0.001, 1000) == "0.001"
    assert p_value_text(0.0234, 1000) == "0.023"
    assert p_value_text(float("nan"), 1000) == "–"


def test_the_significance_markdown_bounds_p_and_the_csv_keeps_the_number():
    from rmeval.leaderboards import significance_markdown

    table = pd.DataFrame([{"column": "Accuracy", "rm_a": "x", "rm_b": "y", "n_items": 10, "diff": 0.5, "diff_lo": 0.3,
                           "diff_hi": 0.7, "p_boot": 0.0, "p_boot_holm": 0.0, "p_mcnemar": 0.002, "p_mcnemar_holm": 0.002,
                           "n_boot": 1000, "level": 0.95, "bootstrap": "cluster"}])
    text = significance_markdown(table, "demo")
    assert "< 0.001" in text and "| 0.000 |" not in text and "0.002" in text


# ------------------------------------------------------------------------------------------- item 15
def test_a_nan_subset_accuracy_is_left_out_of_its_section_as_an_absent_subset():
    from rmeval.rewardbench_metrics import v1_prior_score, v1_section_scores

    with_nan = v1_section_scores({"alpacaeval-easy": 0.8, "alpacaeval-length": float("nan"), "hep-go": 0.5})
    without = v1_section_scores({"alpacaeval-easy": 0.8, "hep-go": 0.5})
    assert with_nan == without and with_nan["Chat"] == pytest.approx(0.8)
    assert v1_prior_score({"shp": float("nan"), "summarize": 0.6}) == pytest.approx(0.6)
    assert v1_prior_score({"shp": float("nan")}) is None


# ------------------------------------------------------------------------------------------- item 16
def test_the_test_extra_installs_what_the_unit_tests_import():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "snakemake-executor-plugin-slurm==2.8.0" in extras["test"]
    assert set(extras["slurm"]) <= set(extras["test"])
