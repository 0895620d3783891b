"""Start-up cost: modules the Snakefile imports at DAG build must not pull in hydra, omegaconf or torch."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["rmeval.config"])
def test_import_pulls_no_heavy_packages(module):
    code = (f"import sys, {module}; heavy = [m for m in ('hydra', 'omegaconf', 'torch', 'transformers', 'pandas') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing {module} imported {out}"
