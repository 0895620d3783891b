"""The canonical ``items`` and ``texts`` tables every benchmark is normalised into (docs/design.md).

items: one row per pairwise item or best-of-N group.
    item_id, benchmark, format (pairwise|bon), goal, task, scenario, prompt_id,
    chosen_id, rejected_ids (list), chosen_model, rejected_models (list),
    chosen_score, rejected_scores (list; the judge's scores where the release carries them),
    source_file, source_index
texts: one row per unique (conversation, response).
    text_id, prompt_id, conversation (list of {role, content}), response, source_model, judge_score
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rmeval.errors import RmevalError

if TYPE_CHECKING:
    import pandas as pd

ITEM_COLUMNS = [
    "item_id", "benchmark", "format", "goal", "task", "scenario", "prompt_id", "chosen_id", "rejected_ids",
    "chosen_model", "rejected_models", "chosen_score", "rejected_scores", "source_file", "source_index",
]
TEXT_COLUMNS = ["text_id", "prompt_id", "conversation", "response", "source_model", "judge_score"]
FORMATS = ("pairwise", "bon")


class DataError(RmevalError):
    """A malformed input record; the message names the file, the record and the field."""


def finalize_items(items: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if items.empty:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    extra = [c for c in items.columns if c not in ITEM_COLUMNS]  # benchmark-specific columns are kept after these
    items = items[ITEM_COLUMNS + extra].copy()
    items["chosen_score"] = items["chosen_score"].astype("float64")
    items["rejected_scores"] = [[np.nan if s is None else float(s) for s in row] for row in items["rejected_scores"]]
    items["source_index"] = items["source_index"].astype("int64")
    return items.sort_values(["format", "goal", "task", "scenario", "item_id"], kind="stable").reset_index(drop=True)


def finalize_texts(texts: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if texts.empty:
        return pd.DataFrame(columns=TEXT_COLUMNS)
    texts = texts[TEXT_COLUMNS].copy()
    texts["judge_score"] = texts["judge_score"].astype("float64")
    return texts.sort_values("text_id", kind="stable").reset_index(drop=True)


def check_references(items: pd.DataFrame, texts: pd.DataFrame, where: str) -> None:
    """Every text an item references must exist; item ids must be unique."""
    dup = items["item_id"][items["item_id"].duplicated()]
    if len(dup):
        raise DataError(f"{where}: record {dup.index[0]}: field 'item_id': duplicate item_id {dup.iloc[0]}")
    known = set(texts["text_id"])
    for idx, row in enumerate(items.itertuples(index=False)):
        for tid in [row.chosen_id, *row.rejected_ids]:
            if tid not in known:
                raise DataError(f"{where}: record {idx} (item_id={row.item_id}): field 'text_id': {tid} not in texts")


def assign_positions(items: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Where a pairwise judge is shown the chosen response ("A" or "B"), one per rejected response.

    Drawn once, when the items are built, from an RNG seeded by (seed, item_id): stable under subsampling and
    reordering, stored in the data, never drawn at inference time.
    """
    from rmeval.ids import stable_hash

    positions = []
    for item_id, rejected in zip(items["item_id"], items["rejected_ids"]):
        rng = np.random.default_rng(int(stable_hash(["positions", seed, item_id]), 16))
        positions.append(["A" if b else "B" for b in rng.random(len(rejected)) < 0.5])
    items = items.copy()
    items["chosen_positions"] = positions
    return items


def referenced_texts(items: pd.DataFrame) -> set[str]:
    """Every text an item references (chosen, rejected, and RewardBench 2 Ties' other correct answers)."""
    used = set(items["chosen_id"]) | {t for ids in items["rejected_ids"] for t in ids}
    if "chosen_ids" in items.columns:
        used |= {t for ids in items["chosen_ids"] if ids is not None for t in ids}
    return used


def subsample(items: pd.DataFrame, texts: pd.DataFrame, per_scenario: int | None, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded stratified subsample: at most ``per_scenario`` items per (format, goal, scenario)."""
    import pandas as pd

    if not per_scenario:
        return items, texts
    rng = np.random.default_rng(seed)
    keep = []
    for _, group in items.groupby(["format", "goal", "scenario"], sort=True):
        if len(group) <= per_scenario:
            keep.append(group)
        else:
            keep.append(group.iloc[np.sort(rng.choice(len(group), size=per_scenario, replace=False))])
    items = pd.concat(keep).sort_index(kind="stable") if keep else items.iloc[:0]
    texts = texts[texts["text_id"].isin(referenced_texts(items))].reset_index(drop=True)
    return items.reset_index(drop=True), texts


def count_table(items: pd.DataFrame, texts: pd.DataFrame) -> dict:
    """Counts per goal x format, plus slots (responses referenced) and unique texts."""
    counts: dict = {"items": {}, "slots": 0, "unique_texts": int(len(texts))}
    for (goal, fmt), group in items.groupby(["goal", "format"], sort=True):
        counts["items"].setdefault(goal, {})[fmt] = int(len(group))
    counts["slots"] = int(len(items) + sum(len(r) for r in items["rejected_ids"]))
    bon = items[items["format"] == "bon"]
    counts["bon_mean_losers"] = float(np.mean([len(r) for r in bon["rejected_ids"]])) if len(bon) else None
    return counts
