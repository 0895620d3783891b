"""Start-up cost: modules the Snakefile imports at DAG build must not pull in hydra, omegaconf, torch,
transformers or pandas; neither must listing a registry (which imports every module of its package)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("hydra", "omegaconf", "torch", "transformers", "pandas")


def heavy_after(code: str) -> str:
    """The heavy packages a fresh interpreter has imported after running ``code``."""
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("module", ["rmeval.config"])
def test_import_pulls_no_heavy_packages(module):
    out = heavy_after(f"import {module}")
    assert out == "", f"importing {module} imported {out}"


@pytest.mark.parametrize("registry", ["RM_FAMILIES", "BENCHMARKS", "BACKENDS", "BUILD_KINDS"])
def test_registry_listing_pulls_no_heavy_packages(registry):
    out = heavy_after(f"import rmeval.config\nfrom rmeval.registry import {registry}\nassert {registry}.names()")
    assert out == "", f"listing {registry} imported {out}"
