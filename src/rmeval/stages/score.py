"""Score every unique text of a benchmark with one RM: results/scores/{benchmark}/{rm}.parquet.

With ``io.shards=K io.shard=i`` (the RM's ``score.shards``), only shard i of K of the texts (whole batches of
the unsharded plan, rmeval.sharding) is scored, into results/scores/{benchmark}/{rm}/shard-{i}-of-{K}.parquet;
rmeval.stages.merge_scores joins the shards into the usual score file.
"""

import logging
import time

import pandas as pd

from rmeval.config import machine_cpus, without_job_keys
from rmeval.llm.server import managed_server
from rmeval.provenance import provenance
from rmeval.rms import build_rm
from rmeval.rms.judge import require_some_valid
from rmeval.scoring import ScoreCache, score_texts, write_scores
from rmeval.sharding import batch_plan, shard_texts
from rmeval.stages._entry import entry, io_path

log = logging.getLogger("rmeval.score")


@entry
def main(cfg):
    import torch

    started = time.time()
    threads = cfg.scoring.threads or cfg.io.get("threads")
    if threads:
        torch.set_num_threads(max(1, min(int(threads), machine_cpus())))  # never more threads than CPUs
    rm = build_rm(cfg.rm)
    texts = pd.read_parquet(io_path(cfg, "texts"))
    count, index = int(cfg.io.get("shards") or 1), int(cfg.io.get("shard") or 0)
    shard, batch_of = None, None
    if count > 1:
        n_all = texts["text_id"].nunique()
        texts = shard_texts(rm, texts, index, count)
        batch_of = batch_plan(texts)  # the unsharded plan's batches: bit-identical scores
        shard = {"index": index, "count": count}
        log.info("%s: shard %d of %d: %d of %d unique texts", cfg.rm.name, index, count, len(texts), n_all)
    fingerprint = {"rm": cfg.rm.name, **rm.fingerprint()}
    cache = ScoreCache(io_path(cfg, "cache_dir"), fingerprint)
    with managed_server(cfg.rm.get("server"), cfg.rm.name):
        scores, stats = score_texts(rm, texts, cache, flush_every=cfg.scoring.flush_every_batches, progress=cfg.scoring.progress,
                                    batch_of=batch_of)
    require_some_valid(scores["score"].notna(), [], f"rm {rm.name}", "every score is NaN (for a rating judge: no [[n]] rating parsed)",
                       allow_all_invalid=bool(cfg.rm.get("allow_all_invalid", False)))
    meta = provenance(
        without_job_keys(cfg.rm), rm=cfg.rm.name, benchmark=cfg.benchmark.name, fingerprint=fingerprint,
        device=getattr(rm, "device", "cpu"), cache_key=cache.key, stats=stats.to_dict(),
        torch_threads=torch.get_num_threads(), job_span=[started, time.time()], **({"shard": shard} if shard else {}),
    )
    shared = f", {stats.shared_prefix_tokens:,} prompt-prefix tokens shared" if stats.shared_prefix_tokens else ""
    log.info("%s: %d texts (%d from cache, %d scored), %d truncated, padding efficiency %.3f%s, %.1f s",
             rm.name, stats.n_texts, stats.n_cached, stats.n_scored, stats.n_truncated, stats.padding_efficiency, shared,
             stats.wall_s)
    write_scores(scores, meta, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
