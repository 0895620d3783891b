"""Score every unique text of a benchmark with one RM: results/scores/{benchmark}/{rm}.parquet."""

import logging

import pandas as pd

from rmeval.config import to_plain
from rmeval.llm.server import managed_server
from rmeval.provenance import provenance
from rmeval.rms import build_rm
from rmeval.rms.judge import require_some_valid
from rmeval.scoring import ScoreCache, score_texts, write_scores
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
    require_some_valid(scores["score"].notna(), [], f"rm {rm.name}", "every score is NaN (for a rating judge: no [[n]] rating parsed)",
                       allow_all_invalid=bool(cfg.rm.get("allow_all_invalid", False)))
    meta = provenance(
        to_plain(cfg.rm), rm=cfg.rm.name, benchmark=cfg.benchmark.name, fingerprint=fingerprint,
        device=getattr(rm, "device", "cpu"), cache_key=cache.key, stats=stats.to_dict(),
    )
    log.info("%s: %d texts (%d from cache, %d scored), %d truncated, padding efficiency %.3f, %.1f s",
             rm.name, stats.n_texts, stats.n_cached, stats.n_scored, stats.n_truncated, stats.padding_efficiency, stats.wall_s)
    write_scores(scores, meta, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
