"""Issue 11, items 9 and 10: value and enum checks at compose time (one line, never a traceback), and errors raised
while an RM is built unwrapped from Hydra's "Error in call to target" into one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rmeval.config import ConfigError, compose, compose_rm
from rmeval.instantiate import BuildError
from rmeval.rms import build_rm

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("override,message", [
    ("scoring.flush_every_batches=0", "config.yaml: scoring: field 'flush_every_batches': must be >= 1, got 0"),
    ("scoring.threads=0", "field 'threads': must be >= 1, got 0"),
    ("benchmark.sample.per_scenario=-2", "rmb.yaml: field 'sample.per_scenario': must be >= 1, got -2"),
    ("benchmark.sample.per_scenario=0", "field 'sample.per_scenario': must be >= 1, got 0"),
    ("rms.names=[]", "rms (rms.names): field 'names': must list at least one entry"),
])
def test_bad_values_fail_compose_with_one_line(override, message):
    with pytest.raises(ConfigError) as info:
        compose([override], conf_dir=CONF)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_good_values_still_compose():
    cfg = compose(["scoring.flush_every_batches=1", "benchmark.sample.per_scenario=3", "benchmark.sample.per_scenario=null"], conf_dir=CONF)
    assert cfg.scoring.flush_every_batches == 1 and cfg.benchmark.sample.per_scenario is None


@pytest.mark.parametrize("rm,override,message", [
    ("tiny-classifier", "rm.truncation_side=middle", "Invalid value 'middle', expected one of [left, right]"),
    ("tiny-classifier", "rm.dtype=fp8", "Invalid value 'fp8', expected one of [auto, float32, bfloat16, float16]"),
    ("tiny-classifier", "rm.device=gpu", "field 'device': got 'gpu', expected auto, cpu, mps, cuda or cuda:N"),
    ("tiny-classifier", "rm.max_batch_size=0", "field 'max_batch_size': must be >= 1"),
    ("length", "rm.unit=tokens", "Invalid value 'tokens', expected one of [chars, words]"),
    ("smollm2-135m-implicit", "rm.chat_template=mine", "Invalid value 'mine', expected one of [auto, fallback]"),
    ("tiny-judge", "rm.backend.dtype=int4", "(backend): Invalid value 'int4'"),
    ("tiny-judge", "++rm.samples=0", "field 'samples': must be >= 1, got 0"),
])
def test_enum_like_rm_settings_are_checked_at_compose(rm, override, message):
    with pytest.raises(ConfigError) as info:
        compose_rm(rm, [override], conf_dir=CONF)
    assert message in str(info.value) and f"rm/{rm}.yaml" in str(info.value) and "\n" not in str(info.value)


def test_valid_enum_values_pass_and_reach_the_rm_as_strings():
    cfg = compose_rm("tiny-classifier", ["rm.truncation_side=right", "rm.dtype=float32", "rm.device=cuda:1"], conf_dir=CONF)
    assert cfg.rm.truncation_side == "right" and cfg.rm.device == "cuda:1"
    assert compose_rm("length", ["rm.unit=words"], conf_dir=CONF).rm.unit == "words"


def test_build_errors_are_one_line_naming_the_rm():
    node = {"_target_": "rmeval.rms.judge.PairwiseJudgeRM", "name": "j", "template": "/nonexistent/t.txt",
            "backend": {"_target_": "rmeval.llm.openai_compat.OpenAICompatBackend", "model": "m", "api_key_env": None}}
    with pytest.raises(BuildError) as info:
        build_rm(node)
    text = str(info.value)
    assert text.startswith("rm j (rmeval.rms.judge.PairwiseJudgeRM): FileNotFoundError:") and "\n" not in text
    assert "Error in call to target" not in text


def test_build_errors_in_a_nested_backend_name_the_cause():
    node = {"_target_": "rmeval.rms.judge.PairwiseJudgeRM", "name": "j",
            "backend": {"_target_": "rmeval.llm.openai_compat.OpenAICompatBackend", "model": "m", "concurrency": "many"}}
    with pytest.raises(BuildError) as info:
        build_rm(node)
    assert "ValueError" in str(info.value) and "many" in str(info.value) and "\n" not in str(info.value)


def test_expected_errors_raised_while_building_come_out_as_themselves():
    from rmeval.rms.classifier import RMLoadError

    node = {"_target_": "rmeval.rms.classifier.SequenceClassifierRM", "name": "c", "model": "x", "truncation_side": "middle"}
    with pytest.raises(RMLoadError, match="field 'truncation_side'"):
        build_rm(node)


def test_entry_point_prints_one_error_line(tmp_path):
    env = {**os.environ, "RMEVAL_CONF_DIR": str(CONF), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "rmeval.stages.compare", "rm=tiny-judge", "rm.template=/nonexistent.txt",
                           "++io.items=x", "++io.texts=y", "++io.cache_dir=z"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: rm tiny-judge (rmeval.rms.judge.PairwiseJudgeRM): FileNotFoundError")


def test_rm_node_equals_the_composed_rm_for_every_yaml():
    """The Snakefile reads listed RMs straight from their YAMLs (one composition per run): same nodes as Hydra's."""
    from omegaconf import OmegaConf

    from rmeval.config import available_rms, compose_rm, rm_node

    cfg = compose([], conf_dir=CONF)
    for name in available_rms(CONF):
        fast = OmegaConf.to_container(rm_node(cfg, name, [], conf_dir=CONF), resolve=True)
        full = OmegaConf.to_container(compose_rm(name, [], conf_dir=CONF).rm, resolve=True)
        assert fast == full, name


def test_rm_node_applies_rm_overrides_and_falls_back_for_rm_keys():
    from rmeval.config import rm_node

    extra = ["++rm_overrides.tiny-classifier.max_length=77"]
    node = rm_node(compose(extra, conf_dir=CONF), "tiny-classifier", extra, conf_dir=CONF)
    assert node.max_length == 77
    direct = ["rm.max_length=55"]  # touches rm itself: composed by Hydra, which applies it to whichever RM is selected
    assert rm_node(compose([], conf_dir=CONF), "tiny-classifier", direct, conf_dir=CONF).max_length == 55
    with pytest.raises(ConfigError, match="unknown RM 'nope'"):
        rm_node(compose([], conf_dir=CONF), "nope", [], conf_dir=CONF)


def test_policy_overrides_apply_to_one_policy_and_names_are_checked():
    cfg = compose(["policy=tiny-policy-b", "++policy_overrides.tiny-policy-b.sample.shards=3"], conf_dir=CONF)
    from rmeval.config import sample_shards

    assert sample_shards(cfg.policy) == 3
    other = compose(["policy=tiny-policy-a", "++policy_overrides.tiny-policy-b.sample.shards=3"], conf_dir=CONF)
    assert sample_shards(other.policy) == 1
    with pytest.raises(ConfigError, match="policy_overrides.nope: unknown policy 'nope'"):
        compose(["++policy_overrides.nope.sample.shards=2"], conf_dir=CONF)
    with pytest.raises(ConfigError, match="sample.shards.*must be >= 1"):
        compose(["policy=tiny-policy-a", "++policy_overrides.tiny-policy-a.sample.shards=0"], conf_dir=CONF)
