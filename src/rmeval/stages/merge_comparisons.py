"""Join a pairwise judge's shard comparison files into results/scores/{benchmark}/{rm}.comparisons.parquet.

io.items: the benchmark's items (the order and completeness check); io.shards: the shard files
(results/scores/{benchmark}/{rm}/shard-{i}-of-{K}.comparisons.parquet); io.out: the comparisons file.
"""

import logging

import pandas as pd

from rmeval.io import write_parquet
from rmeval.sharding import merge_comparison_shards
from rmeval.stages._entry import entry, io_path, io_paths

log = logging.getLogger("rmeval.merge_comparisons")


@entry
def main(cfg):
    paths = io_paths(cfg, "shards")
    items = pd.read_parquet(io_path(cfg, "items"), columns=["item_id"])
    merged = merge_comparison_shards(items, [pd.read_parquet(p) for p in paths], paths)
    log.info("%d comparisons of %d items from %d shards", len(merged), len(items), len(paths))
    write_parquet(merged, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
