"""The benchmark interface: one small base class, one module per benchmark, built by ``_target_``.

A benchmark is ``conf/benchmark/<name>.yaml`` (its class by ``_target_``, a ``version`` and its settings) plus a
subclass of :class:`Benchmark`. The class knows everything that is particular to it; the stages, the Snakefile,
the leaderboards and the plots only call these methods:

- ``source()``: what kind of source the raw files come from (:class:`Source`: the user's own copy, a download,
  the hub, a generated fixture or a construction); the workflow maps the kind to the rule that makes the files;
- ``read(root)`` → (items, texts, report) in the canonical tables of ``rmeval.data.schema``; ``load(root)`` adds
  the shared steps (subsample, reference check, judge positions, counts);
- ``evaluate(items, scores=..., outcomes=..., metrics_cfg)`` → the metrics dict of one RM, which always carries a
  ``headline`` block: the benchmark's leaderboard columns, each with its value, CI and item count;
- ``leaderboard(metrics, ranks)`` → (frame, markdown), from ``leaderboard_frame(metrics)``, ``markdown_columns()``
  and ``notes(metrics)`` (``rmeval.leaderboards`` adds the columns every leaderboard shares);
- ``has_judge_scores``: whether items carry per-response judge scores, which enables the downstream stage;
- ``metric_values(half)``: benchmark metrics by name for the correlation stage.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmeval.config.fields import at_least, settings
from rmeval.data.schema import DataError, assign_positions, check_references, count_table, subsample
from rmeval.errors import RmevalError
from rmeval.registry import BENCHMARKS  # a benchmark registers itself with @BENCHMARKS.register()

if TYPE_CHECKING:  # pandas is imported where tables are made: a dry run builds benchmarks without it
    import pandas as pd

log = logging.getLogger(__name__)


@dataclass
class SampleConfig:
    per_scenario: int | None = field(default=None, metadata=at_least(1))  # at most this many items per (format, goal, scenario); null = all
    seed: int = field(default=0, metadata=at_least(0))


@dataclass
class BenchmarkConfig:
    """Settings every benchmark has; a benchmark class's ``Config`` adds its own."""

    _target_: str = "???"  # the benchmark's class, e.g. rmeval.benchmarks.rmb.RMBBenchmark
    name: str = "???"
    version: str = "???"  # bump when the benchmark's data or scoring changes (in the YAML's changelog comment)
    description: str = ""
    root: str | None = None  # local file or folder; null: the benchmark's default source (download, hub, fixture)
    check_manifest: bool = False  # compare files and record counts with the full public release
    sample: SampleConfig = field(default_factory=SampleConfig)
    position_seed: int = field(default=0, metadata=at_least(0))  # seeds where a pairwise judge is shown the chosen response (A or B), per item
    judge_scores: bool = False  # items carry per-response judge scores (enables the downstream best-of-N stage)
    # published headline numbers shown beside ours in the leaderboards: a name in conf/published/ (rmb =
    # conf/published/rmb.yaml) or a file path; null: none
    published: str | None = None


@dataclass
class HubBenchmarkConfig(BenchmarkConfig):
    dataset: str | None = None  # hub dataset id (or a local folder in the hub's layout); null: the class default
    split: str | None = None
    revision: str | None = None  # the dataset revision datasets.load_dataset reads (pinned in the YAML)


#: the kinds of :class:`Source`
LOCAL, HUB, DOWNLOAD, GENERATED, CONSTRUCTED = "local", "hub", "download", "generated", "constructed"


@dataclass(frozen=True)
class Source:
    """Where a benchmark's raw files come from. ``kind``: ``local`` (the user's own file or folder, ``path``; it
    must exist), ``hub`` (read by the data job itself), ``download`` (a pinned release fetched into resources/),
    ``generated`` (a fixture the project writes) or ``constructed`` (built by rmeval's construction stages);
    ``spec``: the settings that make or address the files (the download, fixture, hub or construction node)."""

    kind: str
    path: str | None = None
    spec: Mapping | None = None


class BenchmarkError(RmevalError):
    """A benchmark cannot do what was asked (e.g. pairwise judges where it has no comparison path)."""


def plain(value: Any) -> Any:
    """A nested setting as a plain dict (a dataclass default or the mapping a YAML gave); None stays None."""
    if value is None:
        return None
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else dict(value)


