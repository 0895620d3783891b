"""Paired comparisons of every pair of RMs on every headline column: results/significance/{benchmark}.csv.

io.items: the benchmark's items; io.scores: score parquet files (one per pointwise RM); io.comparisons (optional):
comparisons parquet files (one per pairwise judge); io.out: the CSV; io.md (optional): the same table in markdown.
"""

from pathlib import Path

import pandas as pd

from rmeval.io import write_text
from rmeval.scoring import read_scores
from rmeval.stages._entry import entry, io_path
from rmeval.metrics.paired import significance_table


def _paths(cfg, key: str) -> list[str]:
    value = cfg.io.get(key)
    if not value:
        return []
    return [str(value)] if isinstance(value, str) else [str(p) for p in value]


def rm_name(path: str, meta: dict | None = None) -> str:
    """The RM of a result file: its provenance's ``rm``, else the file name without its suffixes."""
    return (meta or {}).get("rm") or Path(path).name.split(".")[0]


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark

    items = pd.read_parquet(io_path(cfg, "items"))
    scores = {}
    for path in _paths(cfg, "scores"):
        frame, meta = read_scores(path)
        scores[rm_name(path, meta)] = frame
    comparisons = {rm_name(p): pd.read_parquet(p) for p in _paths(cfg, "comparisons")}
    m = cfg.metrics
    table = significance_table(build_benchmark(cfg.benchmark), items, scores, comparisons, n_boot=m.n_boot,
                               level=m.ci_level, seed=m.seed, bootstrap=m.bootstrap)
    write_text(table.to_csv(index=False, float_format="%.6g"), io_path(cfg, "out"))
    if cfg.io.get("md"):
        from rmeval.leaderboards import significance_markdown

        write_text(significance_markdown(table, cfg.benchmark.name), io_path(cfg, "md"))
    n_rms = len(scores) + len(comparisons)
    print(f"{len(table)} comparisons: {n_rms} RMs, {table['column'].nunique() if len(table) else 0} columns, "
          f"{m.bootstrap} bootstrap, Holm across pairs")


if __name__ == "__main__":
    main()
