"""Checks shared by the scale-out tests (tests/e2e/test_no_oversubscription.py, tests/slurm)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rmeval.scoring import read_scores


def planned(log: str) -> int:
    """Jobs in a Snakemake log's job-stats table, the `all` rule left out (it runs in the main process)."""
    match = re.search(r"^total\s+(\d+)$", log, flags=re.M)
    assert match, "no job stats in the Snakemake log"
    return int(match.group(1)) - 1


def assert_no_overlap(workdir: Path, rms: list[str]) -> None:
    """The score jobs of these (local-model) RMs ran one after another, torch on at most the machine's CPUs."""
    spans = []
    for rm in rms:
        for path in sorted(Path(workdir).glob(f"results/scores/*/{rm}.parquet")):
            _, meta = read_scores(path)
            assert meta["torch_threads"] <= (os.cpu_count() or 1), (path, meta["torch_threads"])
            spans.append((*meta["job_span"], str(path)))
    assert len(spans) >= 2, spans
    spans.sort()
    for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
        assert start >= end, f"{a} and {b} were scored at the same time"
