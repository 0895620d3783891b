"""A virtual RM that combines other RMs' per-text scores from their score files (no model call).

- ``zmean``: each member's scores are z-scored over the texts of the benchmark (population sd; a member whose
  scores are all equal contributes 0), and the ensemble's score is the mean of its members' z-scores.
- ``borda``: a vote. Per prompt, each member ranks that prompt's texts (average ranks for its ties); the
  ensemble's score is the sum of its members' ranks (Borda count). Items compare texts of one prompt, so for a
  pair this is the majority vote of the members (an even split is a tie, counted as wrong like any tie), and for
  a BoN group the Borda winner must beat every loser.

A text with a NaN score from any member gets a NaN ensemble score (counted invalid by the metrics). An ensemble of
one RM orders every prompt's texts exactly as that RM does, so it has the same accuracy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from rmeval.config.fields import settings
from rmeval.errors import RmevalError
from rmeval.rms.base import RM_FAMILIES, SCORE_COLUMNS, BaseRMConfig

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

METHODS = ("zmean", "borda")


class EnsembleMethod(Enum):
    """How an ensemble combines its members' per-text scores (rmeval.rms.ensemble)."""

    zmean = "zmean"  # mean of the members' z-scores
    borda = "borda"  # vote: sum of the members' within-prompt ranks (majority vote on a pair)


@dataclass
class EnsembleRMConfig(BaseRMConfig):
    """A virtual RM: combines the score files of ``members`` (no model call; rmeval.stages.ensemble)."""

    members: list[str] = field(default_factory=list)  # RM names (conf/rm/<name>.yaml) with per-text scores
    method: EnsembleMethod = EnsembleMethod.zmean


class EnsembleError(RmevalError):
    """Member score files that cannot be combined (missing member, different texts)."""


@RM_FAMILIES.register()
class EnsembleRM:
    """Not a PointwiseRM: its scores are computed from its members' score files (the ensemble stage)."""

    Config = EnsembleRMConfig
    combines_members = True
    kind = "ensemble"

    def __init__(self, config: EnsembleRMConfig | None = None, **given):
        c = self.config = settings(EnsembleRMConfig, config, given, "EnsembleRM")
        name, members, method = c.name, c.members, getattr(c.method, "value", c.method)
        if method not in METHODS:
            raise EnsembleError(f"rm {name}: field 'method': expected one of {', '.join(METHODS)}, got {method!r}")
        if not members:
            raise EnsembleError(f"rm {name}: field 'members': list at least one RM")
        if len(set(members)) != len(members):
            raise EnsembleError(f"rm {name}: field 'members': an RM is listed twice in {list(members)}")
        self.name, self.members, self.method = name, list(members), method

    def fingerprint(self) -> dict:
        return {"family": "ensemble", "members": self.members, "method": self.method}

    def combine(self, member_scores: Mapping[str, pd.DataFrame], texts: pd.DataFrame | None = None) -> pd.DataFrame:
        """A score frame (text_id, score, n_tokens, truncated) from the members' score frames, keyed by RM name."""
        missing = [m for m in self.members if m not in member_scores]
        if missing:
            raise EnsembleError(f"rm {self.name}: field 'members': no score file for {', '.join(missing)} "
                                f"(given: {', '.join(member_scores) or 'none'})")
        frames = {m: member_scores[m] for m in self.members}
        return combine_scores(frames, self.method, texts, self.name)


def _aligned(frames: Mapping[str, pd.DataFrame], where: str) -> tuple[pd.Index, dict[str, pd.DataFrame]]:
    import pandas as pd

    names = list(frames)
    for name, frame in frames.items():
        absent = [c for c in SCORE_COLUMNS if c not in frame.columns]
        if absent:
            raise EnsembleError(f"{where}: member {name}: field {absent[0]!r} missing: members must be pointwise RMs "
                                "with a score file (a pairwise judge's comparisons cannot be combined)")
    ids = pd.Index(frames[names[0]]["text_id"])
    if ids.has_duplicates:
        raise EnsembleError(f"{where}: member {names[0]}: field 'text_id': duplicated ids")
    out = {}
    for name in names:
        frame = frames[name].set_index("text_id")
        if set(frame.index) != set(ids):
            extra = sorted(set(ids) ^ set(frame.index))
            raise EnsembleError(f"{where}: member {name}: field 'text_id': its texts differ from {names[0]}'s "
                                f"({len(extra)} differ, e.g. {extra[0]}); score every member on the same benchmark")
        out[name] = frame.loc[ids]
    return ids, out


def zscores(scores: np.ndarray) -> np.ndarray:
    """(x − mean) / sd over the non-NaN scores (population sd); all 0 when the scores do not vary."""
    scores = np.asarray(scores, dtype=np.float64)
    ok = ~np.isnan(scores)
    if not ok.any():
        return scores.copy()
    mean, sd = scores[ok].mean(), scores[ok].std()
    return np.where(ok, (scores - mean) / sd if sd > 0 else 0.0, np.nan)


def within_prompt_ranks(scores: np.ndarray, prompts: np.ndarray) -> np.ndarray:
    """Average ranks (1 = lowest) of the scores within each prompt; NaN scores stay NaN."""
    import pandas as pd

    frame = pd.DataFrame({"prompt": prompts, "score": scores})
    return frame.groupby("prompt", sort=False)["score"].rank(method="average").to_numpy(dtype=np.float64)


def combine_scores(frames: Mapping[str, pd.DataFrame], method: str, texts: pd.DataFrame | None = None,
                   where: str = "ensemble") -> pd.DataFrame:
    """Combine member score frames (same text_ids) by ``method``: "zmean" or "borda" (needs ``texts``' prompt_id)."""
    import pandas as pd

    if method not in METHODS:
        raise EnsembleError(f"{where}: field 'method': expected one of {', '.join(METHODS)}, got {method!r}")
    ids, aligned = _aligned(frames, where)
    if method == "borda":
        if texts is None:
            raise EnsembleError(f"{where}: the borda vote ranks texts within prompts: give the benchmark's texts (io.texts)")
        prompt_of = dict(zip(texts["text_id"], texts["prompt_id"]))
        unknown = [t for t in ids if t not in prompt_of]
        if unknown:
            raise EnsembleError(f"{where}: texts: field 'text_id': no prompt for {unknown[0]} ({len(unknown)} in all)")
        prompts = np.array([prompt_of[t] for t in ids])
    parts = []
    for name, frame in aligned.items():
        s = frame["score"].to_numpy(dtype=np.float64)
        if method == "zmean" and np.nanstd(s) == 0:
            log.warning("%s: member %s gives every text the same score; it contributes nothing", where, name)
        parts.append(zscores(s) if method == "zmean" else within_prompt_ranks(s, prompts))
    stack = np.vstack(parts)
    combined = np.where(np.isnan(stack).any(axis=0), np.nan, stack.mean(axis=0) if method == "zmean" else stack.sum(axis=0))
    out = pd.DataFrame({
        "text_id": list(ids),
        "score": combined,
        "n_tokens": np.max([f["n_tokens"].to_numpy(dtype=np.int64) for f in aligned.values()], axis=0),
        "truncated": np.any([f["truncated"].to_numpy(dtype=bool) for f in aligned.values()], axis=0),
    })
    return out[SCORE_COLUMNS]
