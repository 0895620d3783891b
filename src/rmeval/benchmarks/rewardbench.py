"""RewardBench v1 (Lambert et al., 2024) and RewardBench 2 (Malik et al., 2025), docs/benchmarks.md.

Sources: a local file or folder in the hub schema (``root``), else ``datasets.load_dataset`` of the hub dataset at
the pinned ``revision``. Scores: ``rmeval.rewardbench_metrics`` (v1 sections are example-count-weighted subset
accuracies; v2 domains give 1/k credit for k-way ties at the top, Ties is a composite). Confidence intervals:
items are resampled within each subset (v1) or domain (v2) and the weighted means recomputed; the Ties composite
is held at its value in the Score's interval (its terms pair prompts and are not resampled).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rmeval.benchmarks.base import (
    BENCHMARKS,
BenchmarkError, HubBenchmark, group_notes, headline_cell, headline_frame,
                                    headline_markdown, with_rank_groups)
from rmeval.ids import stable_hash

if TYPE_CHECKING:
    import pandas as pd


def _interval(reps: np.ndarray, level: float) -> tuple[float | None, float | None]:
    reps = reps[~np.isnan(reps)]
    if not len(reps):
        return None, None
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(reps, alpha)), float(np.quantile(reps, 1.0 - alpha))


def _rng(seed: int, name: str) -> np.random.Generator:
    """Seeded by the group's name, so a missing subset does not move any other subset's interval."""
    return np.random.default_rng([seed, int(stable_hash(["rewardbench-ci", name]), 16) % 2**32])


class _RewardBench(HubBenchmark):
    supports_comparisons = False  # pairwise judges: use a rating judge (RatingJudgeRM) on RewardBench
    display_scale = 100.0
    release: int  # 1 or 2: which loader and which scoring apply

    def read(self, root):
        from rmeval.data.rewardbench import load_rewardbench, load_rewardbench2

        load = load_rewardbench if self.release == 1 else load_rewardbench2
        items, texts, report = load(root, benchmark=self.name, check_manifest=self.config.check_manifest,
                                    hub=(self.dataset, self.split), revision=self.config.revision)
        return items, texts, report.to_dict()

    def missing_source_hint(self) -> str:
        return f"point benchmark.root at a local copy of {self.name} in the hub schema, or unset it to read {self.dataset} from the hub"

    def leaderboard(self, metrics: Sequence[dict], groups: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
        frame = with_rank_groups(headline_frame(metrics, self.headline_columns, self.primary), groups)
        complete = {m["rm"]: m["rewardbench"]["complete"] for m in metrics}
        frame["complete"] = [complete[rm] for rm in frame["rm"]]
        return frame, headline_markdown(frame, self, self.notes(metrics) + group_notes(groups))

    def notes(self, metrics: Sequence[dict]) -> list[str]:
        if not metrics:
            return []
        rb = metrics[0]["rewardbench"]
        notes = ["Numbers are percentages."]
        missing = rb.get("subsets_missing") or rb.get("domains_missing") or []
        if missing:
            notes.append(f"Absent from this run (left out of numerator and denominator): {', '.join(missing)}.")
        return notes


@BENCHMARKS.register()
class RewardBenchV1(_RewardBench):
    release = 1
    hub = ("allenai/reward-bench", "filtered")
    headline_columns = ("Chat", "Chat Hard", "Safety", "Reasoning", "Score")
    primary = "Score"
    headline_definition = ("RewardBench v1: section = subset accuracies (strict >, ties wrong) weighted by example "
                           "counts; Score = mean of the sections")

    def significance_columns(self, items):
        from rmeval.rewardbench_metrics import v1_columns

        return v1_columns(items)

    def score_metrics(self, items, scores, m):
        from rmeval.data.rewardbench import V1_SECTIONS
        from rmeval.metrics import bootstrap_means, group_table, item_outcomes, with_prompt_ids
        from rmeval.rewardbench_metrics import EXAMPLE_COUNTS, SECTIONS, rewardbench_metrics

        rb = rewardbench_metrics(items, scores, self.release)
        lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
        outcomes = with_prompt_ids(items, item_outcomes(items, lookup))
        reps = {}
        for subset, group in outcomes.groupby("scenario", sort=True):
            reps[str(subset)] = bootstrap_means(group["correct"].to_numpy(dtype=np.float64), m["n_boot"], _rng(m["seed"], str(subset)))
        section_reps = {}
        for section, subsets in V1_SECTIONS.items():
            present = [s for s in subsets if s in reps]
            if present:
                w = np.array([EXAMPLE_COUNTS[s] for s in present], dtype=float)
                section_reps[section] = np.sum([reps[s] * wi for s, wi in zip(present, w)], axis=0) / w.sum()
        ci = {s: _interval(r, m["ci_level"]) for s, r in section_reps.items()}
        present = [s for s in SECTIONS if s in section_reps]
        ci["Score"] = _interval(np.mean([section_reps[s] for s in present], axis=0), m["ci_level"]) if present else (None, None)
        rb["ci"] = {k: list(v) for k, v in ci.items()}
        return {
            "n_items": int(len(items)),
            "rewardbench": rb,
            "by_scenario": group_table(outcomes, ["goal", "format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], m["bootstrap"]),
            "ci": {"method": "percentile bootstrap over items within each subset (by_scenario: " + m["bootstrap"] + " bootstrap)", "level": m["ci_level"], "n_boot": m["n_boot"], "seed": m["seed"]},
        }

    def headline(self, metrics):
        rb = metrics["rewardbench"]
        counts = {}
        for row in rb["subsets"].values():
            counts[row["section"]] = counts.get(row["section"], 0) + row["n"]
        out = {}
        for col in self.headline_columns[:-1]:
            lo, hi = rb["ci"].get(col, (None, None))
            out[col] = headline_cell(rb["sections"].get(col), lo, hi, counts.get(col, 0), 0.5)
        lo, hi = rb["ci"]["Score"]
        out["Score"] = headline_cell(rb["score"], lo, hi, sum(v for k, v in counts.items() if k in self.headline_columns), 0.5)
        return out


@BENCHMARKS.register()
class RewardBench2(_RewardBench):
    release = 2
    hub = ("allenai/reward-bench-2", "test")
    supports_significance = False  # 1/k tie credit and the Ties composite are not per-item right/wrong outcomes
    headline_columns = ("Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties", "Score")
    primary = "Score"
    headline_definition = ("RewardBench 2: best-of-4 domains with 1/k credit for k-way ties at the top, Ties = the "
                           "composite; Score = mean of the domains (its CI holds Ties at its value)")

    def significance_columns(self, items):
        raise BenchmarkError(f"benchmark {self.name}: paired tests are not implemented for RewardBench 2 (its 1/k credit "
                             "for tied tops and the Ties composite are not per-item right/wrong outcomes)")

    def score_metrics(self, items, scores, m):
        from rmeval.metrics import bootstrap_means, group_table, item_outcomes, with_prompt_ids
        from rmeval.rewardbench_metrics import DOMAINS, TIES, rewardbench_metrics, v2_item_table

        rb = rewardbench_metrics(items, scores, self.release)
        table = v2_item_table(items, scores)
        reps = {}
        for domain, part in table.groupby("domain", sort=True):
            reps[str(domain)] = bootstrap_means(part["credit"].to_numpy(dtype=np.float64), m["n_boot"], _rng(m["seed"], str(domain)))
        ci = {d: _interval(r, m["ci_level"]) for d, r in reps.items()}
        present = [d for d in DOMAINS if d in rb["domains"]]
        if present:
            parts = [reps[d] if d in reps else np.full(m["n_boot"], rb["domains"][d]) for d in present]
            ci["Score"] = _interval(np.mean(parts, axis=0), m["ci_level"])
        else:
            ci["Score"] = (None, None)
        ci.setdefault(TIES, (None, None))
        rb["ci"] = {k: list(v) for k, v in ci.items()}
        lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
        pointwise = items[items["format"] != "ties"]
        outcomes = with_prompt_ids(pointwise, item_outcomes(pointwise, lookup))
        return {
            "n_items": int(len(items)),
            "rewardbench": rb,
            "by_scenario": group_table(outcomes, ["goal", "format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], m["bootstrap"]),
            "ci": {"method": "percentile bootstrap over prompts within each domain (Ties held at its value)",
                   "level": m["ci_level"], "n_boot": m["n_boot"], "seed": m["seed"]},
        }

    def headline(self, metrics):
        rb = metrics["rewardbench"]
        out = {}
        for col in self.headline_columns[:-1]:
            lo, hi = rb["ci"].get(col, (None, None))
            out[col] = headline_cell(rb["domains"].get(col), lo, hi, (rb["subsets"].get(col) or {}).get("n", 0), 0.25 if col != "Ties" else None)
        lo, hi = rb["ci"]["Score"]
        out["Score"] = headline_cell(rb["score"], lo, hi, int(rb["n_items"]))
        return out
