"""Where the conf/ tree is and what it holds: the YAMLs of a group, an RM's family read straight from its file,
and plain (resolved) copies and fingerprints of config nodes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rmeval.config.fields import ConfigError
from rmeval.errors import one_line
from rmeval.ids import stable_hash


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
        raise ConfigError(f"{path}: cannot read: {one_line(err)}") from None
    return node.get("_target_") if isinstance(node, dict) else None


def to_plain(node: Any) -> Any:
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def fingerprint(*nodes: Any) -> str:
    """Stable hash of resolved config nodes (Snakemake params: a change reruns exactly the affected jobs)."""
    return stable_hash([to_plain(n) for n in nodes])
