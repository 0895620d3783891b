"""Benchmark metrics as pure functions over items and scores (docs/statistics.md).

- ``outcomes``: per item, does the RM rank the best response above every loser (pairwise = BoN with one loser);
- ``bootstrap``: seeded percentile-bootstrap CIs, clustered by prompt by default;
- ``aggregate``: accuracy of a set of items with counts and CI, per-group tables, chance level;
- ``comparisons``: a pairwise judge's outcomes and position-bias statistics from its comparisons;
- ``components``: benchmarks scored by goal x format components (the benchmark names them) and their Overall;
- ``result``: the metrics JSON of one RM on one benchmark.
"""

from rmeval.metrics.aggregate import accuracy_by_gap, chance_accuracy, counts_summary, group_table, summarize
from rmeval.metrics.bootstrap import (BOOTSTRAP_METHODS, CLUSTER_COLUMN, STRATUM_COLUMNS, bootstrap_means,
                                      check_bootstrap, ci_description, cluster_codes, cluster_strata, cluster_weights,
                                      group_replicates, interval, name_seed, nanmean_rows, ratio_replicates)
from rmeval.metrics.comparisons import comparison_outcomes
from rmeval.metrics.components import evaluate, evaluate_outcomes, goal_format_summary, leaderboard_frame, overall
from rmeval.metrics.outcomes import FORMATS, OUTCOME_KEYS, ScoreMissingError, item_outcomes, with_prompt_ids
from rmeval.metrics.result import rm_metrics

__all__ = [
    "BOOTSTRAP_METHODS", "CLUSTER_COLUMN", "FORMATS", "OUTCOME_KEYS", "STRATUM_COLUMNS", "ScoreMissingError",
    "accuracy_by_gap", "bootstrap_means", "chance_accuracy", "check_bootstrap", "ci_description", "cluster_codes",
    "cluster_strata", "cluster_weights", "comparison_outcomes", "counts_summary", "evaluate", "evaluate_outcomes", "goal_format_summary",
    "group_replicates", "group_table", "interval", "item_outcomes", "leaderboard_frame",
    "name_seed", "nanmean_rows", "overall", "ratio_replicates", "rm_metrics", "summarize", "with_prompt_ids",
]
