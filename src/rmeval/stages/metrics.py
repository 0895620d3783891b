"""Metrics of one RM on one benchmark: results/metrics/{benchmark}/{rm}.json."""

import pandas as pd

from rmeval.config import to_plain
from rmeval.io import read_json, write_json
from rmeval.config import ConfigError
from rmeval.metrics import evaluate, evaluate_outcomes, group_table, item_outcomes
from rmeval.rewardbench_metrics import rewardbench_metrics, version_of
from rmeval.rms.judge import comparison_outcomes
from rmeval.provenance import provenance
from rmeval.stages._entry import entry, io_path
from rmeval.scoring import read_scores


@entry
def main(cfg):
    items = pd.read_parquet(io_path(cfg, "items"))
    report = read_json(io_path(cfg, "data_report"))
    rm = io_path(cfg, "rm")
    result = {"benchmark": cfg.benchmark.name, "rm": rm}
    m = cfg.metrics
    if cfg.io.get("comparisons"):  # a pairwise generative judge
        if version_of(cfg.benchmark.loader) is not None:
            raise ConfigError(f"rm {rm}: pairwise judges are not supported on RewardBench yet; use a rating judge (RatingJudgeRM)")
        comparisons = pd.read_parquet(io_path(cfg, "comparisons"))
        outcomes, judge_stats = comparison_outcomes(items, comparisons)
        result.update(evaluate_outcomes(items, outcomes, n_boot=m.n_boot, level=m.ci_level, seed=m.seed, bootstrap=m.bootstrap))
        result["judge"] = judge_stats
        result["scoring"] = {"n_comparisons": int(len(comparisons)), "n_truncated": 0}
        score_meta = {"kind": "pairwise_judge"}
    else:
        scores, score_meta = read_scores(io_path(cfg, "scores"))
        rb_version = version_of(cfg.benchmark.loader)
        if rb_version is not None:  # RewardBench: its own section/domain scores, plus per-subset accuracy with CIs
            result["rewardbench"] = rewardbench_metrics(items, scores, rb_version)
            lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
            outcomes = item_outcomes(items, lookup)
            result["n_items"] = int(len(items))
            result["by_scenario"] = group_table(outcomes, ["goal", "format", "scenario"], m.n_boot, m.ci_level, m.seed, m.bootstrap)
        else:
            result.update(evaluate(items, scores, n_boot=m.n_boot, level=m.ci_level, seed=m.seed, bootstrap=m.bootstrap))
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
