"""Compose ``conf/config.yaml`` with the user's overrides (Hydra's compose API) and validate it; one RM's or one
benchmark's node. The Snakefile and every entry point compose the same tree, so the DAG and the jobs agree."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.config.fields import ConfigError
from rmeval.config.overrides import _touches_group
from rmeval.config.tree import available_rms, find_conf_dir
from rmeval.config.validate import check_members, validate, validate_rm
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
        raise ConfigError(f"{conf_dir}: cannot compose config with overrides {list(overrides or [])}: {one_line(err)}") from None
    finally:
        GlobalHydra.instance().clear()
    return validate(cfg, conf_dir)


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
        raise ConfigError(f"{conf_dir}/rms: unknown RM {name!r}; available: {', '.join(available_rms(conf_dir))}") from None
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
