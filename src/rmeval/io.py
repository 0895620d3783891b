"""Atomic artifact I/O: every output is written to a temporary name in the same folder, then renamed.

A write that the system refuses (a full disk, no permission, a read-only file system) raises ``WriteError``: one line
naming the file, as every expected error; the temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from rmeval.errors import RmevalError, one_line


class WriteError(RmevalError):
    """An output file could not be written (disk full, permissions); the message names the file."""


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn an ``OSError`` raised in the block into a one-line ``WriteError`` naming ``path``."""
    try:
        yield
    except OSError as err:
        reason = one_line(err.strerror or err) or type(err).__name__
        full = err.errno == errno.ENOSPC or os.strerror(errno.ENOSPC) in str(err)  # pyarrow may give no errno
        hint = "; free some space and rerun (finished work is kept)" if full else ""
        raise WriteError(f"{path}: cannot write: {reason}{hint}") from None


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds. The file gets the
    permissions an ordinary ``open(path, "w")`` would (0666 less the umask), not the temporary file's 0600."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            if tmp_path.exists():
                os.chmod(tmp_path, 0o666 & ~current_umask())
            os.replace(tmp_path, path)
        finally:
            tmp_path.unlink(missing_ok=True)


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back: the only portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a path (not yet made) in a temporary folder next to ``path``; what the block makes there replaces
    ``path`` (and any old folder at it) only if the block succeeds, so a failure leaves no half-made folder."""
    path = Path(path)
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
            yield Path(tmp) / path.name
            if path.exists():
                shutil.rmtree(path)
            (Path(tmp) / path.name).rename(path)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_json(obj: object, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default) + "\n", encoding="utf-8")


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: str | os.PathLike) -> object:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _json_default(obj: object) -> object:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
