"""Issue 26, item 2: ranks that mean what they say. rank = 1 + the number of RMs significantly better (Chatbot
Arena's convention, closed under transitivity): two significantly different RMs never share a rank, equal RMs do."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from rmeval.metrics.paired import Column, all_items, paired_comparisons, significance_ranks

SIG_COLUMNS = ["column", "rm_a", "rm_b", "value_a", "value_b", "p_boot_holm", "p_mcnemar_holm"]


def table(rows) -> pd.DataFrame:
    """(a, b, value_a, value_b, p) rows of one column 'Acc' (the same p for both tests)."""
    return pd.DataFrame([("Acc", a, b, va, vb, p, p) for a, b, va, vb, p in rows], columns=SIG_COLUMNS)


def ranks_of(sig: pd.DataFrame, **kw) -> dict[str, int]:
    r = significance_ranks(sig, "Acc", **kw)
    return dict(zip(r["rm"], r["rank"]))


def test_non_transitive_equalities_give_arena_ranks():
    # A ~ B, B ~ C, A > C: only A is significantly better than C
    sig = table([("A", "B", 0.80, 0.75, 0.30), ("B", "C", 0.75, 0.70, 0.20), ("A", "C", 0.80, 0.70, 0.01)])
    assert ranks_of(sig) == {"A": 1, "B": 1, "C": 2}
    assert significance_ranks(sig, "Acc")["better"].tolist() == [(), (), ("A",)]


def test_significant_wins_chain_so_different_rms_never_share_a_rank():
    # C > A and A > B significant, C ~ B not: counting only direct wins would give B rank 2 like A, which B is
    # significantly below; the closure counts C above B too
    sig = table([("C", "A", 0.90, 0.80, 0.001), ("A", "B", 0.80, 0.70, 0.001), ("C", "B", 0.90, 0.70, 0.08)])
    assert ranks_of(sig) == {"C": 1, "A": 2, "B": 3}
    assert significance_ranks(sig, "Acc").set_index("rm").loc["B", "better"] == ("C", "A")


def test_the_level_decides_and_equal_values_may_rank_apart():
    sig = table([("A", "B", 0.8, 0.6, 0.03), ("A", "C", 0.8, 0.6, 0.20), ("B", "C", 0.6, 0.6, 1.0)])
    assert ranks_of(sig, alpha=0.05) == {"A": 1, "B": 2, "C": 1}  # B and C: equal values, only B is shown below A
    assert ranks_of(sig, alpha=0.01) == {"A": 1, "B": 1, "C": 1}


def _outcomes(correct: np.ndarray) -> pd.DataFrame:
    n = len(correct)
    return pd.DataFrame({"item_id": [f"i{k}" for k in range(n)], "prompt_id": [f"p{k}" for k in range(n)],
                         "goal": "all", "format": "pairwise", "scenario": "s", "correct": correct.astype(bool),
                         "tie": False, "invalid": False})


def test_golden_on_hand_made_paired_outcomes():
    """Real paired tests on hand-made per-item outcomes (200 items): twins share a rank, and every pair the Holm-adjusted
    test separates gets different ranks, the better RM the better rank."""
    n = 200
    k = np.arange(n)
    outcomes = {
        "top": _outcomes(k < 180),          # 0.90
        "top-twin": _outcomes(k < 180),     # the same outcomes: an equal RM
        "middle": _outcomes(k < 150),       # 0.75, right only where top is right
        "mixed": _outcomes((k % 4) != 0),   # 0.75, right on other items than middle
        "low": _outcomes(k < 100),          # 0.50
    }
    sig = paired_comparisons(outcomes, [Column("Acc", ((all_items(), 1.0),))], n_boot=400, seed=0, bootstrap="item")
    ranks = ranks_of(sig)
    assert ranks["top"] == ranks["top-twin"] == 1
    assert ranks["middle"] == ranks["mixed"] == 3  # equal accuracy on different items: not separated, one rank
    p = {frozenset((r.rm_a, r.rm_b)): (r.p_boot_holm, r.value_a - r.value_b, r.rm_a, r.rm_b) for r in sig.itertuples()}
    separated = 0
    for a, b in combinations(outcomes, 2):
        p_ab, diff, first, second = p[frozenset((a, b))]
        if p_ab < 0.05 and diff != 0:
            better, worse = (first, second) if diff > 0 else (second, first)
            assert ranks[better] < ranks[worse], (better, worse, ranks)
            separated += 1
    assert separated >= 6  # the test is not vacuous: most pairs differ
    assert ranks["low"] == 1 + 4  # every other RM is significantly better than low


def test_significance_matrix_text_contrasts_with_its_cell():
    """Issue 26, item 5: the matrix's cell text is black or white by the cell's luminance (it was a darker shade of
    the cell, unreadable on the dark ends of RdBu)."""
    from matplotlib import colormaps

    from rmeval.plots._common import text_on

    rdbu = colormaps["RdBu"]
    assert text_on(rdbu(0.0)) == "white" and text_on(rdbu(1.0)) == "white"  # the dark red and dark blue ends
    assert text_on(rdbu(0.5)) == "black" and text_on("#ffffff") == "black" and text_on("#000000") == "white"
