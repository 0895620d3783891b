"""Join a pairwise judge's shard comparison files into results/scores/{benchmark}/{rm}.comparisons.parquet.

io.items: the benchmark's items (the order and completeness check); io.shards: the shard files
(results/scores/{benchmark}/{rm}/shard-{i}-of-{K}.comparisons.parquet); io.out: the comparisons file, with the
shards' provider usage added up in its metadata.
"""

import logging

import pandas as pd

from rmeval.cost import merged_usage
from rmeval.scoring import read_scores, write_scores
from rmeval.sharding import merge_comparison_shards
from rmeval.stages._entry import entry, io_path, io_paths

log = logging.getLogger("rmeval.merge_comparisons")


@entry
def main(cfg):
    paths = io_paths(cfg, "shards")
    from rmeval.benchmarks import build_benchmark

    items = build_benchmark(cfg.benchmark).judged_items(pd.read_parquet(io_path(cfg, "items")))
    shards = [read_scores(p) for p in paths]
    merged = merge_comparison_shards(items, [frame for frame, _ in shards], paths)
    log.info("%d comparisons of %d items from %d shards", len(merged), len(items), len(paths))
    write_scores(merged, {"usage": merged_usage([meta.get("usage") for _, meta in shards])}, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
