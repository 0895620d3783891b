"""Every YAML in conf/ composes and validates; typos fail with one line; overrides from Snakemake split right."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rmeval.config import ConfigError, available_rms, compose, compose_rm, find_conf_dir, split_overrides

CONF = Path(__file__).resolve().parents[2] / "conf"


def stems(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_conf_dir_layout():
    assert (CONF / "config.yaml").is_file()
    assert stems("experiment") and stems("rm") and stems("rms") and stems("benchmark")
    assert available_rms(CONF) == stems("rm")


def test_find_conf_dir_from_project(monkeypatch):
    monkeypatch.delenv("RMEVAL_CONF_DIR", raising=False)
    monkeypatch.chdir(CONF.parent)
    assert find_conf_dir() == CONF
    monkeypatch.setenv("RMEVAL_CONF_DIR", str(CONF))
    assert find_conf_dir() == CONF


@pytest.mark.parametrize("name", stems("experiment"))
def test_every_experiment_composes(name):
    cfg = compose([f"experiment={name}"], conf_dir=CONF)
    assert cfg.benchmark.name in stems("benchmark")
    assert cfg.benchmarks.names and set(cfg.benchmarks.names) <= set(stems("benchmark"))
    assert set(cfg.rms.names) <= set(stems("rm"))
    assert cfg.get("rm") is None


def test_smoke_experiment_values():
    cfg = compose(["experiment=smoke"], conf_dir=CONF)
    assert list(cfg.benchmarks.names) == ["smoke", "example"]
    assert list(cfg.rms.names) == ["random", "length", "tiny-classifier", "tiny-dpo", "tiny-judge"]
    assert cfg.metrics.n_boot == 200
    cfg = compose(["experiment=smoke", "benchmark=smoke"], conf_dir=CONF)  # what every job of the smoke DAG gets
    assert cfg.benchmark.name == "smoke" and cfg.benchmark.fixture.items_per_scenario == 4


@pytest.mark.parametrize("name", stems("rm"))
def test_every_rm_composes_and_name_matches_file(name):
    cfg = compose_rm(name, conf_dir=CONF)
    assert cfg.rm.name == name
    raw = yaml.safe_load((CONF / "rm" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert raw["name"] == name


@pytest.mark.parametrize("name", stems("rms"))
def test_every_rm_list_composes(name):
    cfg = compose([f"rms={name}"], conf_dir=CONF)
    assert len(cfg.rms.names) >= 1
    assert set(cfg.rms.names) <= set(available_rms(CONF))


@pytest.mark.parametrize("name", stems("benchmark"))
def test_every_benchmark_composes_and_builds(name):
    from rmeval.benchmarks import Benchmark, build_benchmark

    cfg = compose([f"benchmark={name}"], conf_dir=CONF)
    assert cfg.benchmark.name == name
    assert cfg.benchmark.version  # every benchmark YAML carries a version
    bench = build_benchmark(cfg.benchmark)
    assert isinstance(bench, Benchmark) and bench.name == name
    assert bench.primary in bench.headline_columns


@pytest.mark.parametrize("name", stems("benchmarks"))
def test_every_benchmark_list_composes(name):
    cfg = compose([f"benchmarks={name}"], conf_dir=CONF)
    assert cfg.benchmarks.names and set(cfg.benchmarks.names) <= set(stems("benchmark"))


def test_unknown_or_empty_benchmark_list_fails():
    assert "'nope'" in _one_line_error(["benchmarks.names=[rmb,nope]"])
    assert "empty" in _one_line_error(["benchmarks.names=[]"])
    assert "_target_" in _one_line_error(["benchmark=rmb", "benchmark._target_=rmeval.nothing.Here"])


def test_snakemake_config_pairs_become_hydra_overrides():
    from rmeval.config import user_overrides

    # --config rms=smoke 'benchmarks.names=[rmb,rewardbench]' metrics.n_boot=7 (values as Snakemake's YAML parses them)
    got = user_overrides({"rms": "smoke", "benchmarks": ["rmb", "rewardbench"], "metrics__n_boot": 7,
                          "scoring__progress": False, "overrides": "[experiment=smoke]"})
    assert got == ["rms=smoke", "benchmarks.names=[rmb,rewardbench]", "metrics.n_boot=7", "scoring.progress=false", "experiment=smoke"]
    assert user_overrides({"rms": ["random", "length"]}) == ["rms.names=[random,length]"]
    # --configfile with nested keys: dotted paths
    assert user_overrides({"metrics": {"n_boot": 5, "seed": 1}, "benchmark": {"description": "a b"}}) == [
        "metrics.n_boot=5", "metrics.seed=1", "benchmark.description='a b'"]
    cfg = compose(user_overrides({"rms": "smoke", "benchmarks": ["rmb", "rewardbench"], "metrics": {"n_boot": 5}}), conf_dir=CONF)
    assert list(cfg.rms.names)[0] == "random" and list(cfg.benchmarks.names) == ["rmb", "rewardbench"] and cfg.metrics.n_boot == 5
    # a key that matches nothing fails with one line
    assert "rmz" in _one_line_error(user_overrides({"rmz": "smoke"}))


def _one_line_error(overrides, rm=None) -> str:
    with pytest.raises(ConfigError) as exc:
        if rm is None:
            compose(overrides, conf_dir=CONF)
        else:
            compose_rm(rm, overrides, conf_dir=CONF)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_typo_key_added_to_rm_fails():
    msg = _one_line_error(["rm=tiny-classifier", "+rm.max_lenght=3"])
    assert "max_lenght" in msg
    assert "tiny-classifier.yaml" in msg


def test_typo_key_added_via_compose_rm_fails():
    msg = _one_line_error(["+rm.max_lenght=3"], rm="tiny-classifier")
    assert "max_lenght" in msg


def test_typo_key_override_without_plus_fails():
    assert "max_lenght" in _one_line_error(["rm=tiny-classifier", "rm.max_lenght=3"])
    assert "n_bot" in _one_line_error(["metrics.n_bot=5"])
    assert "n_bot" in _one_line_error(["+metrics.n_bot=5"])


def test_unknown_rm_name_fails():
    msg = _one_line_error(["rms.names=[random,nope]"])
    assert "'nope'" in msg
    assert "ls " in msg and msg.endswith("/rm)")  # says where the list is (the closest names: test_did_you_mean.py)


def test_unknown_group_option_and_bad_type_fail():
    assert "nope" in _one_line_error(["experiment=nope"])
    assert "n_boot" in _one_line_error(["metrics.n_boot=many"])
    assert "unit_typo" in _one_line_error(["rm=length", "+rm.unit_typo=words"])


def test_valid_override_applies():
    cfg = compose(["rms.names=[random,length]", "metrics.n_boot=7"], conf_dir=CONF)
    assert list(cfg.rms.names) == ["random", "length"]
    assert cfg.metrics.n_boot == 7
    cfg = compose_rm("tiny-classifier", ["rm.max_length=3"], conf_dir=CONF)
    assert cfg.rm.max_length == 3


@pytest.mark.parametrize(
    "raw,expected",
    [
        (None, []),
        ("", []),
        ([], []),
        ("[rms=smoke]", ["rms=smoke"]),
        ("experiment=smoke", ["experiment=smoke"]),
        ("  experiment=smoke  ", ["experiment=smoke"]),
        (["rms=smoke", "experiment=smoke"], ["rms=smoke", "experiment=smoke"]),
        ("[rms=smoke,experiment=smoke]", ["rms=smoke", "experiment=smoke"]),
        ("rms=smoke, experiment=smoke", ["rms=smoke", "experiment=smoke"]),
        # what Snakemake hands over for --config overrides='rms.names=[random,length]'
        ("rms.names=[random,length]", ["rms.names=[random,length]"]),
        # ... and when its YAML parsing split the value at the inner comma
        (["rms.names=[random", "length]"], ["rms.names=[random,length]"]),
        (["experiment=smoke", "rms.names=[random", "length]"], ["experiment=smoke", "rms.names=[random,length]"]),
        # the raw string when YAML could not parse it
        ("[experiment=smoke,rms.names=[random,length]]", ["experiment=smoke", "rms.names=[random,length]"]),
        ("[rms.names=[random,length]]", ["rms.names=[random,length]"]),
        # commas inside quotes or braces stay
        ("benchmark.description='a,b',rms=smoke", ["benchmark.description='a,b'", "rms=smoke"]),
        ('+x={a:1,b:2},rms=smoke', ["+x={a:1,b:2}", "rms=smoke"]),
        ("rms=smoke,,", ["rms=smoke"]),
    ],
)
def test_split_overrides(raw, expected):
    assert split_overrides(raw) == expected


def test_split_overrides_result_composes():
    cfg = compose(split_overrides(["experiment=smoke", "rms.names=[random", "length]"]), conf_dir=CONF)
    assert list(cfg.rms.names) == ["random", "length"]
    assert list(cfg.benchmarks.names) == ["smoke", "example"]


def test_compose_accepts_relative_conf_dir(monkeypatch):
    monkeypatch.chdir(CONF.parent)
    cfg = compose(["experiment=smoke"], conf_dir=Path("conf"))
    assert list(cfg.benchmarks.names) == ["smoke", "example"]


def test_rm_overrides_apply_only_to_their_rm():
    over = ["++rm_overrides.tiny-classifier.max_length=256"]
    assert compose_rm("tiny-classifier", over, conf_dir=CONF).rm.max_length == 256
    assert compose_rm("tiny-classifier", conf_dir=CONF).rm.max_length == 512
    assert "max_length" not in compose_rm("random", over, conf_dir=CONF).rm


def test_rm_overrides_typo_and_unknown_rm_fail():
    msg = _one_line_error(["++rm_overrides.tiny-classifier.max_lenght=3"], rm="tiny-classifier")
    assert "max_lenght" in msg and "tiny-classifier.yaml" in msg
    msg = _one_line_error(["++rm_overrides.nope.seed=3"])
    assert msg.startswith("rm_overrides.nope: unknown RM 'nope'")
