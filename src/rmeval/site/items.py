"""The item browser's data: every RM's outcome on every item, the suspect-item flags, and the split of items and
texts into chunks that a page loads only when it shows them.

- ``outcome_codes``: one character per item and RM: ``R`` right (the best response strictly above every loser, or
  the judge's verdicts won under the benchmark's order rule), ``W`` wrong, ``T`` tie, ``I`` invalid (a score that is
  not finite, an invalid verdict), ``-`` not judged item by item (formats other than pairwise and best-of-N, e.g.
  RewardBench 2's Ties groups, which the benchmark scores as a whole). The rules are the metrics' own
  (``rmeval.metrics.item_outcomes``, ``Benchmark.comparison_outcomes``), so the browser agrees with the leaderboard.
- ``item_flags``: ``identical`` (a loser is the chosen text itself: no RM can get the item right; RMB's 11 pairs and
  its best-of-N groups whose loser equals the best) and ``judge_conflict`` (a rejected response's judge score is not
  below the chosen one's: the label disagrees with the benchmark's own judge).
- ``chunks``: items go to chunks by prompt (an item's texts share its prompt, so one chunk holds an item and
  everything it shows); every text and every conversation is written once, keyed by ``text_id`` / ``prompt_id``;
  a chunk closes once it holds ``target_bytes`` of text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmeval.data.schema import FORMATS, ITEM_COLUMNS, DataError
from rmeval.metrics import ScoreMissingError, item_outcomes

RIGHT, WRONG, TIE, INVALID, UNJUDGED = "R", "W", "T", "I", "-"
#: flag bits of an item in the index (ALL_WRONG: no non-baseline RM gets it right, set by ``rmeval.site.item_index``)
IDENTICAL, JUDGE_CONFLICT, ALL_WRONG = 1, 2, 4
#: text (responses and conversations) per chunk before it closes; RMB's largest response is ~60 KB
CHUNK_BYTES = 200_000
#: item columns shown as the item's own details (beyond the canonical ones the page lays out)
_LAID_OUT = {*ITEM_COLUMNS, "chosen_ids", "chosen_positions"}


def codes_from_outcomes(outcomes: pd.DataFrame) -> dict[str, str]:
    """item_id -> outcome code from an outcomes frame (``correct``, ``tie``, ``invalid`` columns)."""
    codes = np.where(outcomes["correct"], RIGHT, np.where(outcomes["invalid"], INVALID, np.where(outcomes["tie"], TIE, WRONG)))
    return dict(zip(outcomes["item_id"], codes))


def outcome_codes(bench: Any, items: pd.DataFrame, scores: Mapping[str, pd.DataFrame],
                  comparisons: Mapping[str, pd.DataFrame], sources: Mapping[str, str] | None = None) -> dict[str, str]:
    """Per RM, one outcome code per item, in the items' order. ``scores``: RM -> its score table (text_id, score);
    ``comparisons``: pairwise judge -> its comparisons table; ``sources``: RM -> the file it came from (for errors)."""
    judged = items[items["format"].isin(FORMATS)]
    out = {}
    for rm, table in [*scores.items(), *comparisons.items()]:
        where = (sources or {}).get(rm, rm)
        try:
            if rm in scores:
                lookup = dict(zip(table["text_id"], table["score"].astype(float)))
                codes = codes_from_outcomes(item_outcomes(judged, lookup))
            else:
                codes = codes_from_outcomes(bench.comparison_outcomes(judged, table)[0])
        except ScoreMissingError as err:
            raise DataError(f"{where}: {err.args[0]}") from None
        except KeyError as err:
            raise DataError(f"{where}: field {err.args[0]!r}: no such column") from None
        out[rm] = "".join(codes.get(i, UNJUDGED) for i in items["item_id"])
    return out


def finite(v: Any) -> bool:
    """A judge score that is present and finite."""
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and np.isfinite(float(v))


def item_flags(items: pd.DataFrame) -> np.ndarray:
    """The ``IDENTICAL`` and ``JUDGE_CONFLICT`` bits of each item (see the module docstring)."""
    flags = np.zeros(len(items), dtype=np.int64)
    for i, (best, losers, c_score, r_scores) in enumerate(zip(items["chosen_id"], items["rejected_ids"],
                                                              items["chosen_score"], items["rejected_scores"])):
        if best in set(losers):
            flags[i] |= IDENTICAL
        if finite(c_score) and any(finite(s) and float(s) >= float(c_score) for s in (r_scores if r_scores is not None else [])):
            flags[i] |= JUDGE_CONFLICT
    return flags


def all_wrong(codes: Mapping[str, str], rms: Sequence[str], n_items: int) -> np.ndarray:
    """Items that none of ``rms`` gets right (each of them wrong, tied or invalid; an unjudged item is never in)."""
    if not rms:
        return np.zeros(n_items, dtype=bool)
    table = np.array([list(codes[rm]) for rm in rms]).reshape(len(rms), n_items)
    return ((table != RIGHT) & (table != UNJUDGED)).all(axis=0)


def number(v: Any, nan: Any = None) -> Any:
    """A score or judge score as JSON: a finite float, None for a missing one, "inf"/"-inf" for an infinite one, and
    ``nan`` for NaN (None: a judge score the item does not have; "NaN": an RM's score that is not a number)."""
    if v is None or v is pd.NA:
        return None
    v = float(v)
    if math.isnan(v):
        return nan
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")


def plain(v: Any) -> Any:
    """A table cell as JSON (arrays as lists, numpy scalars as Python ones, NaN as None)."""
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v]
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else str(v)
    return v


