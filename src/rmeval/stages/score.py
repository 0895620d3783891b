"""Score every unique text of a benchmark with one RM: results/scores/{benchmark}/{rm}.parquet."""

import json
import logging

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rmeval.config import to_plain
from rmeval.io import atomic_path
from rmeval.llm.server import managed_server
from rmeval.provenance import provenance
from rmeval.rms import build_rm
from rmeval.scoring import ScoreCache, score_texts
from rmeval.stages._entry import entry, io_path

log = logging.getLogger("rmeval.score")


@entry
def main(cfg):
    import torch

    threads = cfg.scoring.threads or cfg.io.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    rm = build_rm(cfg.rm)
    texts = pd.read_parquet(io_path(cfg, "texts"))
    fingerprint = {"rm": cfg.rm.name, **rm.fingerprint()}
    cache = ScoreCache(io_path(cfg, "cache_dir"), fingerprint)
    with managed_server(cfg.rm.get("server"), cfg.rm.name):
        scores, stats = score_texts(rm, texts, cache, flush_every=cfg.scoring.flush_every_batches, progress=cfg.scoring.progress)
    meta = provenance(
        to_plain(cfg.rm), rm=cfg.rm.name, benchmark=cfg.benchmark.name, fingerprint=fingerprint,
        device=getattr(rm, "device", "cpu"), cache_key=cache.key, stats=stats.to_dict(),
    )
    log.info("%s: %d texts (%d from cache, %d scored), %d truncated, padding efficiency %.3f, %.1f s",
             rm.name, stats.n_texts, stats.n_cached, stats.n_scored, stats.n_truncated, stats.padding_efficiency, stats.wall_s)
    table = pa.Table.from_pandas(scores, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"rmeval": json.dumps(meta, default=str).encode()})
    with atomic_path(io_path(cfg, "out")) as tmp:
        pq.write_table(table, tmp)


if __name__ == "__main__":
    main()
