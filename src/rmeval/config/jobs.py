"""What a job asks the scheduler for: Snakemake ``threads:`` and ``resources:`` of the jobs that run an RM, policy or
judge YAML, and their shard counts. A key the YAML's ``resources:`` node sets wins; the others follow from the size
of the model the job runs (``job_resources``; docs/scale-out.md).

**Size** P (billions of parameters), first found of: ``resources.params_b``; the local model folder (the tensors'
shapes in its ``*.safetensors`` headers, else the safetensors index's ``total_size``, else an estimate from
``config.json``: embeddings + layers x (attention with its key/value heads + MLP, gated or not, x experts)); the
YAML's ``build:`` sizes (hidden_size, num_layers, vocab_size); the size of its ``requires_model`` RM. A DPO-style
``reference`` model counts too. A job whose size is none of these (a hub id without ``params_b``) fails the dry
run with one line naming the file and ``resources.params_b``.

**Formula.** Weights W = P x bytes per parameter (float32 4, bfloat16/float16 2, 8bit 1, 4bit 0.5; dtype auto:
2 on a GPU, 4 on the CPU) in GB. A job runs on GPUs when it starts an inference server (its ``server:``), runs
vLLM in process, says ``device: cuda``, or has P >= GPU_FROM_PARAMS_B with ``device: auto``. On GPUs it needs
1.2 W + 4 GB of GPU memory (weights with 20% headroom, plus one batch's activations) and asks for
``ceil(need / per-GPU memory)`` GPUs (a server's tensor x pipeline parallel size instead, which must hold W), with
host memory W + 8 GB; on the CPU, memory 1.2 W + 4 GB. Memory is at least 8,000 MB, runtime 60 + 10 x P minutes
(at most 2,880). Per-GPU memory: ``resources.gpu_memory_gb``, else the run's ``gpu_memory_gb`` (config.yaml, 80).
Threads: all of a local run's ``--cores`` for a job that runs a model (so the local scheduler runs one at a time),
on a cluster 8 per GPU or the machine's CPUs for a CPU job; 1 for an API or model-free job.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.config.fields import ConfigError, above, at_least, between
from rmeval.config.tree import to_plain
from rmeval.errors import one_line


@dataclass
class ResourcesConfig:
    """What one job asks the scheduler for: Snakemake's ``threads:`` and standard ``resources:`` (the SLURM and
    Kubernetes executor plugins read them). Optional in every RM, policy and judge YAML (``resources:``); a key left
    null follows from the model's size (module docstring)."""

    # null: a job with a local model claims all of Snakemake's cores (torch: at most the machine's CPUs); an API job 1
    threads: int | None = field(default=None, metadata=at_least(1))
    mem_mb: int | None = field(default=None, metadata=at_least(1))  # memory per job (SLURM --mem); null: derived
    runtime: int | None = field(default=None, metadata=at_least(1))  # minutes (SLURM -t); null: derived
    gpus: int | None = field(default=None, metadata=at_least(0))  # Snakemake resource `gpu` (SLURM --gpus=N); null: derived
    gpu_model: str | None = None  # e.g. a100 (SLURM --gpus=a100:N); null = any
    slurm_partition: str | None = None  # null = the profile's (profiles/slurm) or the cluster's default
    slurm_extra: str | None = None  # more sbatch flags verbatim, e.g. "--constraint=ib" (not --gres/--gpus: use gpus)
    params_b: float | None = field(default=None, metadata=between(0, 10000, low_open=True))  # model size, billions
    gpu_memory_gb: float | None = field(default=None, metadata=above(0))  # memory of this job's GPU; null = the run's
    tokens_per_s: float | None = field(default=None, metadata=above(0))  # measured throughput (prompt + generated): the cost plan's GPU-hours


@dataclass
class ScoreJobConfig:
    """How the score stage splits one (benchmark, RM) into jobs (rmeval.sharding)."""

    # K length-balanced shards of the unique texts, one job each, merged into the usual score file
    shards: int = field(default=1, metadata=at_least(1))


@dataclass
class SampleJobConfig:
    """How the sample stage splits one (prompt set, policy) into jobs (rmeval.sharding.shard_rows)."""

    shards: int = field(default=1, metadata=at_least(1))  # K shards of the prompts, one job each, merged into the usual responses file


# Keys of an RM, policy or judge YAML that tell the scheduler how to run its jobs, not how the model scores:
# never handed to the family class, never part of a result's fingerprint. (The model's size, params_b, sits in
# `resources:`.)
JOB_KEYS: tuple[str, ...] = ("resources", "score", "sample")

