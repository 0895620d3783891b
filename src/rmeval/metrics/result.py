"""The metrics result of one RM on one benchmark: what results/metrics/{benchmark}/{rm}.json holds."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from rmeval.metrics.outcomes import item_outcomes, with_prompt_ids


def rm_metrics(bench, items: pd.DataFrame, report: Mapping, rm: str, metrics_cfg: Mapping, *,
               scores: pd.DataFrame | None = None, score_meta: Mapping | None = None,
               comparisons: pd.DataFrame | None = None, texts: pd.DataFrame | None = None) -> dict:
    """The benchmark object's metrics from a pointwise RM's ``scores`` (with their file's ``score_meta``) or a
    pairwise judge's ``comparisons``, plus scoring counts, the length bias (when ``texts`` are given), what the
    data report says about the items, and provenance. ``report``: the data stage's report of the benchmark."""
    from rmeval.provenance import provenance
    from rmeval.metrics.paired import length_bias

    m = dict(metrics_cfg)
    result = {"benchmark": bench.name, "benchmark_version": bench.version, "rm": rm}
    if comparisons is not None:  # a pairwise generative judge
        outcomes, judge_stats = bench.comparison_outcomes(items, comparisons)  # the benchmark's rule for the two orders
        result.update(bench.evaluate(items, outcomes=outcomes, metrics_cfg=m))
        items, pair_outcomes = bench.judged_items(items).reset_index(drop=True), outcomes  # length bias: what was judged
        result["judge"] = judge_stats
        result["scoring"] = {"n_comparisons": int(len(comparisons)), "n_truncated": 0}
        score_meta = {"kind": "pairwise_judge"}
    else:
        score_meta = dict(score_meta or {})
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
    if texts is not None:  # length bias on the pairwise items: does the RM prefer the longer response?
        result["length_bias"] = length_bias(items, texts, with_prompt_ids(items, pair_outcomes), n_boot=m["n_boot"],
                                            level=m["ci_level"], seed=m["seed"], bootstrap=m["bootstrap"])
    result["data"] = {
        "counts": report.get("counts"),
        "missing_files": report.get("missing_files", []),
        "sample": report.get("sample"),
        "identical_pairs": report.get("identical_pairs"),
    }
    result["provenance"] = provenance(
        m, missing_files=report.get("missing_files", []),
        benchmark_config_sha256=report.get("provenance", {}).get("config_sha256"), scoring=score_meta,
    )
    return result
