"""Dispatch from a benchmark config to its loader, then subsample and check references."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from rmeval.data.rewardbench import load_rewardbench, load_rewardbench2
from rmeval.data.rmb import load_rmb
from rmeval.data.schema import DataError, assign_positions, check_references, count_table, subsample

log = logging.getLogger(__name__)

LOADERS = {"rmb": load_rmb, "rewardbench": load_rewardbench, "rewardbench2": load_rewardbench2}


def load_benchmark(bench: dict, root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(items, texts, report) for a benchmark config (``conf/benchmark/*.yaml`` as a dict)."""
    loader = LOADERS.get(bench["loader"])
    if loader is None:
        raise DataError(f"benchmark {bench['name']}: field 'loader': unknown loader {bench['loader']!r}; known: {', '.join(LOADERS)}")
    items, texts, report = loader(root, benchmark=bench["name"], check_manifest=bench.get("check_manifest", True))
    full = count_table(items, texts)
    sample = bench.get("sample") or {}
    items, texts = subsample(items, texts, sample.get("per_scenario"), int(sample.get("seed", 0)))
    check_references(items, texts, f"{root}")
    items = assign_positions(items, int(bench.get("position_seed", 0)))
    counts = count_table(items, texts)
    for goal, per_fmt in counts["items"].items():
        for fmt, n in per_fmt.items():
            log.info("%s: %s %s: %d items", bench["name"], goal, fmt, n)
    log.info("%s: %d response slots, %d unique texts (each scored once per RM)", bench["name"], counts["slots"], counts["unique_texts"])
    out = report.to_dict()
    out.update({"benchmark": bench["name"], "counts": counts, "counts_before_sampling": full, "sample": sample})
    return items, texts, out
