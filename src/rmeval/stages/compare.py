"""Pairwise generative judge on a benchmark's items: results/scores/{benchmark}/{rm}.comparisons.parquet.

With ``io.shards=K io.shard=i`` (the judge's ``score.shards``), only shard i of K of the items (rmeval.sharding.shard_items)
is judged, into results/scores/{benchmark}/{rm}/shard-{i}-of-{K}.comparisons.parquet; rmeval.stages.merge_comparisons
joins the shards into the usual comparisons file.
"""

import logging
from pathlib import Path

import pandas as pd

from rmeval.io import write_parquet
from rmeval.llm.cache import GenerationCache
from rmeval.llm.server import managed_server
from rmeval.rms import build_rm
from rmeval.rms.judge import require_some_valid
from rmeval.stages._entry import entry, io_path

log = logging.getLogger("rmeval.compare")


@entry
def main(cfg):
    judge = build_rm(cfg.rm)
    items = pd.read_parquet(io_path(cfg, "items"))
    texts = pd.read_parquet(io_path(cfg, "texts"))
    count, index = int(cfg.io.get("shards") or 1), int(cfg.io.get("shard") or 0)
    if count > 1:
        from rmeval.sharding import shard_items

        n_all = len(items)
        items = shard_items(items, index, count)
        log.info("%s: shard %d of %d: %d of %d items", cfg.rm.name, index, count, len(items), n_all)
    from rmeval.ids import stable_hash

    cache = GenerationCache(Path(io_path(cfg, "cache_dir")) / f"{stable_hash(judge.fingerprint())}.jsonl")
    with managed_server(cfg.rm.get("server"), cfg.rm.name):
        comparisons = judge.compare(items, texts, cache=cache, progress=cfg.scoring.progress)
    require_some_valid(comparisons["verdict"] != "invalid", comparisons["error"], f"pairwise judge {judge.name}",
                       f"no [[A]]/[[B]]/[[C]] verdict in any output (template {judge.template_name})",
                       allow_all_invalid=bool(cfg.rm.get("allow_all_invalid", False)))
    counts = comparisons["verdict"].value_counts().to_dict()
    log.info("%s: %d comparisons for %d items; verdicts %s", judge.name, len(comparisons), len(items), counts)
    write_parquet(comparisons, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
