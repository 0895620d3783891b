"""Issue 25, items 4 and 9: every numeric setting has its range, declared once on its dataclass field and checked
at compose time (one line naming the key); duplicate RM and benchmark names fail the dry run."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest

from rmeval.config import ConfigError, compose, user_overrides
from rmeval.config import schemas
from rmeval.registry import BACKENDS, BENCHMARKS, RM_FAMILIES

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"


# The examples, as Snakemake's --config gives them (metrics__n_boot=-5 is the Hydra override metrics.n_boot=-5).
@pytest.mark.parametrize("key,value,message", [
    ("metrics__n_boot", -5, "metrics: field 'n_boot': must be >= 1, got -5"),
    ("metrics__n_boot", 0, "metrics: field 'n_boot': must be >= 1, got 0"),
    ("metrics__ci_level", 1.5, "metrics: field 'ci_level': must be in (0, 1), got 1.5"),
    ("metrics__significance_level", -1, "metrics: field 'significance_level': must be in (0, 1), got -1"),
    ("downstream__n_draws", -3, "downstream: field 'n_draws': must be >= 1, got -3"),
    ("downstream__downstream_fraction", 2, "downstream: field 'downstream_fraction': must be in (0, 1), got 2"),
    ("correlation__quantiles", [2], "correlation: field 'quantiles': every entry must be in [0, 1], got 2"),
    ("correlation__min_rms_for_ci", 1, "correlation: field 'min_rms_for_ci': must be >= 3, got 1"),
    ("seed", "abc", "Value 'abc' of type 'str' could not be converted to Integer full_key: seed"),
    ("seed", -1, "config.yaml: field 'seed': must be >= 0, got -1"),
])
def test_out_of_range_settings_fail_compose_with_one_line_naming_the_key(key, value, message):
    with pytest.raises(ConfigError) as info:
        compose(user_overrides({key: value}), conf_dir=CONF)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_values_at_the_edges_of_their_ranges_compose():
    cfg = compose(["metrics.n_boot=1", "metrics.ci_level=0.5", "correlation.quantiles=[0.0,1.0]",
                   "downstream.downstream_fraction=0.01", "seed=3", "correlation.min_rms_for_ci=3"], conf_dir=CONF)
    assert cfg.metrics.n_boot == 1 and list(cfg.correlation.quantiles) == [0.0, 1.0] and cfg.seed == 3


@pytest.mark.parametrize("overrides,message", [
    (["policy=tiny-policy-a", "policy.top_p=1.5"], "policy/tiny-policy-a.yaml: field 'top_p': must be in [0, 1], got 1.5"),
    (["judge=tiny-ev", "judge.max_attempts=0"], "judge/tiny-ev.yaml: field 'max_attempts': must be >= 1, got 0"),
    (["prompts=demo", "prompts.seed=-1"], "prompts/demo.yaml: field 'seed': must be >= 0, got -1"),
    (["++benchmark.position_seed=-1"], "benchmark/rmb.yaml: field 'position_seed': must be >= 0, got -1"),
    (["++benchmark.fixture.items_per_scenario=0"], "field 'fixture.items_per_scenario': must be >= 1, got 0"),
    (["rm=tiny-dpo", "rm.beta=0"], "rm/tiny-dpo.yaml: field 'beta': must be > 0, got 0"),
    (["rm=tiny-judge", "rm.temperature=-1"], "rm/tiny-judge.yaml: field 'temperature': must be >= 0, got -1"),
    (["rm=tiny-classifier", "rm.build.hidden_size=0"], "field 'build.hidden_size': must be >= 1, got 0"),  # Optional nested
    (["rm=beaver-7b-v1.0-cost", "rm.sign=nan"], "field 'sign': must be in (-inf, inf), got nan"),
    (["rm=pairrm", "rm.backend.batch_size=0"], "rm/pairrm.yaml (backend): field 'batch_size': must be >= 1, got 0"),
    (["rm=gpt4o-judge", "++rm.backend.timeout_s=0"], "(backend): field 'timeout_s': must be > 0, got 0"),
])
def test_group_and_per_rm_numeric_fields_are_range_checked(overrides, message):
    with pytest.raises(ConfigError) as info:
        compose(overrides, conf_dir=CONF)
    assert message in str(info.value) and "\n" not in str(info.value)


def _numeric_fields_without_range(cls: type, seen: set) -> list[str]:
    if cls in seen:
        return []
    seen.add(cls)
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        for arg in args:
            if dataclasses.is_dataclass(arg):
                out += _numeric_fields_without_range(arg, seen)
        numeric = any(a in (int, float) for a in args)
        listed = any(typing.get_origin(a) is list and typing.get_args(a)[0] in (int, float) for a in args)
        if (numeric and "range" not in f.metadata) or (listed and "each" not in f.metadata):
            out.append(f"{cls.__name__}.{f.name}")
    return out


def test_every_numeric_setting_declares_its_range():
    roots = [schemas.RunConfig, schemas.ScoringConfig, schemas.MetricsConfig, schemas.DownstreamConfig,
             schemas.CorrelationConfig, schemas.PromptsConfig, schemas.PolicyConfig, schemas.JudgeConfig]
    for registry in (RM_FAMILIES, BENCHMARKS, BACKENDS):
        roots += [cls.Config for _, cls in registry.items() if getattr(cls, "Config", None)]
    seen: set = set()
    missing = [name for root in roots for name in _numeric_fields_without_range(root, seen)]
    # custom benchmarks' score_range (a [low, high] pair) is checked by its class (rmeval.benchmarks.custom)
    assert [m for m in missing if m != "CustomBenchmarkConfig.score_range"] == []


@pytest.mark.parametrize("key,value,message", [
    ("rms", ["random", "random"], "rms (rms.names): field 'names': 'random' is listed twice"),
    ("benchmarks", ["example", "example"], "benchmarks (benchmarks.names): field 'names': 'example' is listed twice"),
])
def test_duplicate_names_fail_compose(key, value, message):
    with pytest.raises(ConfigError) as info:
        compose(user_overrides({key: value}), conf_dir=CONF)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("pair,key", [("metrics__n_boot=-5", "n_boot"), ("rms=[random,random]", "'random' is listed twice")])
def test_snakemake_dry_run_fails_with_one_line(tmp_path, pair, key):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                           "-n", "--cores", "1", "--config", "overrides=[experiment=smoke]", pair],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if key in line]
    assert len(lines) == 1 and lines[0].startswith(("config.yaml: metrics: field 'n_boot'", f"{CONF}/rms (rms.names)")), lines
