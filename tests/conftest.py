"""Shared fixtures: tiny generated models and the generated smoke benchmark (deterministic, fast)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("RMEVAL_CONF_DIR", str(ROOT / "conf"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# A suite started in the background of a non-interactive shell (`cmd &`, nohup) inherits SIGINT ignored, and so
# would every job the Ctrl-C tests start: give the processes they start Python's Ctrl-C (KeyboardInterrupt) back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_classifier_dir(tmp_path_factory) -> Path:
    """A tiny Llama-style classifier with pad = EOS and a chat template that ends every turn with EOS."""
    from rmeval.tiny import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("models") / "tiny", seed=0)


@pytest.fixture(scope="session")
def smoke_root(tmp_path_factory) -> Path:
    from rmeval.data.fixture import write_smoke_fixture

    root = tmp_path_factory.mktemp("smoke") / "RMB_dataset"
    write_smoke_fixture(root, seed=0, items_per_scenario=4)
    return root


@pytest.fixture(scope="session")
def rmb_root() -> Path:
    """The RMB release given by RMB_ROOT; tests that need it skip cleanly where it is absent."""
    root = os.environ.get("RMB_ROOT")
    if not root or not Path(root).is_dir():
        pytest.skip("RMB_ROOT not set or not a folder: the RMB release is not available here")
    return Path(root)


def pytest_configure(config):
    """Long end-to-end tests print their Snakemake progress through pytest's terminal (helpers.say)."""
    import helpers

    helpers.PYTEST_CONFIG[:] = [config]
