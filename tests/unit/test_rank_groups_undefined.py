"""Issue 25, item 9: rank groups are never drawn from undefined values or NaN p-values (RMB with one BoN file: every
RM's Overall is undefined, and they were ranked 1, 2, 3 in separate groups)."""

from __future__ import annotations

import math

import pandas as pd

from rmeval.benchmarks.base import with_rank_groups
from rmeval.metrics.paired import rank_groups

COLUMNS = ["column", "rm_a", "rm_b", "value_a", "value_b", "p_boot_holm", "p_mcnemar_holm"]
NAN = math.nan


def test_rms_with_an_undefined_value_get_no_rank_and_no_group():
    sig = pd.DataFrame([("Overall", "a", "b", NAN, NAN, NAN, NAN), ("Overall", "a", "c", NAN, NAN, NAN, NAN),
                        ("Overall", "b", "c", NAN, NAN, NAN, NAN)], columns=COLUMNS)
    assert rank_groups(sig, "Overall").empty
    board = with_rank_groups(pd.DataFrame({"rm": ["a", "b", "c"]}), rank_groups(sig, "Overall"))
    assert "rank group" not in board.columns  # nothing to show, not 1/2/3


def test_defined_rms_keep_their_groups_and_an_undefined_one_is_left_out():
    sig = pd.DataFrame([("Overall", "a", "b", 0.8, 0.6, 0.01, 0.01), ("Overall", "a", "c", 0.8, NAN, NAN, NAN),
                        ("Overall", "b", "c", 0.6, NAN, NAN, NAN)], columns=COLUMNS)
    g = rank_groups(sig, "Overall")
    assert g["rm"].tolist() == ["a", "b"] and g["rank"].tolist() == [1, 2] and g["group"].tolist() == [1, 2]
    board = with_rank_groups(pd.DataFrame({"rm": ["a", "b", "c"]}), g)
    assert board["rank group"].tolist()[:2] == [1, 2] and pd.isna(board["rank group"].iloc[2])
    assert board["tied with above"].tolist() == [False, False, None]
    assert board.to_csv(index=False, float_format="%.4f").splitlines()[1:] == ["a,1,False", "b,2,False", "c,,"]


def test_a_step_without_a_p_value_is_no_significant_difference():
    # McNemar does not apply to a column of several components: every p is NaN, so no step is significant
    sig = pd.DataFrame([("Overall", "a", "b", 0.8, 0.7, 0.01, NAN), ("Overall", "a", "c", 0.8, 0.6, 0.01, NAN),
                        ("Overall", "b", "c", 0.7, 0.6, 0.01, NAN)], columns=COLUMNS)
    m = rank_groups(sig, "Overall", test="mcnemar")
    assert m["group"].tolist() == [1, 1, 1] and m["tied_with_above"].tolist() == [False, False, False]
    assert m["p_vs_above"].isna().tolist() == [True, True, True]
    assert rank_groups(sig, "Overall")["group"].tolist() == [1, 2, 3]
