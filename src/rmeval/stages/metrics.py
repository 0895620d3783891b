"""Metrics of one RM on one benchmark: results/metrics/{benchmark}/{rm}.json (the benchmark object computes them)."""

import pandas as pd

from rmeval.config import to_plain
from rmeval.io import read_json, write_json
from rmeval.provenance import provenance
from rmeval.stages._entry import entry, io_path


@entry
def main(cfg):
    from rmeval.benchmarks import build_benchmark
    from rmeval.metrics import item_outcomes, with_prompt_ids
    from rmeval.rms.judge import comparison_outcomes
    from rmeval.scoring import read_scores
    from rmeval.stats import length_bias

    bench = build_benchmark(cfg.benchmark)
    items = pd.read_parquet(io_path(cfg, "items"))
    report = read_json(io_path(cfg, "data_report"))
    rm = io_path(cfg, "rm")
    result = {"benchmark": bench.name, "benchmark_version": bench.version, "rm": rm}
    m = to_plain(cfg.metrics)
    if cfg.io.get("comparisons"):  # a pairwise generative judge
        comparisons = pd.read_parquet(io_path(cfg, "comparisons"))
        outcomes, judge_stats = comparison_outcomes(items, comparisons)
        result.update(bench.evaluate(items, outcomes=outcomes, metrics_cfg=m))
        pair_outcomes = outcomes
        result["judge"] = judge_stats
        result["scoring"] = {"n_comparisons": int(len(comparisons)), "n_truncated": 0}
        score_meta = {"kind": "pairwise_judge"}
    else:
        scores, score_meta = read_scores(io_path(cfg, "scores"))
        result.update(bench.evaluate(items, scores=scores, metrics_cfg=m))
        pair_outcomes = item_outcomes(items, dict(zip(scores["text_id"], scores["score"].astype(float))))
        stats = score_meta.get("stats", {})
        result["scoring"] = {
            "n_texts": int(len(scores)),
            "n_truncated": int(scores["truncated"].sum()),
            "n_nan_scores": int(scores["score"].isna().sum()),
            "mean_tokens": float(scores["n_tokens"].mean()) if len(scores) else None,
            "n_scored_this_run": stats.get("n_scored"),
            "n_from_cache": stats.get("n_cached"),
        }
    if cfg.io.get("texts"):  # length bias on the pairwise items: does the RM prefer the longer response?
        texts = pd.read_parquet(io_path(cfg, "texts"))
        result["length_bias"] = length_bias(items, texts, with_prompt_ids(items, pair_outcomes), n_boot=m["n_boot"],
                                            level=m["ci_level"], seed=m["seed"], bootstrap=m["bootstrap"])
    result["data"] = {
        "counts": report.get("counts"),
        "missing_files": report.get("missing_files", []),
        "sample": report.get("sample"),
        "identical_pairs": report.get("identical_pairs"),
    }
    result["provenance"] = provenance(
        to_plain(cfg.metrics), missing_files=report.get("missing_files", []),
        benchmark_config_sha256=report.get("provenance", {}).get("config_sha256"), scoring=score_meta,
    )
    write_json(result, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