def _id_list(v: Any) -> list[str]:
    return [] if v is None or (isinstance(v, float) and math.isnan(v)) else [str(t) for t in v]


@dataclass
class Chunks:
    """Items and texts split into chunks. ``of_item``: chunk of each item (items' order); ``records``: per chunk,
    ``{"items": {item_id: ...}, "texts": {text_id: ...}, "conversations": {prompt_id: ...}}``."""

    of_item: list[int]
    records: list[dict] = field(default_factory=list)


def conversation_keys(texts: pd.DataFrame) -> dict[str, str]:
    """text_id -> the key its conversation is stored under: its prompt_id, unless another text of that prompt has a
    different conversation (then its own text_id), so each distinct conversation is written once."""
    first: dict[str, str] = {}
    keys = {}
    for tid, pid, conv in zip(texts["text_id"], texts["prompt_id"], texts["conversation"]):
        blob = json.dumps(plain(conv), ensure_ascii=False, sort_keys=True)
        key = str(pid)
        if first.setdefault(key, blob) != blob:
            key = str(tid)
        keys[str(tid)] = key
    return keys


def split_chunks(items: pd.DataFrame, texts: pd.DataFrame, scores: Mapping[str, pd.DataFrame],
                 comparisons: Mapping[str, pd.DataFrame], target_bytes: int = CHUNK_BYTES, where: str = "items") -> Chunks:
    """Split items, their texts, the conversations, the RMs' scores and the judges' verdicts into chunks.

    Prompts are taken in the order their first item appears; a prompt's items go to the current chunk, with every
    text they reference that no chunk holds yet; the chunk closes once its texts reach ``target_bytes``. An item
    whose text sits in an earlier chunk (a text shared across prompts) lists that chunk in ``more``. ``where``: the
    items file, named by the error an item referencing an unknown text raises."""
    by_text = {str(r["text_id"]): r for r in texts.to_dict("records")}
    conv_key = conversation_keys(texts)
    rm_scores = {rm: dict(zip(t["text_id"].astype(str), t["score"])) for rm, t in scores.items()}
    verdicts = {rm: {k: g for k, g in t.groupby("item_id", sort=False)} for rm, t in comparisons.items()}
    extra_cols = [c for c in items.columns if c not in _LAID_OUT]
    order: list[str] = []
    prompt_items: dict[str, list[int]] = {}
    for i, pid in enumerate(items["prompt_id"].astype(str)):
        if pid not in prompt_items:
            order.append(pid)
            prompt_items[pid] = []
        prompt_items[pid].append(i)
    of_item = [0] * len(items)
    text_chunk: dict[str, int] = {}
    conv_chunk: dict[str, int] = {}
    records: list[dict] = []
    current: dict = {}
    size = 0
    rows = items.to_dict("records")
    for pid in order:
        if not current or size >= target_bytes:
            current = {"items": {}, "texts": {}, "conversations": {}}
            records.append(current)
            size = 0
        k = len(records) - 1
        for i in prompt_items[pid]:
            row = rows[i]
            chosen = _id_list(row.get("chosen_ids")) or [str(row["chosen_id"])]
            rejected = _id_list(row["rejected_ids"])
            needed = set()
            for tid in [*chosen, *rejected]:
                if tid not in by_text:
                    raise DataError(f"{where}: record {i} (item_id={row['item_id']}): field 'text_id': {tid} not in texts")
                if tid not in text_chunk:
                    text = by_text[tid]
                    text_chunk[tid] = k
                    current["texts"][tid] = {
                        "response": str(text["response"]), "model": plain(text["source_model"]),
                        "judge_score": number(text["judge_score"]), "conversation": conv_key[tid],
                        "scores": {rm: number(s[tid], nan="NaN") if tid in s else None for rm, s in rm_scores.items()},
                    }
                    size += len(current["texts"][tid]["response"].encode("utf-8"))
                    ckey = conv_key[tid]
                    if ckey not in conv_chunk:
                        conv_chunk[ckey] = k
                        turns = [{"role": str(t["role"]), "content": str(t["content"])} for t in plain(text["conversation"])]
                        current["conversations"][ckey] = turns
                        size += sum(len(t["content"].encode("utf-8")) for t in turns)
                needed.add(text_chunk[tid])
                needed.add(conv_chunk[conv_key[tid]])
            of_item[i] = k
            current["items"][str(row["item_id"])] = {
                "chosen": chosen, "rejected": rejected,
                "chosen_score": number(row["chosen_score"]),
                "rejected_scores": [number(s) for s in (row["rejected_scores"] if row["rejected_scores"] is not None else [])],
                "chosen_model": plain(row["chosen_model"]), "rejected_models": plain(row["rejected_models"]),
                "prompt_id": str(row["prompt_id"]), "source": f"{row['source_file']} #{row['source_index']}",
                "details": {c: plain(row[c]) for c in extra_cols},
                "verdicts": {rm: _verdicts(v[row["item_id"]]) for rm, v in verdicts.items() if row["item_id"] in v},
                "more": sorted(needed - {k}),
            }
    return Chunks(of_item=of_item, records=records)


VERDICT_FIELDS = ("loser_index", "order", "a_id", "b_id", "chosen_is_a", "verdict", "chosen_won", "raw", "error")


def _verdicts(rows: pd.DataFrame) -> list[dict]:
    """A judge's comparisons of one item, by loser then order, with its raw output."""
    rows = rows.sort_values(["loser_index", "order"], kind="stable")
    return [{f: plain(r[f]) for f in VERDICT_FIELDS if f in rows.columns} for _, r in rows.iterrows()]
