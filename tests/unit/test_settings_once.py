"""Settings declared once: every registered RM family, benchmark and backend receives its ``Config`` dataclass (the
one that validates its YAML) and repeats none of its fields in its constructor."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from rmeval.benchmarks.custom import CustomBenchmark
from rmeval.benchmarks.rmb import RMBBenchmark
from rmeval.config import ConfigError
from rmeval.llm.openai_compat import OpenAICompatBackend
from rmeval.registry import BACKENDS, BENCHMARKS, RM_FAMILIES

CLASSES = [cls for registry in (RM_FAMILIES, BENCHMARKS, BACKENDS) for _, cls in registry.items()]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_class_takes_its_config_and_mirrors_no_field(cls):
    assert dataclasses.is_dataclass(cls.Config)
    params = inspect.signature(cls.__init__).parameters
    assert list(params) == ["self", "config", "given"], f"{cls.__name__}.__init__ lists settings: {list(params)}"


def test_benchmark_receives_the_config_object():
    config = RMBBenchmark.Config(name="mine", version="2", root="/data/rmb")
    bench = RMBBenchmark(config)
    assert bench.config is config and (bench.name, bench.version, bench.root) == ("mine", "2", "/data/rmb")
    assert bench.has_judge_scores and bench.download is None


def test_backend_keywords_build_the_config():
    be = OpenAICompatBackend(model="judge-x", base_url="http://127.0.0.1:1/v1", concurrency=3)
    assert isinstance(be.config, OpenAICompatBackend.Config) and be.config.concurrency == 3 and be.name == "openai"


@pytest.mark.parametrize("cls, given, key", [
    (CustomBenchmark, {"name": "mine", "pathh": "x.jsonl"}, "pathh"),
    (OpenAICompatBackend, {"model": "m", "concurency": 2}, "concurency"),
])
def test_unknown_keyword_is_one_line_naming_it(cls, given, key):
    with pytest.raises(ConfigError, match=f"field '{key}': not a setting of") as err:
        cls(**given)
    assert "\n" not in str(err.value)
