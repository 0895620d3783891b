"""Validate a composed config: every group against its settings dataclass, every ``_target_`` against its
registry, unknown keys and out-of-range values as one line naming the file and the key."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmeval.config.families import (
    backend_schema,
    benchmark_schema,
    is_ensemble_target,
    known_backends,
    known_benchmarks,
    known_rm_families,
    rm_schema,
)
from rmeval.config.fields import ConfigError
from rmeval.config.paths import built_folder, check_model_paths
from rmeval.config.schemas import (
    BenchmarkListConfig,
    CorrelationConfig,
    DownstreamConfig,
    JudgeConfig,
    LeaderboardConfig,
    MetricsConfig,
    PolicyConfig,
    PromptsConfig,
    RMListConfig,
    RunConfig,
    ScoringConfig,
)
from rmeval.config.tree import available_rms, find_conf_dir
from rmeval.errors import one_line
from rmeval.registry import BUILD_KINDS

if TYPE_CHECKING:
    from omegaconf import DictConfig


def unknown_name(kind: str, name: str, choices: Sequence[str], folder: str | Path) -> str:
    """"unknown <kind> <name>; did you mean <closest>? (the N <kind>s: ls <folder>)": the closest names (difflib)
    instead of the whole list, which for RMs is 50 names on one line."""
    close = difflib.get_close_matches(str(name), list(choices), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "no known name is close"
    return f"unknown {kind} {name!r}; {hint} (all {len(choices)}: ls {folder})"


def check(schema: type, node: Any, where: str) -> DictConfig:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), node)
        OmegaConf.to_container(merged, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{where}: {one_line(err)}{_field_hint(schema, err)}") from None
    _check_values(schema, merged, where)
    return merged


def _field_hint(schema: type, err: Exception) -> str:
    """"; did you mean 'n_boot'?" for a key the schema does not have (``+metrics.nboot=5``), else ""."""
    key = getattr(err, "key", None)
    names = [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else []
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6) if isinstance(key, str) and key not in names else []
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _check_values(schema: type, node: DictConfig, where: str, prefix: str = "") -> None:
    """The ``metadata`` checks of ``schema``'s fields (``rmeval.config.fields``), nested dataclasses included."""
    from omegaconf import DictConfig, OmegaConf

    for f in dataclasses.fields(schema):
        value = node.get(f.name)
        key = f"{prefix}{f.name}"
        if isinstance(value, DictConfig) and dataclasses.is_dataclass(OmegaConf.get_type(value)):
            _check_values(OmegaConf.get_type(value), value, where, f"{key}.")
            continue
        meta = f.metadata
        if "range" in meta and value is not None and (problem := meta["range"].problem(value)):
            raise ConfigError(f"{where}: field '{key}': {problem}")
        if "each" in meta and value is not None:
            for item in value:
                if (problem := meta["each"].problem(item)):
                    raise ConfigError(f"{where}: field '{key}': every entry {problem}")
        if meta.get("nonempty") and not value:
            raise ConfigError(f"{where}: field '{key}': must list at least one entry, got an empty list")
        if meta.get("unique") and value and len(set(value)) < len(value):
            twice = next(v for i, v in enumerate(value) if v in value[:i])
            raise ConfigError(f"{where}: field '{key}': {twice!r} is listed twice; list each name once")
        if "pattern" in meta and value is not None and not re.fullmatch(meta["pattern"], str(value)):
            raise ConfigError(f"{where}: field '{key}': got {value!r}, expected {meta.get('expected', meta['pattern'])}")


