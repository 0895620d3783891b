"""RMB (Zhou et al., ICLR 2025): pairwise + best-of-N, helpfulness + harmlessness (BENCHMARKS.md).

The same class serves every benchmark in the RMB layout: the release (a local folder or the pinned download),
the generated smoke fixture, and the sets rmeval constructs itself (``construct:``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from rmeval.benchmarks.base import Benchmark, group_notes, headline_cell, judge_notes, with_rank_groups
from rmeval.data.rmb import load_rmb


class RMBBenchmark(Benchmark):
    headline_columns = ("Help-BoN", "Help-Pair", "Harm-BoN", "Harm-Pair", "Overall")
    primary = "Overall"
    headline_definition = ("accuracy (fraction of items an RM gets right; a tie counts as wrong); pairwise: "
                           "r(chosen) > r(rejected), BoN: r(best) > r(every loser); Overall = mean of the four columns")

    def __init__(self, download: Mapping | None = None, fixture: Mapping | None = None, construct: Mapping | None = None,
                 strict_category_path: bool = False, **kwargs):
        kwargs.setdefault("judge_scores", True)
        super().__init__(**kwargs)
        self.download = dict(download) if download else None
        self.fixture = dict(fixture) if fixture else None
        self.construct = dict(construct) if construct else None
        self.strict_category_path = bool(strict_category_path)

    # ------------------------------------------------------------------------------------- data
    def source(self) -> str:
        if self.fixture is not None:
            return f"resources/fixtures/{self.name}"
        if self.construct is not None:
            return f"results/construct/{self.construct['prompts']}/sets/{self.name}"
        if self.root:
            return str(self.root)
        return f"resources/downloads/{self.name}"  # the download rule's output: the release's data folder

    @property
    def made_by(self) -> str | None:
        if self.fixture is not None:
            return "smoke_fixture"
        if self.construct is not None:
            return "build_sets"
        if not self.root and self.download:
            return "download"
        return None

    def missing_source_hint(self) -> str:
        return (f"point benchmark.root (for rmb: RMB_ROOT) at a local copy of {self.name}"
                + (", or unset it to download the release" if self.download else ""))

    def read(self, root):
        items, texts, report = load_rmb(root, benchmark=self.name, check_manifest=self.check_manifest,
                                        strict_category_path=self.strict_category_path)
        return items, texts, report.to_dict()

    # ------------------------------------------------------------------------------------- metrics
    def score_metrics(self, items, scores, m):
        from rmeval.metrics import evaluate

        return evaluate(items, scores, n_boot=m["n_boot"], level=m["ci_level"], seed=m["seed"], bootstrap=m["bootstrap"])

    def outcome_metrics(self, items, outcomes, m):
        from rmeval.metrics import evaluate_outcomes

        return evaluate_outcomes(items, outcomes, n_boot=m["n_boot"], level=m["ci_level"], seed=m["seed"], bootstrap=m["bootstrap"])

    def headline(self, metrics: dict) -> dict[str, dict]:
        from rmeval.metrics import COMPONENTS

        out = {}
        for col, (goal, fmt) in COMPONENTS.items():
            node = metrics["goals"][goal][fmt]
            out[col] = headline_cell(node["accuracy"], node["ci_low"], node["ci_high"], node["n_items"], node.get("chance"))
        o = metrics["overall"]["micro"]
        out["Overall"] = headline_cell(o["accuracy"], o["ci_low"], o["ci_high"], int(metrics["n_items"]))
        return out

    def metric_values(self, metrics: dict) -> dict[str, float | None]:
        """'<component> micro|macro' and 'Overall micro|macro' (the downstream JSON's benchmark half)."""
        from rmeval.downstream import metric_values

        return metric_values({"benchmark_half": metrics})

    # ------------------------------------------------------------------------------------- leaderboard
    def significance_columns(self, items):
        from rmeval.stats import rmb_columns

        return rmb_columns()

    def leaderboard(self, metrics: Sequence[dict], groups: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
        from rmeval.metrics import leaderboard_frame, leaderboard_markdown

        frame = with_rank_groups(leaderboard_frame(metrics), groups)
        return frame, leaderboard_markdown(frame, self.name, self.notes(metrics) + group_notes(groups))

    def notes(self, metrics: Sequence[dict]) -> list[str]:
        """Missing scenario files, subsampling, chance levels, judge statistics, identical pairs."""
        if not metrics:
            return []
        first = metrics[0]
        notes = []
        missing = first["data"].get("missing_files") or []
        if missing:
            lost = sum(m["records"] for m in missing)
            names = "; ".join(f"{m['goal']} {m['format']} {m['scenario']} ({m['records']} items)" for m in missing)
            notes.append(f"Missing from this copy of the release ({len(missing)} files, {lost:,} items): {names}.")
        sample = first["data"].get("sample") or {}
        if sample.get("per_scenario"):
            notes.append(f"Seeded stratified subsample: at most {sample['per_scenario']} items per scenario (seed {sample.get('seed')}).")
        chance = []
        for goal in first["goals"]:
            for fmt, node in first["goals"][goal].items():
                if node.get("chance") is not None:
                    chance.append(f"{goal} {fmt} {node['chance']:.3f}")
        if chance:
            notes.append("Chance level (random scores, no ties): " + ", ".join(chance) + " (BoN: mean of 1/(losers+1)).")
        notes += judge_notes(metrics)
        if first["data"].get("identical_pairs"):
            n = first["data"]["identical_pairs"]
            notes.append(f"{n} pair{'s have' if n != 1 else ' has'} byte-identical chosen and rejected text: no RM can get {'them' if n != 1 else 'it'} right.")
        return notes
