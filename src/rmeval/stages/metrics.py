"""Metrics of one RM on one benchmark: results/metrics/{benchmark}/{rm}.json (``rmeval.metrics.rm_metrics``); a
pairwise judge's also carry ``judge.usage``: the provider's token usage and its cost at the YAML's price, next to
the plan's input-token estimate (from the comparisons file's metadata)."""

import pandas as pd

from rmeval.config import to_plain
from rmeval.io import read_json, write_json
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark
    from rmeval.metrics import rm_metrics
    from rmeval.scoring import read_scores

    items = pd.read_parquet(io_path(cfg, "items"))
    report = read_json(io_path(cfg, "data_report"))
    inputs = {"texts": pd.read_parquet(io_path(cfg, "texts")) if cfg.io.get("texts") else None}
    usage = None
    if cfg.io.get("comparisons"):  # a pairwise generative judge
        inputs["comparisons"], meta = read_scores(io_path(cfg, "comparisons"))
        usage = meta.get("usage")
    else:
        inputs["scores"], inputs["score_meta"] = read_scores(io_path(cfg, "scores"))
    result = rm_metrics(build_benchmark(cfg.benchmark), items, report, io_path(cfg, "rm"), to_plain(cfg.metrics), **inputs)
    if usage and isinstance(result.get("judge"), dict):  # what the judge's requests cost, next to the plan's estimate
        result["judge"]["usage"] = usage
    write_json(result, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
