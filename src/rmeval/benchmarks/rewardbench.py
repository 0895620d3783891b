"""RewardBench v1 (Lambert et al., 2024) and RewardBench 2 (Malik et al., 2025), docs/benchmarks.md.

Sources: a local file or folder in the hub schema (``root``), else ``datasets.load_dataset`` of the hub dataset at
the pinned ``revision``. Scores: ``rmeval.rewardbench_metrics`` (v1 sections are example-count-weighted subset
accuracies; v2 domains give 1/k credit for k-way ties at the top, Ties is a composite). Confidence intervals:
items are resampled within each subset (v1) or domain (v2) and the weighted means recomputed; the Ties composite
is held at its value in the Score's interval (its terms pair prompts and are not resampled).

Pairwise judges (``rmeval.rms.judge.PairwiseJudgeRM``; the chosen shown as A or B by the seeded position stored in
the items, both orders if the judge's YAML says, combined by the "all" rule). A rating judge (``RatingJudgeRM``)
gives scores and takes the scalar path on both releases.

- v1: each item is one comparison; the sections come from the judge's per-item outcomes exactly as from a scalar
  RM's (``rewardbench_metrics.rewardbench_v1_outcomes``), a tie or an invalid verdict counting as wrong. The
  official generative runner (allenai/reward-bench ``scripts/run_generative.py``) runs one random order and credits
  a verdict that is neither A nor B (its prompt has no tie option) with 0.5, "effectively a tie". That number is
  reported beside the headline (``official_generative``), not as it, so that the paired tests and ranks, which count
  right/wrong items, agree with the table.
- v2: the official runner (``scripts/run_generative_v2.py``) asks for one pick among the four completions (the
  chosen shuffled into one of four places; an unparsed answer earns 0.25), or with ``--score_w_ratings`` rates each
  completion alone (the scalar 1/k rule); Ties is always rated. A pairwise judge can do neither, so it plays a
  knockout (``knockout_v2``): the chosen against each of the three rejected, correct iff it wins all three (RMB's
  best-of-N rule; a tie or an invalid verdict loses). Ties needs scores (margins, spreads): ``judged_items`` leaves
  it out, it is undefined for the judge, and the judge's Score is the mean of the other domains present.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rmeval.benchmarks.base import BENCHMARKS, BenchmarkError, HubBenchmark, headline_cell, headline_frame, judge_notes
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


#: the per-item outcome column of a judge's v1 outcomes (``RewardBenchV1.comparison_outcomes``): some order of the
#: item picked the rejected response
LOST = "lost_an_order"


def official_generative(outcomes: pd.DataFrame) -> dict:
    """A pairwise judge's v1 numbers under the official generative runner's rule: an item earns 1 when the chosen
    wins, 0 when the judge picks the rejected one, 0.5 otherwise (a tie or an unparsed verdict). With both orders:
    1 when every order picks the chosen, 0 when some order picks the rejected, else 0.5 (with one order this is the
    official rule). Subset credits, sections (the official weights) and score (the mean of the sections)."""
    import pandas as pd

    from rmeval.rewardbench_metrics import SECTIONS, v1_section_scores

    correct = outcomes["correct"].to_numpy(dtype=bool)
    credit = np.where(correct, 1.0, np.where(outcomes[LOST].to_numpy(dtype=bool), 0.0, 0.5))
    frame = pd.DataFrame({"scenario": outcomes["scenario"].to_numpy(), "credit": credit})
    subsets = {str(s): float(part["credit"].mean()) for s, part in frame.groupby("scenario", sort=True)}
    sections = v1_section_scores(subsets)
    present = [sections[s] for s in SECTIONS if s in sections]
    return {
        "subsets": subsets, "sections": sections, "score": float(np.mean(present)) if present else None,
        "n_half_credit": int(np.sum(credit == 0.5)),
        "definition": ("official generative rule (allenai/reward-bench scripts/run_generative.py): 1 if the judge picks "
                       "the chosen (in every order run), 0 if it picks the rejected (in some order), else 0.5 (tie or "
                       "unparsed verdict); sections and score as the headline's"),
    }


def knockout_v2(items: pd.DataFrame, outcomes: pd.DataFrame) -> dict:
    """A pairwise judge's RewardBench 2 numbers from its per-item outcomes on the non-Ties items (correct iff the
    chosen wins every comparison): per domain the share of prompts won, Ties undefined (it needs scores), Score the
    mean of the domains present. The keys of ``rewardbench_metrics.rewardbench_v2`` plus ``knockout``,
    ``n_judged`` and ``domains_undefined``."""
    from rmeval.rewardbench_metrics import DOMAINS, NON_TIES_DOMAINS, TIES

    is_ties = ((items["format"] == "ties") | (items["goal"] == TIES)).to_numpy()
    table = outcomes.set_index("item_id").loc[items.loc[~is_ties, "item_id"]]
    subsets, domains = {}, {}
    for domain in NON_TIES_DOMAINS:
        part = table[table["goal"] == domain]
        if len(part):
            domains[domain] = float(part["correct"].mean())
            subsets[domain] = {"n": int(len(part)), "score": domains[domain], "n_correct": int(part["correct"].sum()),
                               "n_ties": int(part["tie"].sum()), "n_invalid": int(part["invalid"].sum())}
    if is_ties.any():
        subsets[TIES] = {"n": int(is_ties.sum()), "score": None, "n_judged": 0}
    present = [d for d in DOMAINS if d in domains]
    return {
        "version": 2, "n_items": int(len(items)), "n_judged": int((~is_ties).sum()), "subsets": subsets,
        "domains": domains, "ties": None, "score": float(np.mean([domains[d] for d in present])) if present else None,
        "domains_present": present,
        "domains_missing": [d for d in DOMAINS if d not in domains and not (d == TIES and is_ties.any())],
        "domains_undefined": [TIES] if is_ties.any() else [], "complete": False, "knockout": True,
        "definition": ("pairwise judge (knockout): per domain the share of prompts where the chosen wins its "
                       "comparison with each rejected (ties and invalid verdicts lose); Ties undefined (it needs "
                       "scores); score: unweighted mean of the non-Ties domains present"),
    }


class _RewardBench(HubBenchmark):
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

    def leaderboard_frame(self, metrics: Sequence[dict]) -> pd.DataFrame:
        """The headline columns and whether the RM's run had every subset (``complete``)."""
        frame = headline_frame(metrics, self.headline_columns, self.primary)
        complete = {m["rm"]: m["rewardbench"]["complete"] for m in metrics}
        frame["complete"] = [complete[rm] for rm in frame["rm"]]
        return frame

    def notes(self, metrics: Sequence[dict]) -> list[str]:
        if not metrics:
            return []
        rb = metrics[0]["rewardbench"]
        notes = ["Numbers are percentages."]
        missing = rb.get("subsets_missing") or rb.get("domains_missing") or []
        if missing:
            notes.append(f"Absent from this run (left out of numerator and denominator): {', '.join(missing)}.")
        sample = (metrics[0].get("data") or {}).get("sample") or {}
        if sample.get("per_scenario"):
            notes.append(f"Seeded stratified subsample: at most {sample['per_scenario']} items per subset (seed {sample.get('seed')}).")
        return notes + self.judge_method_notes(metrics) + judge_notes(metrics)

    def judge_method_notes(self, metrics: Sequence[dict]) -> list[str]:
        """What a pairwise judge's numbers on this benchmark mean, when the board has one."""
        return []


