"""Issue 25, item 9: ranks are never drawn from undefined values or NaN p-values (RMB with one BoN file: every RM's
Overall is undefined, and they were ranked 1, 2, 3)."""

from __future__ import annotations

import math

import pandas as pd

from rmeval.leaderboards import board_frame
from rmeval.metrics.paired import significance_ranks

COLUMNS = ["column", "rm_a", "rm_b", "value_a", "value_b", "p_boot_holm", "p_mcnemar_holm"]
NAN = math.nan


def _metrics(rm: str, value: float) -> dict:
    return {"rm": rm, "headline": {"values": {"Overall": {"accuracy": value, "ci_low": None, "ci_high": None, "n_items": 100}}}}


def _board(values: dict, ranks: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame({"rm": list(values), "Overall": list(values.values()), "Overall lo": NAN, "Overall hi": NAN})
    return board_frame(frame, [_metrics(rm, v) for rm, v in values.items()], columns=["Overall"], primary="Overall", ranks=ranks)


def test_rms_with_an_undefined_value_get_no_rank():
    sig = pd.DataFrame([("Overall", "a", "b", NAN, NAN, NAN, NAN), ("Overall", "a", "c", NAN, NAN, NAN, NAN),
                        ("Overall", "b", "c", NAN, NAN, NAN, NAN)], columns=COLUMNS)
    assert significance_ranks(sig, "Overall").empty
    board = _board({"a": NAN, "b": NAN, "c": NAN}, significance_ranks(sig, "Overall"))
    assert "rank" not in board.columns  # nothing to show, not 1/2/3


def test_defined_rms_keep_their_ranks_and_an_undefined_one_is_left_out():
    sig = pd.DataFrame([("Overall", "a", "b", 0.8, 0.6, 0.01, 0.01), ("Overall", "a", "c", 0.8, NAN, NAN, NAN),
                        ("Overall", "b", "c", 0.6, NAN, NAN, NAN)], columns=COLUMNS)
    g = significance_ranks(sig, "Overall")
    assert g["rm"].tolist() == ["a", "b"] and g["rank"].tolist() == [1, 2]
    board = _board({"c": NAN, "b": 0.6, "a": 0.8}, g)
    assert board["rm"].tolist() == ["a", "b", "c"] and board["rank"].tolist()[:2] == [1, 2] and pd.isna(board["rank"].iloc[2])
    assert board[["rm", "rank"]].to_csv(index=False).splitlines()[1:] == ["a,1", "b,2", "c,"]


def test_a_pair_without_a_p_value_is_no_significant_difference():
    # McNemar does not apply to a column of several components: every p is NaN, so nobody is significantly better
    sig = pd.DataFrame([("Overall", "a", "b", 0.8, 0.7, 0.01, NAN), ("Overall", "a", "c", 0.8, 0.6, 0.01, NAN),
                        ("Overall", "b", "c", 0.7, 0.6, 0.01, NAN)], columns=COLUMNS)
    m = significance_ranks(sig, "Overall", test="mcnemar")
    assert m["rank"].tolist() == [1, 1, 1] and m["better"].tolist() == [(), (), ()]
    assert significance_ranks(sig, "Overall")["rank"].tolist() == [1, 2, 3]
