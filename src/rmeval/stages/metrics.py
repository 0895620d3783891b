"""Metrics of one RM on one benchmark: results/metrics/{benchmark}/{rm}.json."""

import pandas as pd

from rmeval.config import to_plain
from rmeval.io import read_json, write_json
from rmeval.metrics import evaluate
from rmeval.provenance import provenance
from rmeval.stages._entry import entry, io_path
from rmeval.stages.score import read_scores


@entry
def main(cfg):
    items = pd.read_parquet(io_path(cfg, "items"))
    scores, score_meta = read_scores(io_path(cfg, "scores"))
    report = read_json(io_path(cfg, "data_report"))
    rm = io_path(cfg, "rm")
    result = {"benchmark": cfg.benchmark.name, "rm": rm}
    result.update(evaluate(items, scores, n_boot=cfg.metrics.n_boot, level=cfg.metrics.ci_level, seed=cfg.metrics.seed))
    stats = score_meta.get("stats", {})
    result["scoring"] = {
        "n_texts": int(len(scores)),
        "n_truncated": int(scores["truncated"].sum()),
        "n_nan_scores": int(scores["score"].isna().sum()),
        "mean_tokens": float(scores["n_tokens"].mean()) if len(scores) else None,
        "n_scored_this_run": stats.get("n_scored"),
        "n_from_cache": stats.get("n_cached"),
    }
    result["data"] = {
        "counts": report.get("counts"),
        "missing_files": report.get("missing_files", []),
        "sample": report.get("sample"),
        "identical_pairs": report.get("identical_pairs"),
    }
    result["provenance"] = provenance(
        to_plain(cfg.metrics), missing_files=report.get("missing_files", []), benchmark_config_sha256=report.get("provenance", {}).get("config_sha256"), scoring=score_meta,
    )
    write_json(result, io_path(cfg, "out"))


if __name__ == "__main__":
    main()