DEFAULT_MEM_MB, DEFAULT_RUNTIME = 8000, 60  # a job's floor, and all a model-free job asks for
DEFAULT_GPU_MEMORY_GB = 80.0  # config.yaml's gpu_memory_gb
GPU_FROM_PARAMS_B = 0.3  # device auto: a model this size or larger runs on a GPU (MiniLM, SmolLM2-135M stay on the CPU)
HEADROOM, ACTIVATIONS_GB, HOST_EXTRA_GB = 1.2, 4.0, 8.0
RUNTIME_PER_B, MAX_RUNTIME = 10, 2880  # minutes per billion parameters; a cap (two days)
CPUS_PER_GPU = 8
DTYPE_BYTES = {"float32": 4, "float": 4, "bfloat16": 2, "float16": 2, "half": 2, "8bit": 1, "4bit": 0.5}
GATED_ACTS = {"silu", "swish", "swiglu", "geglu", "gelu_pytorch_tanh"}  # MLPs with gate, up and down projections


def machine_cpus() -> int:
    """CPUs this process may run on: its affinity mask (a SLURM allocation, a container's cpuset), else all."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def uses_local_model(node: Any) -> bool:
    """Whether an RM, policy or judge node runs a model in the job's own process (threads, maybe a GPU); a backend
    whose class says ``remote = True`` calls a server instead."""
    backend = node.get("backend")
    if backend is not None:
        from rmeval.config.families import is_remote_backend

        return not is_remote_backend(backend.get("_target_"))
    return node.get("model") is not None


def starts_server(node: Any) -> bool:
    """Whether the job starts its own inference server (``server:``, e.g. ``vllm serve``) and so runs the model."""
    return node.get("server") is not None


# ------------------------------------------------------------------------------------------- model size
def estimate_params(cfg: dict) -> int | None:
    """Parameters of a transformer from its ``config.json`` (or a ``build:`` node's sizes); None without a hidden
    size and a layer count. Norms and biases are left out (well under 1%); an untied output layer is counted
    (except for a classifier's ``architectures``)."""
    c = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else cfg

    def first(*keys: str, default: Any = None) -> Any:
        return next((c[k] for k in keys if isinstance(c.get(k), (int, float)) and c[k]), default)

    h, layers = first("hidden_size", "n_embd", "d_model", "dim"), first("num_hidden_layers", "n_layer", "num_layers", "n_layers")
    if not h or not layers:
        return None
    heads = first("num_attention_heads", "n_head", "num_heads", "n_heads", default=1)
    head_dim = first("head_dim", "d_kv", default=h // heads)
    kv_heads = first("num_key_value_heads", "n_kv_heads", "multi_query_group_num", default=heads)
    inter = first("intermediate_size", "ffn_dim", "d_ff", "n_inner", "ffn_hidden_size", default=4 * h)
    act = str(c.get("hidden_act") or c.get("hidden_activation") or c.get("activation_function") or "")
    gated = act in GATED_ACTS or "gated" in str(c.get("feed_forward_proj", ""))
    experts = first("num_local_experts", "num_experts", "n_routed_experts", default=1)
    attention = 2 * h * heads * head_dim + 2 * h * kv_heads * head_dim
    block = attention + (3 if gated else 2) * h * inter * experts
    decoder = first("num_decoder_layers", default=0) if c.get("is_encoder_decoder") else 0  # T5: + cross-attention
    vocab = first("vocab_size", "padded_vocab_size", default=0)
    head = c.get("tie_word_embeddings") is False and not any(str(a).endswith("Classification") for a in c.get("architectures") or [])
    embeddings = vocab * h * (2 if head else 1)  # an untied output layer, unless the model is a classifier
    return int(embeddings + layers * block + decoder * (block + attention))


def _safetensors_count(path: Path) -> int:
    """Parameters in one safetensors file, from its JSON header (the first 8 bytes give its length); 0 when the
    file is no safetensors file (e.g. a Git LFS pointer)."""
    try:
        with path.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length)) if length < 1 << 27 else {}
    except (OSError, ValueError, struct.error):
        return 0
    return sum(math.prod(t.get("shape", [])) for k, t in header.items() if k != "__metadata__" and isinstance(t, dict))


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: cannot read: {one_line(err)}") from None


def folder_params_b(folder: Path) -> tuple[float, str] | None:
    """A model folder's size in billions and where it was read; None when the folder says nothing."""
    count = sum(_safetensors_count(p) for p in sorted(folder.glob("*.safetensors")))
    if count:
        return count / 1e9, f"{folder}/*.safetensors"
    config = _read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    index = folder / "model.safetensors.index.json"
    total = _read_json(index).get("metadata", {}).get("total_size") if index.is_file() else None
    if total:
        stored = str(config.get("dtype") or config.get("torch_dtype") or "bfloat16")
        return total / DTYPE_BYTES.get(stored, 2) / 1e9, str(index)
    estimate = estimate_params(config) if config else None
    return (estimate / 1e9, f"{folder}/config.json") if estimate else None


def _local_folder(value: Any) -> Path | None:
    from rmeval.config.paths import looks_local

    if not isinstance(value, str) or not looks_local(value):
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


def _model_params_b(model: Any, node: Any) -> tuple[float, str] | None:
    """One model's size: its local folder, else the sizes in the node's ``build:``."""
    folder = _local_folder(model)
    found = folder_params_b(folder) if folder is not None else None
    build = to_plain(node.get("build")) if node.get("build") is not None else None
    if found is None and isinstance(build, dict) and (estimate := estimate_params(build)):
        found = estimate / 1e9, "build"
    return found


def model_params_b(node: Any) -> tuple[float, str] | None:
    """The size of the model(s) a job runs, in billions of parameters, and where it came from (module docstring)."""
    given = (node.get("resources") or {}).get("params_b")
    if given is not None:
        return float(given), "params_b"
    backend = node.get("backend") or {}
    found = _model_params_b(node.get("model") or backend.get("model"), node)
    if found is not None and node.get("reference") is not None:  # an implicit RM's reference model runs too
        ref = _model_params_b(node.get("reference"), node)
        found = (found[0] + ref[0], found[1]) if ref is not None else None
    if found is None and node.get("requires_model"):
        from omegaconf import OmegaConf

        from rmeval.config.tree import find_conf_dir

        path = find_conf_dir() / "rm" / f"{node.get('requires_model')}.yaml"
        if path.is_file() and (found := model_params_b(OmegaConf.load(path))) is not None:
            found = found[0], f"{node.get('requires_model')} ({found[1]})"
    return found


# ------------------------------------------------------------------------------------------- sizing
@dataclass(frozen=True)
class Sizing:
    """What a model job needs, derived from its size (module docstring)."""

    params_b: float
    source: str  # where params_b came from
    bytes_per_param: float
    gpus: int  # 0: a CPU job
    need_gb: float  # memory the model needs: on each job's GPUs together (a GPU job), or the host's (a CPU job)
    mem_mb: int
    runtime: int

    @property
    def weights_gb(self) -> float:
        return self.params_b * self.bytes_per_param


def _where(node: Any) -> str:
    """The YAML a node comes from, for error messages."""
    from rmeval.config.families import rm_family

    name = node.get("name", "?")
    if node.get("_target_") is None:
        return f"conf/policy/{name}.yaml"
    return f"conf/rm/{name}.yaml" if rm_family(node.get("_target_")) is not None else f"conf/judge/{name}.yaml"


def _server_args(node: Any) -> list[str]:
    """The managed server's command line (``server.command``: a list or a shell-style string); [] without one."""
    command = (node.get("server") or {}).get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _flag(args: list[str], *names: str) -> str | None:
    """The value of a command-line option (``--name value`` or ``--name=value``), None when absent."""
    for i, arg in enumerate(args):
        key, eq, value = arg.partition("=")
        if key in names:
            return value if eq else args[i + 1] if i + 1 < len(args) else None
    return None


def _parallel(node: Any) -> tuple[int, str] | None:
    """GPUs a served or vLLM model spreads over (tensor x pipeline parallel size) and the field that says so."""
    if starts_server(node):
        args = _server_args(node)
        sizes = [_flag(args, "--tensor-parallel-size", "-tp"), _flag(args, "--pipeline-parallel-size", "-pp")]
        return math.prod(int(v) if v and v.isdigit() else 1 for v in sizes), "server.command"
    from dataclasses import fields

    from rmeval.config.families import backend_schema

    backend = node.get("backend") or {}
    schema = backend_schema(backend.get("_target_"))
    default = next((f.default for f in fields(schema) if f.name == "tensor_parallel_size"), None) if schema else None
    if default is None:
        return None
    return int(backend.get("tensor_parallel_size") or default), "backend.tensor_parallel_size"


def _setting(node: Any, key: str) -> str | None:
    backend = node.get("backend") or {}
    value = node.get(key) if node.get(key) is not None else backend.get(key)
    value = getattr(value, "value", value)  # an enum (a validated DType)
    return None if value is None else str(value)


def size_job(node: Any, gpu_memory_gb: float | None = None) -> Sizing:
    """The sizing of a job that runs a model (module docstring); ConfigError when its size is unknown or a served
    model's parallel size cannot hold its weights."""
    found = model_params_b(node)
    if found is None:
        backend = node.get("backend") or {}
        model = node.get("model") or backend.get("model")
        raise ConfigError(f"{_where(node)}: field 'resources.params_b': the size of {model!r} is unknown (no local "
                          "config.json or safetensors); state it in billions of parameters, e.g. resources: {params_b: 8.0}")
    params_b, source = found
    per_gpu = float((node.get("resources") or {}).get("gpu_memory_gb") or gpu_memory_gb or DEFAULT_GPU_MEMORY_GB)
    parallel = _parallel(node)
    device = _setting(node, "device") or "auto"
    on_gpu = parallel is not None or device.startswith("cuda") or (device == "auto" and params_b >= GPU_FROM_PARAMS_B)
    dtype = _setting(node, "quantization") or _flag(_server_args(node), "--dtype") or _setting(node, "dtype") or "auto"
    bytes_per_param = DTYPE_BYTES.get(dtype, 2 if on_gpu else 4)
    weights = params_b * bytes_per_param
    need = HEADROOM * weights + ACTIVATIONS_GB
    runtime = min(MAX_RUNTIME, DEFAULT_RUNTIME + round(RUNTIME_PER_B * params_b))
    if not on_gpu:
        return Sizing(params_b, source, bytes_per_param, 0, need, max(DEFAULT_MEM_MB, math.ceil(need * 1000)), runtime)
    gpus = math.ceil(need / per_gpu)
    if parallel is not None:
        gpus, where = parallel
        if gpus * per_gpu < weights:
            raise ConfigError(f"{_where(node)}: field '{where}': {gpus} GPU(s) of {per_gpu:g} GB cannot hold the "
                              f"{weights:.0f} GB of weights of a {params_b:g}B model; raise the parallel size or set resources.gpus")
    host = max(DEFAULT_MEM_MB, math.ceil((weights + HOST_EXTRA_GB) * 1000))
    return Sizing(params_b, source, bytes_per_param, gpus, need, host, runtime)


def job_resources(node: Any, cores: int | None, gpu_memory_gb: float | None = None) -> dict[str, Any]:
    """Snakemake ``threads`` and ``resources`` of a job running this RM, policy or judge node.

    ``resources:`` in the node wins key by key; a key it leaves null follows from the model's size (``size_job``,
    module docstring) for a job that runs a model (``uses_local_model`` or ``starts_server``), else 8,000 MB, 60
    minutes, no GPU. ``gpu_memory_gb``: the run's per-GPU memory (config.yaml). Threads, when not given: all of
    ``cores`` (Snakemake's ``--cores`` on a local run) for a job that runs a model, so the local scheduler never
    runs two such jobs side by side (the job itself runs torch on at most ``machine_cpus()`` threads); with no
    ``cores`` (a cluster) 8 per GPU, or ``machine_cpus()`` for a CPU job; 1 for an API or model-free job. A key
    left null is absent from the result (Snakemake drops None resources), so the profile's default-resources fill it.
    """
    from omegaconf import OmegaConf

    if gpu_memory_gb is not None and (problem := above(0)["range"].problem(gpu_memory_gb)):
        raise ConfigError(f"config.yaml: field 'gpu_memory_gb': {problem}")
    res = OmegaConf.merge(OmegaConf.structured(ResourcesConfig), node.get("resources") or {})
    runs_model = uses_local_model(node) or starts_server(node)
    derived = None
    if runs_model and None in (res.mem_mb, res.runtime, res.gpus):
        derived = size_job(node, gpu_memory_gb)

    def pick(key: str, default: int) -> int:
        given = res.get(key)
        return int(given) if given is not None else getattr(derived, key) if derived is not None else default

    gpus = pick("gpus", 0)
    if res.threads is not None:
        threads = int(res.threads)
    elif runs_model:
        threads = max(1, cores) if cores else CPUS_PER_GPU * gpus if gpus else machine_cpus()
    else:
        threads = 1
    out: dict[str, Any] = {"threads": threads, "mem_mb": pick("mem_mb", DEFAULT_MEM_MB),
                           "runtime": pick("runtime", DEFAULT_RUNTIME)}
    if gpus:
        out["gpu"] = gpus
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