@BENCHMARKS.register()
class RewardBenchV1(_RewardBench):
    release = 1
    hub = ("allenai/reward-bench", "filtered")
    headline_columns = ("Chat", "Chat Hard", "Safety", "Reasoning", "Score")
    primary = "Score"
    headline_definition = ("RewardBench v1: section = subset accuracies (strict >, ties wrong; a pairwise judge's tie or "
                           "invalid verdict is wrong too) weighted by example counts; Score = mean of the sections")

    def significance_columns(self, items):
        from rmeval.rewardbench_metrics import v1_columns

        return v1_columns(items)

    def comparison_outcomes(self, items, comparisons):
        """The shared outcomes (orders combined by the "all" rule) plus ``lost_an_order``: some order picked the
        rejected response, which the official generative rule (``official_generative``) needs."""
        outcomes, stats = super().comparison_outcomes(items, comparisons)
        lost = comparisons["verdict"].isin(["A", "B"]) & ~comparisons["chosen_won"].astype(bool)
        lost_items = set(comparisons.loc[lost, "item_id"])
        outcomes[LOST] = outcomes["item_id"].isin(lost_items).to_numpy()
        return outcomes, stats

    def outcome_metrics(self, items, outcomes, m):
        """Subset accuracies, sections and Score from per-item outcomes (a scalar RM's through ``score_metrics``, a
        judge's from its comparisons), with bootstrap CIs over items within each subset."""
        from rmeval.data.rewardbench import V1_SECTIONS
        from rmeval.metrics import bootstrap_means, group_table, with_prompt_ids
        from rmeval.rewardbench_metrics import EXAMPLE_COUNTS, SECTIONS, rewardbench_v1_outcomes

        rb = rewardbench_v1_outcomes(items, outcomes)
        if LOST in outcomes.columns:  # a pairwise judge: the official generative runner's rule beside the headline
            rb["official_generative"] = official_generative(outcomes)
        outcomes = with_prompt_ids(items, outcomes)
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

    def judge_method_notes(self, metrics):
        notes = []
        for m in metrics:
            official = (m["rewardbench"].get("official_generative") or {})
            if official.get("score") is not None:
                notes.append(f"{m['rm']} (pairwise judge): Score {official['score'] * 100:.1f} under the official generative "
                             f"runner's rule, which credits a tie or unparsed verdict with 0.5 ({official['n_half_credit']:,} "
                             "items); the table counts them wrong, as it counts a scalar RM's tie.")
        return notes


