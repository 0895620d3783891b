"""environment.yml mirrors pyproject.toml; the RMB download fails with one actionable line without a network."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from rmeval.data.download import DownloadError, download_rmb

ROOT = Path(__file__).resolve().parents[2]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_reqs = {_name(r): r.replace(" ", "") for r in pip_section if not r.startswith("-e")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"], *project["optional-dependencies"]["slurm"]]
    pip_reqs = {_name(r): r.replace(" ", "") for r in wanted}
    assert conda_reqs == pip_reqs
    assert pip_reqs["torch"] == "torch==2.13.0"
    assert "-e ." in pip_section


def test_download_without_network_says_how_to_use_a_local_copy(tmp_path):
    with pytest.raises(DownloadError) as err:
        download_rmb("http://127.0.0.1:9/rmb.zip", tmp_path / "RMB_dataset", timeout_s=5)
    message = str(err.value)
    assert "\n" not in message and "RMB_ROOT" in message and "127.0.0.1:9" in message
    assert not (tmp_path / "RMB_dataset").exists()


def test_download_verifies_what_arrived(tmp_path, monkeypatch):
    """A served archive whose files lack records is refused, and nothing is left at the destination."""
    import zipfile

    import rmeval.data.download as dl

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("RMB-94c5976/RMB_dataset/BoN_set/Harmlessness/S1.json", "[]")

    def fake_fetch(url, dest, timeout_s):
        dest.write_bytes(archive.read_bytes())

    monkeypatch.setattr(dl, "fetch", fake_fetch)
    with pytest.raises(dl.DataError, match="missing from the downloaded release|records, expected"):
        download_rmb("http://example.invalid/a.zip", tmp_path / "out" / "RMB_dataset")
    assert not (tmp_path / "out" / "RMB_dataset").exists()
