"""Provenance carried by every result: config hash, git commit, package versions."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from rmeval.ids import stable_hash

PACKAGES = ("rmeval", "torch", "transformers", "tokenizers", "numpy", "pandas", "pyarrow", "hydra-core", "snakemake")


def git_commit(path: str | Path = ".") -> str | None:
    """HEAD commit of the working tree, with ``-dirty`` when tracked files changed; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(config: object, **extra: object) -> dict:
    """Config hash (of the resolved config given), git commit, versions, plus stage-specific fields."""
    return {"config_sha256": stable_hash(config), "git_commit": git_commit(), "versions": package_versions(), **extra}