@BENCHMARKS.register()
class RewardBench2(_RewardBench):
    release = 2
    hub = ("allenai/reward-bench-2", "test")
    supports_significance = False  # 1/k tie credit and the Ties composite are not per-item right/wrong outcomes
    headline_columns = ("Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties", "Score")
    primary = "Score"
    headline_definition = ("RewardBench 2: best-of-4 domains with 1/k credit for k-way ties at the top (a pairwise judge: "
                           "the chosen must beat each rejected), Ties = the composite; Score = mean of the domains (its CI "
                           "holds Ties at its value)")

    def significance_columns(self, items):
        raise BenchmarkError(f"benchmark {self.name}: paired tests are not implemented for RewardBench 2 (its 1/k credit "
                             "for tied tops and the Ties composite are not per-item right/wrong outcomes)")

    def judged_items(self, items):
        """A pairwise judge plays the best-of-4 prompts only (a knockout: the chosen against each rejected); Ties
        scores margins between several correct and incorrect answers and needs scores, so it stays undefined."""
        return items[items["format"] != "ties"]

    def outcome_metrics(self, items, outcomes, m):
        """A pairwise judge: per domain the share of prompts where the chosen wins all its comparisons (bootstrap
        over prompts within each domain); Ties undefined; Score = mean of the domains present."""
        from rmeval.metrics import bootstrap_means, group_table, with_prompt_ids
        from rmeval.rewardbench_metrics import DOMAINS, TIES

        rb = knockout_v2(items, outcomes)
        judged = self.judged_items(items).reset_index(drop=True)
        outcomes = with_prompt_ids(judged, outcomes.set_index("item_id").loc[judged["item_id"]].reset_index())
        reps = {str(d): bootstrap_means(part["correct"].to_numpy(dtype=np.float64), m["n_boot"], _rng(m["seed"], str(d)))
                for d, part in outcomes.groupby("goal", sort=True)}
        ci = {d: _interval(r, m["ci_level"]) for d, r in reps.items()}
        present = [d for d in DOMAINS if d in rb["domains"]]
        ci["Score"] = _interval(np.mean([reps[d] for d in present], axis=0), m["ci_level"]) if present else (None, None)
        ci.setdefault(TIES, (None, None))
        rb["ci"] = {k: list(v) for k, v in ci.items()}
        return {
            "n_items": int(len(judged)),
            "rewardbench": rb,
            "by_scenario": group_table(outcomes, ["goal", "format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], m["bootstrap"]),
            "ci": {"method": "percentile bootstrap over prompts within each domain", "level": m["ci_level"],
                   "n_boot": m["n_boot"], "seed": m["seed"]},
        }

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
        """Each domain with its prompt count, and Score. A judge's (knockout) cells have no chance level: a judge
        that flips a coin wins a prompt with probability 1/2 per comparison and order (1/8 with one order, 1/64
        with both), not 1/4; its Ties cell is empty (0 items)."""
        rb = metrics["rewardbench"]
        knockout = bool(rb.get("knockout"))
        out = {}
        for col in self.headline_columns[:-1]:
            lo, hi = rb["ci"].get(col, (None, None))
            n = 0 if col in rb.get("domains_undefined", []) else (rb["subsets"].get(col) or {}).get("n", 0)
            out[col] = headline_cell(rb["domains"].get(col), lo, hi, n, 0.25 if col != "Ties" and not knockout else None)
        lo, hi = rb["ci"]["Score"]
        out["Score"] = headline_cell(rb["score"], lo, hi, int(rb.get("n_judged", rb["n_items"])))
        return out

    def judge_method_notes(self, metrics):
        judges = [m["rm"] for m in metrics if m["rewardbench"].get("knockout")]
        if not judges:
            return []
        return [f"Pairwise judges ({', '.join(judges)}): each best-of-4 prompt is a knockout, the chosen against each of "
                "the three rejected, correct iff it wins all three (a tie or invalid verdict loses; both orders must win "
                "where both were run); this is not the official four-way pick or per-completion rating. Ties needs scores "
                "and is left empty for them, so their Score is the mean of the other five domains and not comparable with "
                "a six-domain Score. A rating judge (RatingJudgeRM) is scored like any scalar RM."]
