"""Load a benchmark from its config: the benchmark object's reader plus the shared steps (see rmeval.benchmarks)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def load_benchmark(bench: dict, root: str | Path | None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(items, texts, report) for a benchmark config (``conf/benchmark/*.yaml`` as a dict or node)."""
    from rmeval.benchmarks import build_benchmark

    return build_benchmark(bench).load(root)
