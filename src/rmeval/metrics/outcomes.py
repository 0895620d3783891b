"""Per-item outcomes: whether an RM ranks each item's best response above every loser.

A pairwise item is a best-of-N group with one loser, so both formats share one code path: margin = r(best) −
max r(losers); correct iff margin > 0 (strictly: a tie is wrong and counted); invalid iff some score is not finite
(NaN or ±inf: two equal infinite scores are no tie, they are invalid and counted).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rmeval.data.schema import FORMATS
from rmeval.errors import RmevalError
from rmeval.metrics.bootstrap import CLUSTER_COLUMN

OUTCOME_KEYS = ("item_id", "prompt_id", "format", "goal", "task", "scenario")  # carried from items into outcomes


class ScoreMissingError(RmevalError, KeyError):
    """An item references a text the score file (or a comparison the comparisons table) does not have."""


def item_outcomes(items: pd.DataFrame, scores: Mapping[str, float] | pd.Series) -> pd.DataFrame:
    """One row per item: margin = r(best) − max r(losers); correct (margin > 0), tie (margin == 0),
    invalid (some score is NaN or infinite), plus the item's grouping columns, its number of losers and
    ``identical`` (a loser is the best's own text: no scorer can get the item right)."""
    lookup = scores if isinstance(scores, Mapping) else scores.to_dict()
    margins = np.empty(len(items), dtype=np.float64)
    invalid = np.zeros(len(items), dtype=bool)
    n_losers = np.empty(len(items), dtype=np.int64)
    identical = np.zeros(len(items), dtype=bool)
    for i, (item_id, best, losers) in enumerate(zip(items["item_id"], items["chosen_id"], items["rejected_ids"])):
        try:
            s_best = lookup[best]
            s_losers = [lookup[t] for t in losers]
        except KeyError as err:
            raise ScoreMissingError(f"item {item_id}: field 'text_id': no score for {err.args[0]}") from None
        n_losers[i] = len(s_losers)
        identical[i] = best in losers
        if not np.isfinite(s_best) or not all(np.isfinite(s) for s in s_losers):
            invalid[i] = True
            margins[i] = np.nan
        else:
            margins[i] = s_best - max(s_losers)
    out = items[[c for c in OUTCOME_KEYS if c in items.columns]].copy()
    out["n_losers"] = n_losers
    out["identical"] = identical
    out["margin"] = margins
    out["invalid"] = invalid
    out["correct"] = ~invalid & (np.nan_to_num(margins, nan=0.0) > 0)
    out["tie"] = ~invalid & (np.nan_to_num(margins, nan=1.0) == 0)
    return out.reset_index(drop=True)


def with_prompt_ids(items: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Outcomes with the items' prompt_id (joined by item_id) when they lack it (e.g. a judge's outcomes)."""
    if CLUSTER_COLUMN in outcomes.columns or CLUSTER_COLUMN not in items.columns:
        return outcomes
    lookup = dict(zip(items["item_id"], items[CLUSTER_COLUMN]))
    out = outcomes.copy()
    out[CLUSTER_COLUMN] = out["item_id"].map(lookup)
    return out
