"""Join one (benchmark, RM)'s shard score files into results/scores/{benchmark}/{rm}.parquet.

io.texts: the benchmark's texts (the order and completeness check); io.shards: the shard files
(results/scores/{benchmark}/{rm}/shard-{i}-of-{K}.parquet); io.out: the score file.
"""

import logging

import pandas as pd

from rmeval.scoring import read_scores, write_scores
from rmeval.sharding import merge_shards, merge_stats
from rmeval.stages._entry import entry, io_path, io_paths

log = logging.getLogger("rmeval.merge_scores")


@entry
def main(cfg):
    paths = io_paths(cfg, "shards")
    texts = pd.read_parquet(io_path(cfg, "texts"), columns=["text_id"])
    frames, metas = zip(*(read_scores(p) for p in paths))
    scores = merge_shards(texts, frames, paths)
    meta = {k: v for k, v in metas[0].items() if k not in ("stats", "shard")}
    meta["stats"] = merge_stats([m.get("stats") for m in metas])
    meta["shards"] = [{"path": p, "stats": m.get("stats")} for p, m in zip(paths, metas)]
    log.info("%s: %d texts from %d shards", meta.get("rm"), len(scores), len(paths))
    write_scores(scores, meta, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
