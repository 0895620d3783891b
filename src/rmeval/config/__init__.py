"""Compose and validate the Hydra config tree in ``conf/``.

The Snakefile and every entry point compose the same tree with the same user overrides, so the DAG and the jobs
agree on the RM list and every knob. Each group is validated against a settings dataclass at compose time: a typo
in a YAML or an override fails the dry run with one line naming the group, the file and the key. RM families,
benchmarks and backends declare their dataclasses in their own modules; the registries find them
(``rmeval.config.families``).

Modules: ``fields`` (the error, enums, value checks), ``tree`` (conf/ on disk), ``overrides`` (Snakemake's
``--config`` as Hydra overrides), ``schemas`` (the run's own groups), ``families`` (registry lookups),
``validate``, ``compose``, ``jobs`` (scheduler resources). omegaconf and hydra are imported inside the functions
that need them: the Snakefile imports this package at every dry run (tests/unit/test_import_cost.py checks).
"""

from rmeval.config.compose import compose, compose_benchmark, compose_rm, rm_node
from rmeval.config.families import (
    ENSEMBLE_RM_TARGETS,
    PAIRWISE_RM_TARGETS,
    backend_schema,
    benchmark_schema,
    is_ensemble_target,
    is_pairwise_target,
    is_remote_backend,
    needs_build,
    rm_family,
    rm_schema,
)
from rmeval.config.fields import DEVICE, ChatTemplateMode, ConfigError, DType, LengthUnit, TruncationSide, at_least
from rmeval.config.jobs import (
    JOB_KEYS,
    ResourcesConfig,
    SampleJobConfig,
    ScoreJobConfig,
    job_resources,
    machine_cpus,
    sample_shards,
    score_shards,
    uses_local_model,
    without_job_keys,
)
from rmeval.config.overrides import LIST_GROUPS, hydra_value, split_overrides, user_overrides
from rmeval.config.tree import available, available_rms, find_conf_dir, fingerprint, rm_target, to_plain
from rmeval.config.validate import (
    apply_benchmark_overrides,
    apply_group_overrides,
    apply_rm_overrides,
    validate,
    validate_backend,
    validate_benchmark,
    validate_rm,
)

__all__ = [
    "DEVICE", "ENSEMBLE_RM_TARGETS", "JOB_KEYS", "LIST_GROUPS", "PAIRWISE_RM_TARGETS", "ChatTemplateMode", "ConfigError",
    "DType", "LengthUnit", "ResourcesConfig", "SampleJobConfig", "ScoreJobConfig", "TruncationSide", "apply_benchmark_overrides",
    "apply_group_overrides", "apply_rm_overrides", "at_least", "available", "available_rms", "backend_schema",
    "benchmark_schema", "compose", "compose_benchmark", "compose_rm", "find_conf_dir", "fingerprint",
    "hydra_value", "is_ensemble_target", "is_pairwise_target", "is_remote_backend", "job_resources", "machine_cpus",
    "needs_build", "rm_family", "rm_node", "rm_schema", "rm_target", "sample_shards", "score_shards",
    "split_overrides", "to_plain", "user_overrides", "uses_local_model", "validate", "validate_backend",
    "validate_benchmark", "validate_rm", "without_job_keys",
]
