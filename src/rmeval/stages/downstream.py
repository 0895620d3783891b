"""Best-of-N on the held-out half of prompts, plus benchmark metrics on the other half:
results/downstream/{benchmark}/{rm}.json (``rmeval.downstream.rm_downstream``). Pointwise RMs pick by score;
pairwise judges by a knockout."""

from pathlib import Path

import pandas as pd

from rmeval.config import to_plain
from rmeval.io import write_json
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark
    from rmeval.downstream import rm_downstream

    items = pd.read_parquet(io_path(cfg, "items"))
    inputs = {}
    if cfg.io.get("comparisons"):  # a pairwise generative judge, with its generation cache
        from rmeval.ids import stable_hash
        from rmeval.llm.cache import GenerationCache
        from rmeval.rms import build_rm

        judge = build_rm(cfg.rm)
        inputs = {"judge": judge, "texts": pd.read_parquet(io_path(cfg, "texts")),
                  "comparisons": pd.read_parquet(io_path(cfg, "comparisons")), "progress": cfg.scoring.progress,
                  "cache": GenerationCache(Path(io_path(cfg, "cache_dir")) / f"{stable_hash(judge.fingerprint())}.jsonl")}
    else:
        from rmeval.scoring import read_scores

        inputs["scores"], inputs["score_meta"] = read_scores(io_path(cfg, "scores"))
    result = rm_downstream(build_benchmark(cfg.benchmark), items, io_path(cfg, "rm"), to_plain(cfg.downstream),
                           to_plain(cfg.metrics), **inputs)
    write_json(result, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
