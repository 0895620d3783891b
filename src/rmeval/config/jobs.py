"""What a job asks the scheduler for, read from the ``resources:``, ``score:`` and ``sample:`` keys of an RM,
policy or judge YAML (Snakemake ``threads:`` and ``resources:``, shard counts)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rmeval.config.fields import at_least
from rmeval.config.tree import to_plain


@dataclass
class ResourcesConfig:
    """What one job asks the scheduler for: Snakemake's ``threads:`` and standard ``resources:`` (the SLURM and
    Kubernetes executor plugins read them). Optional in every RM, policy and judge YAML (``resources:``)."""

    # null: a job with a local model claims all of Snakemake's cores (torch: at most the machine's CPUs); an API job 1
    threads: int | None = field(default=None, metadata=at_least(1))
    mem_mb: int = field(default=8000, metadata=at_least(1))  # memory per job (SLURM --mem)
    runtime: int = field(default=60, metadata=at_least(1))  # minutes (SLURM -t)
    gpus: int = field(default=0, metadata=at_least(0))  # GPUs per job: Snakemake resource `gpu` (SLURM --gpus=N); 0 = a CPU job
    gpu_model: str | None = None  # e.g. a100 (SLURM --gpus=a100:N); null = any
    slurm_partition: str | None = None  # null = the profile's (profiles/slurm) or the cluster's default
    slurm_extra: str | None = None  # more sbatch flags verbatim, e.g. "--constraint=ib" (not --gres/--gpus: use gpus)


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
# never handed to the family class, never part of a result's fingerprint.
JOB_KEYS: tuple[str, ...] = ("resources", "score", "sample")


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
