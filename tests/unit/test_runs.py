"""Run names: validated, the summaries' folder, the record of the resolved config, the warning on a reused name."""

from __future__ import annotations

import pytest
import yaml

from rmeval.config import ConfigError, compose
from rmeval.plots import figure_names
from rmeval.runs import other_run_warning, run_dir, run_record


def test_every_experiment_names_its_run_and_an_override_wins():
    assert compose([]).run == "rmb" and run_dir(compose([])) == "results/runs/rmb"
    assert compose(["experiment=smoke"]).run == "smoke"
    assert run_dir(compose(["experiment=smoke", "run=sweep-2"])) == "results/runs/sweep-2"


@pytest.mark.parametrize("bad", ["a/b", "../up", ".hidden", "a b"])
def test_a_run_name_that_is_no_folder_name_fails_with_one_line(bad):
    with pytest.raises(ConfigError, match=r"^config.yaml: field 'run': got .*expected a name of letters") as err:
        compose([f"run='{bad}'"])
    assert "\n" not in str(err.value)


def test_the_record_holds_the_settings_and_each_node_but_no_per_job_keys():
    cfg = compose(["experiment=smoke", "run=r1", "rms.names=[random,length]"])
    record = run_record(cfg, ["run=r1"], {"smoke": {"name": "smoke"}}, {"random": {"name": "random"}, "length": {"name": "length"}})
    assert record["settings"]["benchmarks"]["names"] == ["smoke"]  # the run's list as the DAG has it
    assert record["run"] == "r1" and record["overrides"] == ["run=r1"]
    assert record["settings"]["rms"]["names"] == ["random", "length"] and "io" not in record["settings"]
    assert not {"rm", "benchmark", "hydra"} & set(record["settings"])
    yaml.safe_dump(record)  # plain data


def test_reusing_a_name_with_other_rms_or_benchmarks_warns_once(tmp_path):
    cfg = compose(["experiment=smoke", "run=r1", "rms.names=[random,length]"])
    assert other_run_warning(cfg, tmp_path) is None  # no earlier run
    folder = tmp_path / "results/runs/r1"
    folder.mkdir(parents=True)
    same = {"settings": {"rms": {"names": ["random", "length"]}, "benchmarks": {"names": list(cfg.benchmarks.names)}}}
    (folder / "config.yaml").write_text(yaml.safe_dump(same))
    assert other_run_warning(cfg, tmp_path) is None
    same["settings"]["rms"]["names"] = ["random"]
    (folder / "config.yaml").write_text(yaml.safe_dump(same))
    line = other_run_warning(cfg, tmp_path)
    assert "\n" not in line and "other rms ['random'] -> ['random', 'length']" in line and "run=<another name>" in line


def test_position_bias_is_drawn_only_for_runs_with_a_pairwise_judge():
    assert "position_bias" in figure_names() and "position_bias" not in figure_names(pairwise=False)
    assert "leaderboard" in figure_names(judged=False, pairwise=False)
