"""Compose ``conf/config.yaml`` with the user's overrides (Hydra's compose API) and validate it; one RM's or one
benchmark's node. The Snakefile and every entry point compose the same tree, so the DAG and the jobs agree."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.config.fields import ConfigError
from rmeval.config.overrides import _touches_group
from rmeval.config.tree import available, available_rms, find_conf_dir
from rmeval.config.validate import check_members, unknown_name, validate, validate_rm
from rmeval.errors import one_line

if TYPE_CHECKING:
    from omegaconf import DictConfig


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
        raise ConfigError(composition_error(err, list(overrides or []), conf_dir)) from None
    finally:
        GlobalHydra.instance().clear()
    return validate(cfg, conf_dir)


# Config maps whose entries are new keys by design: they need Hydra's `++` (`rm_overrides.<rm>.<key>=...`).
OVERRIDE_MAPS = ("rm_overrides", "benchmark_overrides", "policy_overrides")
LIST_NAMES = {"rms": ("rm", "RM"), "benchmarks": ("benchmark", "benchmark")}  # a list group and what it lists


def composition_error(err: Exception, overrides: list[str], conf_dir: Path) -> str:
    """The one line for a config that does not compose, in the terms of ``snakemake --config``: an unknown group
    option gets the closest names (``experiment=smok``: did you mean 'smoke'?); an unknown key gets the closest
    keys, or, under ``rm_overrides`` and the like, the ``overrides='[++key=value]'`` form that adds it (Hydra's own
    hint, ``+key``, is no ``--config`` key)."""
    from hydra.errors import MissingConfigException

    missing = getattr(err, "missing_cfg_file", None) if isinstance(err, MissingConfigException) else None
    if missing and "/" in missing and getattr(err, "options", None) is not None:
        group, name = missing.rsplit("/", 1)
        line = f"{conf_dir}/{group}: {group}={name}: {unknown_name(f'{group} option', name, list(err.options), conf_dir / group)}"
        if group in LIST_NAMES and name in available(LIST_NAMES[group][0], conf_dir):
            line += f"; {name!r} is one {LIST_NAMES[group][1]}: give a list, --config '{group}=[{name}]'"
        return line
    m = re.match(r"Could not override '([^']+)'", str(err))
    if m:
        key = m.group(1)
        value = next((o.split("=", 1)[1] for o in overrides if "=" in o and o.lstrip("+~").split("=", 1)[0] == key), "...")
        where = f"{conf_dir}/config.yaml: field {key!r}: Could not override {key!r}"
        if key.split(".", 1)[0] in OVERRIDE_MAPS:
            return (f"{where}: a new key; add it with ++ inside overrides (--config keys cannot start with +): "
                    f"--config overrides='[++{key}={value}]'")
        others = [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != key]
        close = close_keys(key, _config_keys(others, conf_dir))
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else "no key is close"
        return f"{where}: not a key of the config; {hint} (the keys: {conf_dir}/README.md)"
    return f"{conf_dir}: cannot compose config with overrides {overrides}: {one_line(err)}"


def close_keys(key: str, keys: list[str]) -> list[str]:
    """The keys next to ``key`` (same parent) whose last part is close to its last part (difflib) or contains it:
    ``metrics.nboot`` -> ``metrics.n_boot``, ``downstream.frac`` -> ``downstream.downstream_fraction``."""
    parent, _, leaf = key.rpartition(".")
    prefix = f"{parent}." if parent else ""
    siblings = [k[len(prefix):] for k in keys if k.startswith(prefix) and "." not in k[len(prefix):]]
    close = difflib.get_close_matches(leaf, siblings, n=3, cutoff=0.6)
    close += [s for s in siblings if len(leaf) >= 3 and leaf in s and s not in close]
    return [prefix + c for c in close[:3]]


def _config_keys(overrides: list[str], conf_dir: Path) -> list[str]:
    """Every dotted key of the config composed with ``overrides`` ([] where that fails too): the names a mistyped
    key is compared with."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import DictConfig

    def keys(node, prefix=""):
        for k, v in node.items():
            yield f"{prefix}{k}"
            if isinstance(v, DictConfig):
                yield from keys(v, f"{prefix}{k}.")

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
        return [k for k in keys(cfg) if k.split(".", 1)[0] not in ("io", "hydra")]
    except Exception:  # another override fails as well: no suggestion, the first error is reported
        return []
    finally:
        GlobalHydra.instance().clear()


def compose_benchmark(name: str, overrides: list[str] | None = None, conf_dir: Path | None = None) -> DictConfig:
    """One benchmark's config node (``benchmark=<name>`` selected, the user's overrides applied), validated."""
    cfg = compose([*(overrides or []), f"benchmark={name}"], conf_dir)
    if cfg.benchmark.name != name:
        raise ConfigError(f"{conf_dir or find_conf_dir()}/benchmark/{name}.yaml: field 'name': {cfg.benchmark.name!r} differs from the file name {name!r}")
    return cfg.benchmark


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
        raise ConfigError(f"{conf_dir}/rms: {unknown_name('RM', name, available_rms(conf_dir), conf_dir / 'rm')}") from None
    except Exception as err:
        raise ConfigError(f"{path}: cannot read: {one_line(err)}") from None
    if not isinstance(node, DictConfig) or "defaults" in node:
        return compose_rm(name, overrides, conf_dir).rm  # not a plain node: let Hydra compose it
    if node.get("name") != name:
        raise ConfigError(f"{path}: field 'name': {node.get('name')!r} differs from the file name {name!r}")
    extra = (cfg.get("rm_overrides") or {}).get(name)
    if extra:
        node = OmegaConf.merge(node, extra)
    validate_rm(node, str(path))
    check_members(node, str(path), available_rms(conf_dir))
    return node


def compose_rm(name: str, overrides: list[str] | None = None, conf_dir: Path | None = None) -> DictConfig:
    """The full config with ``rm=<name>`` selected (the score job's view)."""
    cfg = compose([*(overrides or []), f"rm={name}"], conf_dir)
    if cfg.rm.name != name:
        raise ConfigError(f"{conf_dir or find_conf_dir()}/rm/{name}.yaml: field 'name': {cfg.rm.name!r} differs from the file name {name!r}")
    return cfg