def headline_cell(accuracy, ci_low=None, ci_high=None, n_items=None, chance=None) -> dict:
    return {"accuracy": accuracy, "ci_low": ci_low, "ci_high": ci_high, "n_items": n_items, "chance": chance}


class Benchmark:
    """Base class: the shared steps; subclasses implement ``read`` and the metrics."""

    Config: type = BenchmarkConfig  # the settings dataclass the YAML is validated against and the class receives
    #: leaderboard columns in display order; the last one named in ``primary`` ranks the RMs
    headline_columns: tuple[str, ...] = ("Accuracy",)
    primary: str = "Accuracy"
    #: what the headline numbers are (one line under the leaderboard's title)
    headline_definition: str = "accuracy (fraction of items an RM gets right; a tie counts as wrong)"
    #: whether pairwise judges (a comparisons table) can be evaluated on this benchmark
    supports_comparisons: bool = True
    #: how a judge's verdicts in the two orders combine (``rmeval.metrics.comparisons.ORDER_RULES``): "all" = the
    #: chosen must win in every order (RMB's rule); "net" = the orders' votes must sum to > 0 (JudgeBench's)
    order_rule: str = "all"
    #: whether results/significance/{benchmark}.csv (paired tests, the leaderboard's ranks) can be computed
    supports_significance: bool = True
    #: the markdown leaderboard shows values times this (100: percentages, one decimal)
    display_scale: float = 1.0

    def __init__(self, config: BenchmarkConfig | None = None, **given: Any):
        self.config = settings(self.Config, config, given, f"benchmark {given.get('name', type(self).__name__)}")

    @property
    def name(self) -> str:
        return str(self.config.name)

    @property
    def version(self) -> str:
        return str(self.config.version)

    @property
    def root(self) -> str | None:
        """The user's own copy of the raw files (None: the benchmark's default source)."""
        return self.config.root

    @property
    def sample(self) -> dict:
        return plain(self.config.sample) or {}

    @property
    def has_judge_scores(self) -> bool:
        return bool(self.config.judge_scores)

    # ------------------------------------------------------------------------------------- data
    def source(self) -> Source:
        """Where the raw files come from: by default the user's own copy at ``root``."""
        return Source(LOCAL, str(self.root) if self.root else None)

    def missing_source_hint(self) -> str:
        return f"point benchmark.root at a local copy of {self.name}"

    def read(self, root: str | None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        raise NotImplementedError

    def load(self, root: str | Path | None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        """(items, texts, report): the benchmark's own reader, then the steps every benchmark shares."""
        items, texts, report = self.read(None if root is None else str(root))
        full = count_table(items, texts)
        items, texts = subsample(items, texts, self.sample.get("per_scenario"), int(self.sample.get("seed", 0)))
        check_references(items, texts, str(root or self.name))
        items = assign_positions(items, self.config.position_seed)
        counts = count_table(items, texts)
        for goal, per_fmt in counts["items"].items():
            for fmt, n in per_fmt.items():
                log.info("%s: %s %s: %d items", self.name, goal, fmt, n)
        log.info("%s: %d response slots, %d unique texts (each scored once per RM)", self.name, counts["slots"], counts["unique_texts"])
        if not len(items):
            raise DataError(f"{root or self.name}: no items after loading{' and subsampling' if self.sample.get('per_scenario') else ''}")
        report = dict(report)
        if root is None and hasattr(self, "dataset"):  # read from the hub: say which revision, warn when unpinned
            report["hub"] = {"dataset": self.dataset, "split": getattr(self, "split", None), "revision": self.config.revision}
            if report["hub"]["revision"] is None:
                report["hub"]["warning"] = "revision not pinned: the default branch was read; set revision: <commit SHA> in the YAML"
                log.warning("%s: %s", self.name, report["hub"]["warning"])
        report.update({"benchmark": self.name, "version": self.version, "counts": counts,
                       "counts_before_sampling": full, "sample": self.sample})
        return items, texts, report

    # ------------------------------------------------------------------------------------- metrics
    def evaluate(self, items: pd.DataFrame, *, scores: pd.DataFrame | None = None, outcomes: pd.DataFrame | None = None,
                 metrics_cfg: Mapping | None = None) -> dict:
        """Metrics of one RM from its scores (pointwise) or its per-item outcomes (pairwise judges)."""
        m = _metrics_cfg(metrics_cfg)
        if outcomes is not None:
            if not self.supports_comparisons:
                raise BenchmarkError(f"benchmark {self.name}: pairwise judges are not supported here yet; use a rating judge (RatingJudgeRM)")
            result = self.outcome_metrics(items, outcomes, m)
        elif scores is not None:
            result = self.score_metrics(items, scores, m)
        else:
            raise BenchmarkError(f"benchmark {self.name}: give scores or outcomes")
        result["headline"] = {
            "primary": self.primary, "columns": list(self.headline_columns),
            "values": self.headline(result), "definition": self.headline_definition,
        }
        return result

    def judged_items(self, items: pd.DataFrame) -> pd.DataFrame:
        """The items a pairwise judge compares: all of them, unless the benchmark has items only scalar scores can
        measure (PPE Correctness's best-of-K sets), which a judge is not asked about."""
        return items

    def comparison_outcomes(self, items: pd.DataFrame, comparisons: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        """A pairwise judge's per-item outcomes (of ``judged_items``) and position statistics, its orders combined
        by ``order_rule``."""
        from rmeval.metrics import comparison_outcomes

        return comparison_outcomes(self.judged_items(items), comparisons, rule=self.order_rule)

    def score_metrics(self, items: pd.DataFrame, scores: pd.DataFrame, m: dict) -> dict:
        from rmeval.metrics import item_outcomes

        lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
        return self.outcome_metrics(items, item_outcomes(items, lookup), m)

    def outcome_metrics(self, items: pd.DataFrame, outcomes: pd.DataFrame, m: dict) -> dict:
        from rmeval.metrics import ci_description, group_table, summarize, with_prompt_ids

        outcomes = with_prompt_ids(items, outcomes)
        summary, _ = summarize(outcomes, m["n_boot"], m["ci_level"], m["seed"], m["bootstrap"])
        return {
            "n_items": int(len(items)),
            "accuracy": summary,
            "by_scenario": group_table(outcomes, ["goal", "format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], m["bootstrap"]),
            "ci": ci_description(outcomes, m["bootstrap"], m["ci_level"], m["n_boot"], m["seed"]),
        }

    def headline(self, metrics: dict) -> dict[str, dict]:
        node = metrics["accuracy"]
        return {"Accuracy": headline_cell(node["accuracy"], node["ci_low"], node["ci_high"], node["n_items"])}

    def significance_columns(self, items: pd.DataFrame) -> list:
        """The headline columns as ``rmeval.metrics.paired.Column`` objects (weighted means of per-item accuracies), for the
        paired tests between RMs. Default: one column over all items."""
        from rmeval.metrics.paired import Column, all_items

        return [Column(self.primary, ((all_items(), 1.0),), "accuracy over all items")]

    def metric_values(self, metrics: dict) -> dict[str, float | None]:
        """Benchmark metrics by name (the correlation stage's rows): each headline column."""
        values = (metrics.get("headline") or {}).get("values") or {}
        return {col: values.get(col, {}).get("accuracy") for col in self.headline_columns}

    # ------------------------------------------------------------------------------------- leaderboard
    def leaderboard(self, metrics: Sequence[dict], ranks: pd.DataFrame | None = None, *, board=None,
                    published=None) -> tuple[pd.DataFrame, str]:
        """(frame, markdown): the benchmark's own columns (``leaderboard_frame``), then the ones every leaderboard
        shares (``rmeval.leaderboards.board_frame``): ``ranks`` (``rmeval.metrics.paired.significance_ranks`` on the
        primary column), n items per column, the length columns, ``published`` numbers beside ours; ``board``: the
        ``leaderboard`` knobs (``rmeval.config.schemas.LeaderboardConfig``)."""
        from rmeval.leaderboards import board_frame, board_markdown

        frame = board_frame(self.leaderboard_frame(metrics), metrics, columns=self.headline_columns, primary=self.primary,
                            ranks=ranks, board=board, published=published)
        return frame, board_markdown(frame, name=self.name, definition=self.headline_definition, columns=self.headline_columns,
                                     primary=self.primary, scale=self.display_scale, extra=self.markdown_columns(),
                                     notes=self.notes(metrics))

    def leaderboard_frame(self, metrics: Sequence[dict]) -> pd.DataFrame:
        """One row per RM: each headline column with ``lo``/``hi``/``n``, sorted by the primary column; a benchmark
        adds its own columns here."""
        return headline_frame(metrics, self.headline_columns, self.primary)

    def markdown_columns(self) -> list:
        """Columns the markdown leaderboard shows after the headline ones: (header, cell text of a frame row)."""
        return []

    def notes(self, metrics: Sequence[dict]) -> list[str]:
        """What a reader must know about these numbers (missing data, subsampling, judge statistics)."""
        if not metrics:
            return []
        notes = []
        sample = (metrics[0].get("data") or {}).get("sample") or {}
        if sample.get("per_scenario"):
            notes.append(f"Seeded stratified subsample: at most {sample['per_scenario']} items per scenario (seed {sample.get('seed')}).")
        notes += judge_notes(metrics)
        return notes


def _metrics_cfg(m: Mapping | None) -> dict:
    m = dict(m or {})
    return {**m, "n_boot": int(m.get("n_boot", 1000)), "ci_level": float(m.get("ci_level", 0.95)), "seed": int(m.get("seed", 0)),
            "bootstrap": str(m.get("bootstrap") or "cluster")}


def judge_notes(metrics: Sequence[dict]) -> list[str]:
    notes = []
    for m in metrics:
        judge = m.get("judge")
        if judge:
            v = judge["verdicts"]
            share = judge.get("share_A_among_valid")
            cons = judge.get("consistency_rate")
            if judge["n_comparisons"] and v["invalid"] == judge["n_comparisons"]:
                notes.append(f"**{m['rm']}: every verdict is invalid ({v['invalid']:,} of {judge['n_comparisons']:,}); its row is "
                             "a pipeline check, not a measurement** (the run was allowed by allow_all_invalid).")
            rule = ("both orders net: +1 per order that picks the chosen, -1 per order that picks the other, ties and "
                    "invalid 0; correct iff the sum is > 0") if judge.get("order_rule") == "net" else "ties and invalid count as wrong"
            notes.append(
                f"{m['rm']} (pairwise judge): {judge['n_comparisons']:,} comparisons; verdicts A {v['A']}, B {v['B']}, "
                f"tie {v['tie']}, invalid {v['invalid']} ({rule})"
                + (f"; A chosen in {share:.1%} of valid verdicts" if share is not None else "")
                + (f"; consistent across both orders in {cons:.1%} of pairs" if cons is not None else "") + "."
            )
    return notes


def headline_frame(metrics: Sequence[dict], columns: Sequence[str], primary: str) -> pd.DataFrame:
    """One row per RM: each headline column with ``lo``/``hi``/``n``, sorted by the primary column."""
    rows = []
    for m in metrics:
        values = m["headline"]["values"]
        row = {"rm": m["rm"]}
        for col in columns:
            cell = values.get(col) or {}
            row[col] = cell.get("accuracy")
            row[f"{col} lo"], row[f"{col} hi"] = cell.get("ci_low"), cell.get("ci_high")
            row[f"{col} n"] = cell.get("n_items")
        row["truncated texts"] = (m.get("scoring") or {}).get("n_truncated")
        rows.append(row)
    import pandas as pd

    frame = pd.DataFrame(rows)
    methods = {(m.get("ci_method") or m.get("ci") or {}).get("method") for m in metrics} - {None}  # RM-Bench: ci_method
    if len(methods) == 1:
        frame.attrs["ci_method"] = methods.pop()
    if len(frame):
        frame[primary] = frame[primary].astype(float)
        frame = frame.sort_values([primary, "rm"], ascending=[False, True], na_position="last", kind="stable")
    return frame.reset_index(drop=True)


class HubBenchmark(Benchmark):
    """A benchmark read from the hub through ``datasets`` (``hub`` = its (dataset, split)) unless ``root`` names a
    local copy in the hub's schema; ``dataset``, ``split`` and ``revision`` override the hub address."""

    Config = HubBenchmarkConfig
    hub: tuple[str, str] = ("", "")

    @property
    def dataset(self) -> str:
        return self.config.dataset or self.hub[0]

    @property
    def split(self) -> str:
        return self.config.split or self.hub[1]

    def source(self) -> Source:
        """A local copy in the hub's schema at ``root``, else the hub (read by the data job through ``datasets``)."""
        if self.root:
            return super().source()
        return Source(HUB, spec={"dataset": self.dataset, "split": self.split, "revision": self.config.revision})