def validate(cfg: DictConfig, conf_dir: Path | None = None) -> DictConfig:
    """Validate the composed groups; returns the same config (validation only, keys unchanged)."""
    conf_dir = conf_dir or find_conf_dir()
    benchmarks = sorted(p.stem for p in (conf_dir / "benchmark").glob("*.yaml"))
    for name in (cfg.get("benchmark_overrides") or {}):
        if name not in benchmarks:
            raise ConfigError(f"benchmark_overrides.{name}: {unknown_name('benchmark', name, benchmarks, conf_dir / 'benchmark')}")
    apply_benchmark_overrides(cfg)
    validate_benchmark(cfg.benchmark, f"{conf_dir}/benchmark/{cfg.benchmark.get('name', '?')}.yaml")
    check(BenchmarkListConfig, cfg.benchmarks, f"{conf_dir}/benchmarks (benchmarks.names)")
    known = sorted(p.stem for p in (conf_dir / "benchmark").glob("*.yaml"))
    for name in cfg.benchmarks.names:
        if name not in known:
            raise ConfigError(f"{conf_dir}/benchmarks: benchmarks.names: {unknown_name('benchmark', name, known, conf_dir / 'benchmark')}")
    if not cfg.benchmarks.names:
        raise ConfigError(f"{conf_dir}/benchmarks: benchmarks.names is empty; list at least one of {', '.join(known)}")
    check(RMListConfig, cfg.rms, f"{conf_dir}/rms (rms.names)")
    check(RunConfig, {"seed": cfg.get("seed", 0), "run": cfg.get("run", "main")}, "config.yaml")
    check(ScoringConfig, cfg.scoring, "config.yaml: scoring")
    check(MetricsConfig, cfg.metrics, "config.yaml: metrics")
    check(LeaderboardConfig, cfg.leaderboard, "config.yaml: leaderboard")
    check(DownstreamConfig, cfg.downstream, "config.yaml: downstream")
    check(CorrelationConfig, cfg.correlation, "config.yaml: correlation")
    available = available_rms(conf_dir)
    for name in cfg.rms.names:
        if name not in available:
            raise ConfigError(f"{conf_dir}/rms: rms.names: {unknown_name('RM', name, available, conf_dir / 'rm')}")
    policies = sorted(p.stem for p in (conf_dir / "policy").glob("*.yaml"))
    for name in (cfg.get("policy_overrides") or {}):
        if name not in policies:
            raise ConfigError(f"policy_overrides.{name}: {unknown_name('policy', name, policies, conf_dir / 'policy')}")
    if cfg.get("policy") is not None:
        apply_group_overrides(cfg, "policy")
    for group, schema in (("prompts", PromptsConfig), ("policy", PolicyConfig), ("judge", JudgeConfig)):
        if cfg.get(group) is not None:
            where = f"{conf_dir}/{group}/{cfg[group].get('name', '?')}.yaml"
            check(schema, cfg[group], where)
            if cfg[group].get("backend") is not None:
                validate_backend(cfg[group].backend, where)
                check_model_paths(cfg[group], where, built_folder(cfg[group].get("requires_model")))
    if cfg.get("rm") is not None:
        apply_rm_overrides(cfg)
        validate_rm(cfg.rm, f"{conf_dir}/rm/{cfg.rm.get('name', '?')}.yaml")
        check_members(cfg.rm, f"{conf_dir}/rm/{cfg.rm.name}.yaml", available)
    for name in (cfg.get("rm_overrides") or {}):
        if name not in available:
            raise ConfigError(f"rm_overrides.{name}: {unknown_name('RM', name, available, conf_dir / 'rm')}")
    return cfg


def validate_benchmark(node: DictConfig, where: str) -> DictConfig:
    target = node.get("_target_")
    schema = benchmark_schema(target)
    if schema is None:
        raise ConfigError(f"{where}: field '_target_': unknown benchmark class {target!r}; known: {known_benchmarks()}")
    return check(schema, node, where)


def apply_benchmark_overrides(cfg: DictConfig) -> None:
    """Merge ``benchmark_overrides.<name>`` into the selected benchmark (once; the entry is then emptied)."""
    name = cfg.benchmark.get("name")
    extra = (cfg.get("benchmark_overrides") or {}).get(name)
    if not extra:
        return
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException

    schema = benchmark_schema(cfg.benchmark.get("_target_"))
    with open_dict(cfg):
        base = OmegaConf.merge(OmegaConf.structured(schema), cfg.benchmark) if schema else cfg.benchmark
        try:
            cfg.benchmark = OmegaConf.merge(base, extra)
        except OmegaConfBaseException as err:
            raise ConfigError(f"benchmark_overrides.{name}: {one_line(err)}") from None
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
    schema = rm_schema(target)
    if schema is None:
        raise ConfigError(f"{where}: field '_target_': unknown RM family {target!r}; known: {known_rm_families()}")
    if "backend" in {f.name for f in dataclasses.fields(schema)}:  # generative judges: their backend's own settings
        validate_backend(node.get("backend") or {}, where)
    merged = check(schema, node, where)
    check_model_paths(node, where, built_folder(node.get("name")) if node.get("build") is not None else None)
    if node.get("build") is not None:
        kind = node.get("build").get("kind")
        if kind not in BUILD_KINDS:
            raise ConfigError(f"{where}: field 'build.kind': unknown kind {kind!r}; known: {', '.join(BUILD_KINDS.names())}")
    return merged


def validate_backend(backend: Any, where: str) -> DictConfig:
    """A ``backend:`` node (of a judge RM, a policy or a construction judge) against its backend's settings."""
    schema = backend_schema(backend.get("_target_"))
    if schema is None:
        raise ConfigError(f"{where}: field 'backend._target_': expected one of {known_backends()}")
    return check(schema, backend, f"{where} (backend)")


def check_members(node: Any, where: str, available: list[str]) -> None:
    """An ensemble's ``members`` must be RMs of conf/rm/."""
    if not is_ensemble_target(node.get("_target_")):
        return
    unknown = [m for m in node.get("members") or [] if m not in available]
    if unknown:
        raise ConfigError(f"{where}: field 'members': {unknown_name('RM', unknown[0], available, Path(where).parent)}")
