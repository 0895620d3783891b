"""A mistyped name or key in ``snakemake --config`` fails with one short line that names the closest names and
where the full list is, and, for a key Hydra would add with ``+key``, the ``--config`` form that works."""

from __future__ import annotations

import re

import pytest

from rmeval.config import ConfigError, compose, user_overrides
from rmeval.config.compose import close_keys
from rmeval.config.tree import available, find_conf_dir
from rmeval.config.validate import unknown_name

CONF = find_conf_dir()


def error(config: dict) -> str:
    """The one-line error of composing what ``snakemake --config`` with ``config`` would compose."""
    with pytest.raises(ConfigError) as info:
        compose(user_overrides(config), conf_dir=CONF)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 400, msg  # one short line, not the 1.3 KB list of every RM
    return msg


def test_unknown_name_gives_the_closest_names_and_where_the_list_is():
    assert unknown_name("RM", "lenght", ["length", "random", "tiny-dpo"], "conf/rm") == \
        "unknown RM 'lenght'; did you mean 'length'? (all 3: ls conf/rm)"
    assert unknown_name("RM", "zzz", ["length", "random"], "conf/rm") == \
        "unknown RM 'zzz'; no known name is close (all 2: ls conf/rm)"


def test_an_unknown_rm_suggests_the_closest_instead_of_listing_fifty():
    msg = error({"rms": ["random", "lenght"]})
    assert msg == f"{CONF}/rms: rms.names: unknown RM 'lenght'; did you mean 'length'? (all {len(available('rm', CONF))}: ls {CONF}/rm)"
    assert "armorm" not in msg  # the other names are not listed


def test_an_unknown_benchmark_and_unknown_override_targets_suggest_names():
    assert "unknown benchmark 'rmbb'; did you mean 'rmb'?" in error({"benchmarks": ["rmbb"]})
    assert error({"overrides": "[++rm_overrides.lenght.max_length=3]"}).startswith(
        "rm_overrides.lenght: unknown RM 'lenght'; did you mean 'length'?")
    assert error({"overrides": "[++benchmark_overrides.rmbb.sample.per_scenario=3]"}).startswith(
        "benchmark_overrides.rmbb: unknown benchmark 'rmbb'; did you mean 'rmb'?")


@pytest.mark.parametrize("config, expected", [
    ({"experiment": "smok"}, "experiment=smok: unknown experiment option 'smok'; did you mean 'smoke'?"),
    ({"rms": "cpuall"}, "rms=cpuall: unknown rms option 'cpuall'; did you mean 'cpu_all' or 'cpu'?"),
    ({"overrides": "[rm=lenght]"}, "rm=lenght: unknown rm option 'lenght'; did you mean 'length'?"),
])
def test_an_unknown_group_option_suggests_the_closest(config, expected):
    msg = error(config)
    group = expected.split("=", 1)[0]
    assert msg.startswith(f"{CONF}/{group}: {expected}") and f"ls {CONF}/{group})" in msg


def test_a_single_rm_given_as_a_list_name_is_told_to_be_a_list():
    msg = error({"rms": "length"})
    assert msg.endswith("'length' is one RM: give a list, --config 'rms=[length]'")
    compose(user_overrides({"rms": ["length"]}), conf_dir=CONF)  # what the message says works


@pytest.mark.parametrize("config, key, suggestion", [
    ({"metrics__nboot": 7}, "metrics.nboot", "did you mean 'metrics.n_boot'?"),
    ({"downstream__frac": 0.3}, "downstream.frac", "did you mean 'downstream.downstream_fraction'?"),
    ({"rmz": "smoke"}, "rmz", "did you mean 'rms'?"),
    ({"metrics__n_boot": 7, "zzzzz": 1}, "zzzzz", "no key is close"),
])
def test_an_unknown_key_suggests_close_keys_not_hydras_plus(config, key, suggestion):
    msg = error(config)
    assert msg.startswith(f"{CONF}/config.yaml: field '{key}': Could not override '{key}': not a key of the config; ")
    assert suggestion in msg and f"(the keys: {CONF}/README.md)" in msg
    assert "+" not in msg  # Hydra's "+key" hint is no --config key


def test_a_new_key_under_rm_overrides_gets_the_form_that_works():
    msg = error({"rm_overrides__tiny-classifier__max_length": 256})
    assert msg.endswith("--config overrides='[++rm_overrides.tiny-classifier.max_length=256]'"), msg
    # The suggested form composes, and sets the key.
    suggested = re.search(r"--config overrides='(\[.*\])'$", msg).group(1)
    cfg = compose(user_overrides({"overrides": suggested}), conf_dir=CONF)
    assert cfg.rm_overrides["tiny-classifier"].max_length == 256


def test_close_keys_compare_with_siblings_only():
    keys = ["metrics", "metrics.n_boot", "metrics.seed", "downstream", "downstream.seed", "downstream.downstream_fraction"]
    assert close_keys("metrics.nboot", keys) == ["metrics.n_boot"]
    assert close_keys("downstream.frac", keys) == ["downstream.downstream_fraction"]
    assert close_keys("metrcs", keys) == ["metrics"]
    assert close_keys("metrics.sed", keys) == ["metrics.seed"]  # not downstream.seed
    assert close_keys("nothing.near", keys) == []


@pytest.mark.parametrize("override, suggestion", [
    ("+metrics.nboot=5", "config.yaml: metrics: Key 'nboot' not in 'MetricsConfig'"),
    ("+downstream.seeed=5", "config.yaml: downstream: Key 'seeed' not in 'DownstreamConfig'"),
])
def test_hydras_plus_form_of_a_typo_still_gets_the_closest_setting(override, suggestion):
    msg = error({"overrides": f"[{override}]"})
    leaf = override.split(".", 1)[1].split("=")[0]
    expected = {"nboot": "n_boot", "seeed": "seed"}[leaf]
    assert msg.startswith(suggestion) and msg.endswith(f"; did you mean {expected!r}?")
