"""Fetch the public RMB repository archive at a pinned commit and verify what arrived.

GitHub's archive checksums are not guaranteed stable, so verification is by content: the file list and the
record count of every file must match the manifest of the full release (``rmb_manifest.json``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from rmeval.data.rmb import release_manifest
from rmeval.data.schema import DataError
from rmeval.errors import RmevalError
from rmeval.progress import progress_bar


class DownloadError(RmevalError, RuntimeError):
    """The release could not be fetched; the message says how to point at a local copy."""


def fetch(url: str, dest: Path, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp, open(dest, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with progress_bar(total, "download RMB", "B", unit_scale=True) as bar:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(
            f"cannot download {url} ({reason}); with no network, set RMB_ROOT (or benchmark.root) to a local RMB_dataset folder"
        ) from None


def verify_release(root: Path, manifest: dict[str, int]) -> None:
    """Every manifest file present with its record count; raises DataError naming the first mismatch."""
    for rel, count in manifest.items():
        path = root / rel
        if not path.is_file():
            raise DataError(f"{path}: missing from the downloaded release")
        try:
            n = len(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: record ?: field '<json>': invalid JSON ({err.msg})") from None
        if n != count:
            raise DataError(f"{path}: {n} records, expected {count} for the pinned commit")


def download_rmb(url: str, out_dir: str | Path, subdir: str = "RMB_dataset", timeout_s: float = 120.0) -> Path:
    """Download the archive, extract ``<top>/<subdir>/`` to ``out_dir``, verify it; atomic (rename at the end)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".rmb-download-") as tmp:
        tmp = Path(tmp)
        archive = tmp / "archive.zip"
        fetch(url, archive, timeout_s)
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp / "x")
        except zipfile.BadZipFile:
            raise DownloadError(f"{url}: not a zip archive; set RMB_ROOT to a local RMB_dataset folder instead") from None
        candidates = [p for p in (tmp / "x").glob(f"*/{subdir}") if p.is_dir()]
        if not candidates:
            raise DataError(f"{url}: the archive has no {subdir}/ folder")
        verify_release(candidates[0], release_manifest())
        if out_dir.exists():
            shutil.rmtree(out_dir)
        candidates[0].rename(out_dir)
    return out_dir
