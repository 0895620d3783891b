"""Best-of-N on the held-out half of prompts, plus benchmark metrics on the other half:
results/downstream/{benchmark}/{rm}.json. Pointwise RMs pick by score; pairwise judges by a knockout."""

from pathlib import Path

import pandas as pd

from rmeval.config import to_plain
from rmeval.io import write_json
from rmeval.provenance import provenance
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark
    from rmeval.downstream import downstream_summary, downstream_summary_judge
    from rmeval.scoring import read_scores

    bench = build_benchmark(cfg.benchmark)
    items = pd.read_parquet(io_path(cfg, "items"))
    down_cfg, metrics_cfg = to_plain(cfg.downstream), to_plain(cfg.metrics)

    def evaluate_half(half, scores=None, outcomes=None):
        return bench.evaluate(half, scores=scores, outcomes=outcomes, metrics_cfg=metrics_cfg)

    if cfg.io.get("comparisons"):  # a pairwise generative judge
        from rmeval.ids import stable_hash
        from rmeval.llm.cache import GenerationCache
        from rmeval.rms import build_rm

        judge = build_rm(cfg.rm)
        texts = pd.read_parquet(io_path(cfg, "texts"))
        comparisons = pd.read_parquet(io_path(cfg, "comparisons"))
        cache = GenerationCache(Path(io_path(cfg, "cache_dir")) / f"{stable_hash(judge.fingerprint())}.jsonl")
        summary = downstream_summary_judge(items, texts, comparisons, judge, down_cfg, metrics_cfg, cache, cfg.scoring.progress,
                                           evaluate_fn=evaluate_half)
        fingerprint = judge.fingerprint()
    else:
        scores, score_meta = read_scores(io_path(cfg, "scores"))
        summary = downstream_summary(items, scores, down_cfg, metrics_cfg, evaluate_fn=evaluate_half)
        fingerprint = score_meta.get("fingerprint")
    result = {"benchmark": bench.name, "rm": io_path(cfg, "rm"), **summary}
    result["provenance"] = provenance([down_cfg, metrics_cfg], scoring_fingerprint=fingerprint)
    write_json(result, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
