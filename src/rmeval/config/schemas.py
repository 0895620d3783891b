"""Settings of the run itself (``config.yaml``'s groups: scoring, metrics, downstream, correlation, the RM and
benchmark lists) and of the construction groups (prompts, policy, judge). RM families, benchmarks and backends
declare their own settings in their modules (``rmeval.config.families`` finds them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rmeval.config.fields import above, at_least, between, each, fraction
from rmeval.config.jobs import ResourcesConfig, SampleJobConfig


@dataclass
class ConstructConfig:
    """Build this benchmark: sample `policies` on the `prompts` set, judge with `judge`, apply RMB's rules."""

    prompts: str = "???"  # conf/prompts/<name>.yaml
    policies: list[str] = field(default_factory=list)  # conf/policy/<name>.yaml each
    judge: str = "???"  # conf/judge/<name>.yaml
    rules: dict = field(default_factory=dict)  # rmeval.construct.builder.BuildRules fields (score gaps, caps, seed)


@dataclass
class PromptsConfig:
    name: str = "???"
    source: str = "demo"  # demo | release | jsonl
    path: str | None = None
    per_scenario: int | None = field(default=None, metadata=at_least(1))
    seed: int = field(default=0, metadata=at_least(0))


@dataclass
class PolicyConfig:
    name: str = "???"
    requires_model: str | None = None  # an RM whose model folder (built by its rule) holds the weights
    backend: Any = None
    system_prompt: str | None = None
    n_samples: int = field(default=1, metadata=at_least(1))
    temperature: float = field(default=0.7, metadata=at_least(0))
    top_p: float = field(default=1.0, metadata=between(0, 1))
    max_new_tokens: int = field(default=256, metadata=at_least(1))
    seed: int = field(default=0, metadata=at_least(0))
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    sample: SampleJobConfig = field(default_factory=SampleJobConfig)


@dataclass
class JudgeConfig:
    """A construction judge (``conf/judge/``): the settings ``rmeval.construct.pointwise_judge.PointwiseJudge``
    receives. Declared here, not in that module, because validating it is part of every dry run and that module
    imports pandas."""

    _target_: str = "rmeval.construct.pointwise_judge.PointwiseJudge"
    name: str = "???"
    requires_model: str | None = None
    backend: Any = None
    template: str | None = None  # null = conf/templates/pointwise_judge_v1.txt
    mode: str = "generate"  # generate | expected_value (HF backends: probabilities of the score tokens)
    max_attempts: int = field(default=3, metadata=at_least(1))
    max_tokens: int = field(default=512, metadata=at_least(1))
    temperature: float = field(default=0.0, metadata=at_least(0))
    seed: int = field(default=0, metadata=at_least(0))
    price_per_1k_prompt: float = field(default=0.0, metadata=at_least(0))
    price_per_1k_completion: float = field(default=0.0, metadata=at_least(0))
    # later attempts sample at this temperature (greedy retries repeat themselves)
    retry_temperature: float | None = field(default=None, metadata=at_least(0))
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)


@dataclass
class BenchmarkListConfig:
    names: list[str] = field(default_factory=list, metadata={"unique": True})
    description: str = ""


@dataclass
class RMListConfig:
    names: list[str] = field(default_factory=list, metadata={"nonempty": True, "unique": True})
    description: str = ""


@dataclass
class ScoringConfig:
    flush_every_batches: int = field(default=8, metadata=at_least(1))  # write the score cache after this many batches (resume granularity)
    progress: bool = True  # progress bars on a terminal, a few plain log lines otherwise
    threads: int | None = field(default=None, metadata=at_least(1))  # torch CPU threads; null = Snakemake's threads for the job


class BootstrapMethod(Enum):
    """What the bootstrap resamples (rmeval.metrics)."""

    cluster = "cluster"  # prompts (prompt_id), within scenarios, with all their items: RMB's items share prompts
    item = "item"  # items, independently (the four components independently)


@dataclass
class MetricsConfig:
    n_boot: int = field(default=1000, metadata=at_least(1))
    ci_level: float = field(default=0.95, metadata=fraction())
    seed: int = field(default=0, metadata=at_least(0))
    bootstrap: BootstrapMethod = BootstrapMethod.cluster
    # leaderboard ranks: Holm-adjusted paired tests at this level (rmeval.metrics.paired.significance_ranks)
    significance_level: float = field(default=0.05, metadata=fraction())


class RankWeight(Enum):
    """How the cross-benchmark leaderboard's mean rank weighs the benchmarks (rmeval.leaderboards)."""

    benchmarks = "benchmarks"  # every benchmark counts the same
    items = "items"  # a benchmark counts by the items of its primary column


@dataclass
class LeaderboardConfig:
    # a column with fewer items shows no CI: a percentile bootstrap on a handful of items moves in steps of 1/n and
    # gives zero-width intervals at 0 and 1 (13 items: 1.000 [1.000, 1.000])
    min_items_for_ci: int = field(default=30, metadata=at_least(1))
    weight: RankWeight = RankWeight.benchmarks  # the cross-benchmark leaderboard's mean rank
    # cross-benchmark leaderboard: a benchmark with fewer items in its primary column is left out of the mean rank
    # (named in the note): at 100 items a 95% CI of an accuracy near 0.7 is still about ±0.09 wide, its ranks mostly noise
    min_items: int = field(default=100, metadata=at_least(0))
    include_small: bool = False  # count those small benchmarks in the mean rank all the same


@dataclass
class DownstreamConfig:
    enabled: bool = True
    split_seed: int = field(default=0, metadata=at_least(0))
    downstream_fraction: float = field(default=0.5, metadata=fraction())  # 0 or 1 would leave one side empty
    n_draws: int = field(default=20, metadata=at_least(1))
    seed: int = field(default=0, metadata=at_least(0))
    min_prompts: int = field(default=20, metadata=at_least(1))


@dataclass
class CorrelationConfig:
    n_boot: int = field(default=1000, metadata=at_least(1))
    ci_level: float = field(default=0.95, metadata=fraction())
    seed: int = field(default=0, metadata=at_least(0))
    min_rms_for_ci: int = field(default=5, metadata=at_least(3))  # below 3 RMs: no coefficient (rmeval.correlation.MIN_RMS)
    # PPE lower-quantile metrics (rmeval.metrics.paired)
    quantiles: list[float] = field(default_factory=lambda: [0.0, 0.1, 0.25], metadata=each(between(0, 1)))


RUN_NAME = {"pattern": r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", "expected": "a name of letters, digits, '.', '_' and '-' (at most 64)"}


@dataclass
class RunConfig:
    """The top-level keys of config.yaml that belong to no group."""

    seed: int = field(default=0, metadata=at_least(0))  # read by no stage (each section has its own seed); checked all the same
    # memory of one GPU of the target cluster (GB): a model job asks for ceil(its need / this) GPUs (rmeval.config.jobs)
    gpu_memory_gb: float = field(default=80.0, metadata=above(0))
    # the run's name: its summaries (leaderboards, significance, correlation, plots, report) go under
    # results/runs/<run>/; scores, metrics and best-of-N files stay shared between runs
    run: str = field(default="main", metadata=RUN_NAME)
