"""The project's shape: no library module over 400 lines, a workflow `snakemake --lint` has nothing to say about,
only public torch and transformers names in src/, and no native code built or loaded at run time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400
SRC = ROOT / "src"


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "src").rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by what they hold): {long}"


@pytest.mark.parametrize("experiment", ["smoke", "rmb"])
def test_snakemake_lint_finds_nothing(experiment, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "-s", str(ROOT / "Snakefile"),
                           "--config", f"overrides=[experiment={experiment}]"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Lints for" not in out and "Congratulations" in out, out[-3000:]


#: lines of src/ that may name a private torch or transformers attribute, each with the reason (empty: none may)
PRIVATE_NAME_ALLOWED: dict[str, str] = {}
PRIVATE_NAME = re.compile(r"torch\._|torch\.ops\.|transformers(\.\w+)*\._|from (torch|transformers)[\w.]* import [^#\n]*\b_\w"
                          r"|\._attn_implementation\b|\._supports_\w+")
RUNTIME_BUILD = re.compile(r"\bctypes\b|\bcffi\b|cpp_extension|load_library|load_inline|\bsysconfig\b")


def test_only_public_torch_and_transformers_names_and_nothing_built_at_run_time():
    found, built = [], []
    for path in sorted(SRC.rglob("*")):
        if path.suffix in (".c", ".cc", ".cpp", ".h", ".cu", ".so"):
            built.append(str(path.relative_to(SRC)))
        if path.suffix != ".py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.relative_to(SRC)}:{n}"
            if PRIVATE_NAME.search(line) and where not in PRIVATE_NAME_ALLOWED:
                found.append(f"{where}: {line.strip()}")
            if RUNTIME_BUILD.search(line):
                built.append(f"{where}: {line.strip()}")
    assert found == [], "private torch/transformers names:\n" + "\n".join(found)
    assert built == [], "native code or run-time builds in src/:\n" + "\n".join(built)


def test_the_private_name_check_catches_what_it_should():
    for line in ("torch._C._set_x(1)", "torch.ops.mkldnn._linear_pointwise(x)", "transformers.modeling_utils._init",
                 "from transformers.masking_utils import _preprocess_mask_arguments", "model.config._attn_implementation"):
        assert PRIVATE_NAME.search(line), line
    for line in ("torch.nn.functional.scaled_dot_product_attention(q, k, v)", "from transformers import AutoModel",
                 "model.base_model(input_ids=ids)"):
        assert not PRIVATE_NAME.search(line), line
