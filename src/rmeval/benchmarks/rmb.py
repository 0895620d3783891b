"""RMB (Zhou et al., ICLR 2025): pairwise + best-of-N, helpfulness + harmlessness (docs/benchmarks.md).

The same class serves every benchmark in the RMB layout: the release (a local folder or the pinned download),
the generated smoke fixture, and the sets rmeval constructs itself (``construct:``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rmeval.benchmarks.base import (
    BENCHMARKS,
    BenchmarkConfig,
    CONSTRUCTED,
    DOWNLOAD,
    GENERATED,
    Benchmark,
    Source,
    headline_cell,
    judge_notes,
    plain,
)
from rmeval.config.fields import above, at_least
from rmeval.config.schemas import ConstructConfig

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class DownloadConfig:
    repo: str = ""
    commit: str = ""
    url: str = ""
    subdir: str = "RMB_dataset"
    timeout_s: float = field(default=60.0, metadata=above(0))


@dataclass
class FixtureConfig:
    kind: str = "smoke"
    seed: int = field(default=0, metadata=at_least(0))
    items_per_scenario: int = field(default=4, metadata=at_least(1))


@dataclass
class RMBBenchmarkConfig(BenchmarkConfig):
    check_manifest: bool = True
    judge_scores: bool = True  # commit 94c5976 of the release carries the judge's per-response scores
    download: DownloadConfig | None = None
    fixture: FixtureConfig | None = None  # set: the project writes this benchmark itself (smoke)
    construct: ConstructConfig | None = None  # set: rmeval builds this benchmark itself (sample, judge, build)
    strict_category_path: bool = False  # a record whose category_path disagrees with its file stops the load


@BENCHMARKS.register()
class RMBBenchmark(Benchmark):
    Config = RMBBenchmarkConfig
    #: the leaderboard's goal x format components (``rmeval.metrics.components``), in RMB's column order
    components = {
        "Help-BoN": ("Helpfulness", "bon"),
        "Help-Pair": ("Helpfulness", "pairwise"),
        "Harm-BoN": ("Harmlessness", "bon"),
        "Harm-Pair": ("Harmlessness", "pairwise"),
    }
    headline_columns = (*components, "Overall")
    primary = "Overall"
    headline_definition = ("accuracy (fraction of items an RM gets right; a tie counts as wrong); pairwise: "
                           "r(chosen) > r(rejected), BoN: r(best) > r(every loser); Overall = mean of the four columns")
    tie_labels = ("H-B", "H-P", "S-B", "S-P")  # the components in the markdown leaderboard's ties column

    @property
    def download(self) -> dict | None:
        return plain(self.config.download) or None

    @property
    def fixture(self) -> dict | None:
        return plain(self.config.fixture) or None

    @property
    def construct(self) -> dict | None:
        return plain(self.config.construct) or None

    # ------------------------------------------------------------------------------------- data
    def source(self) -> Source:
        """A generated fixture (``fixture:``), a construction (``construct:``), the user's copy (``root``), or the
        release downloaded at its pinned commit (``download:``)."""
        if self.fixture is not None:
            return Source(GENERATED, spec=self.fixture)
        if self.construct is not None:
            return Source(CONSTRUCTED, spec=self.construct)
        if self.root or not self.download:
            return super().source()
        return Source(DOWNLOAD, spec=self.download)

    def missing_source_hint(self) -> str:
        return (f"point benchmark.root (for rmb: RMB_ROOT) at a local copy of {self.name}"
                + (", or unset it to download the release" if self.download else ""))

    def read(self, root):
        from rmeval.data.rmb import load_rmb

        items, texts, report = load_rmb(root, benchmark=self.name, check_manifest=self.config.check_manifest,
                                        strict_category_path=self.config.strict_category_path)
        return items, texts, report.to_dict()

    # ------------------------------------------------------------------------------------- metrics
    def score_metrics(self, items, scores, m):
        from rmeval.metrics import evaluate

        return evaluate(items, scores, self.components, n_boot=m["n_boot"], level=m["ci_level"], seed=m["seed"], bootstrap=m["bootstrap"])

    def outcome_metrics(self, items, outcomes, m):
        from rmeval.metrics import evaluate_outcomes

        return evaluate_outcomes(items, outcomes, self.components, n_boot=m["n_boot"], level=m["ci_level"], seed=m["seed"], bootstrap=m["bootstrap"])

    def headline(self, metrics: dict) -> dict[str, dict]:
        out = {}
        for col, (goal, fmt) in self.components.items():
            node = metrics["goals"][goal][fmt]
            out[col] = headline_cell(node["accuracy"], node["ci_low"], node["ci_high"], node["n_items"], node.get("chance"))
        o = metrics["overall"]["micro"]
        out["Overall"] = headline_cell(o["accuracy"], o["ci_low"], o["ci_high"], int(metrics["n_items"]))
        return out

    def metric_values(self, metrics: dict) -> dict[str, float | None]:
        """'<component> micro|macro' and 'Overall micro|macro' (e.g. of the downstream JSON's benchmark half)."""
        out = {}
        for name, (goal, fmt) in self.components.items():
            node = metrics["goals"][goal][fmt]
            out[f"{name} micro"] = node["accuracy"]
            out[f"{name} macro"] = node["macro"]["accuracy"]
        out["Overall micro"] = metrics["overall"]["micro"]["accuracy"]
        out["Overall macro"] = metrics["overall"]["macro"]["accuracy"]
        return out

    # ------------------------------------------------------------------------------------- leaderboard
    def significance_columns(self, items):
        from rmeval.metrics.paired import component_columns

        return component_columns(self.components)

    def leaderboard_frame(self, metrics: Sequence[dict]) -> pd.DataFrame:
        """The components and Overall with CIs, each component's ties and macro accuracy, Overall (macro)."""
        from rmeval.metrics import leaderboard_frame

        return leaderboard_frame(metrics, self.components)

    def markdown_columns(self) -> list:
        """Overall (macro) and the ties per component (``tie_labels``) after the headline columns."""
        import pandas as pd

        def macro(r) -> str:
            return "–" if pd.isna(r["Overall macro"]) else f"{r['Overall macro']:.3f}"

        def ties(r) -> str:
            return "/".join(str(int(r[f"{c} ties"])) for c in self.components)

        return [("Overall (macro)", macro), (f"ties ({'/'.join(self.tie_labels)})", ties)]

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
