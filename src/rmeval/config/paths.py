"""Model paths in a config: a ``model``, ``tokenizer`` or ``reference`` that names a local folder must exist at
the dry run, not fail in the job with the hub's "Repo id must be in the form ...". Hub ids (``org/name``),
``package:`` models, a remote endpoint's model names and the folder a rule makes first (``resources/models/<rm>``
of an RM with ``build:``, or of a policy's or judge's ``requires_model``) are left to the job."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from rmeval.config.fields import ConfigError

PATH_FIELDS = ("model", "tokenizer", "reference")
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")  # org/name


def looks_local(value: str) -> bool:
    """Whether a model id is a local path: absolute, starting with ``./``, ``../`` or ``~``, or with a separator
    but not of the hub's ``org/name`` shape (``resources/models/x``)."""
    return value.startswith(("/", "./", "../", "~")) or (("/" in value or "\\" in value) and not _HUB_ID.fullmatch(value))


def built_folder(rm: str | None) -> str | None:
    """The folder the build rule makes for RM ``rm`` (workflow/rules/score.smk), None for no RM."""
    return f"resources/models/{rm}" if rm else None


def check_model_paths(node: Any, where: str, built: str | None = None) -> None:
    """Every local-looking ``PATH_FIELDS`` value of ``node`` and of its local backend exists; ``built`` (a folder a
    rule makes before the job runs) and what lies under it are not checked."""
    from rmeval.config.families import is_remote_backend

    entries = [(key, node.get(key)) for key in PATH_FIELDS]
    backend = node.get("backend")
    if backend is not None and not is_remote_backend(backend.get("_target_")):
        entries += [(f"backend.{key}", backend.get(key)) for key in PATH_FIELDS]
    made = os.path.normpath(built) if built else None
    for key, value in entries:
        if not isinstance(value, str) or not looks_local(value):
            continue
        path = os.path.normpath(value)
        if made and (path == made or path.startswith(made + os.sep)):
            continue
        if not Path(value).expanduser().exists():
            raise ConfigError(f"{where}: field '{key}': local path {value!r} does not exist (relative paths start at "
                              f"{Path.cwd()}); give an existing folder or a hub id (org/name)")


def published_path(setting: str | None, conf_dir: Path) -> tuple[Path, str] | None:
    """A benchmark's ``published`` setting as (the file, how the leaderboards name it): null = none; a bare name =
    ``conf/published/<name>.yaml``; else a file path, named as given (the name never depends on the checkout's place,
    so the tables stay byte-identical between machines)."""
    if not setting:
        return None
    if "/" not in setting and not setting.endswith((".yaml", ".yml")):
        return Path(conf_dir) / "published" / f"{setting}.yaml", f"conf/published/{setting}.yaml"
    return Path(setting), setting
