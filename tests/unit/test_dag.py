"""rmeval.dag: what the workflow asks of a run's config (shard naming, RM kinds, benchmark sources, resources,
command-line pieces), on the smoke experiment's config."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from rmeval.config import ConfigError, compose
from rmeval.dag import (
    COMPARISONS,
    ENSEMBLE,
    PAIRWISE,
    POINTWISE,
    SCORES,
    SHARD_RE,
    Plan,
    alternation,
    figure_outputs,
    hydra_list,
    io_arg,
    python_command,
    shard_arg,
    shard_files,
    shard_param,
    shard_suffix,
    unsharded,
    untracked,
)

SMOKE = ["experiment=smoke"]


def plan(overrides=SMOKE, cores=4) -> Plan:
    return Plan(compose(overrides), overrides, cores=cores, python="py")


@pytest.fixture(scope="module")
def smoke() -> Plan:
    return plan()


# ------------------------------------------------------------------------------------------- helpers
def test_shard_files_fill_only_the_shard_wildcard_and_one_shard_is_the_whole_file():
    pattern = "results/scores/{benchmark}/{rm}{shard}.parquet"
    assert shard_files(pattern, 3) == [f"results/scores/{{benchmark}}/{{rm}}/shard-{i}-of-3.parquet" for i in range(3)]
    assert shard_files(pattern, 1) == [unsharded(pattern)] == ["results/scores/{benchmark}/{rm}.parquet"]
    assert shard_suffix(0, 1) == "" and shard_suffix(2, 5) == "/shard-2-of-5"


def test_shard_arg_reads_the_suffix_back_and_the_constraint_matches_both_forms():
    assert shard_arg("/shard-1-of-4") == "++io.shard=1 ++io.shards=4"
    assert shard_arg("") == ""
    # the rules' param: derived from the output path, so not in the params rerun trigger
    assert "output" in inspect.signature(shard_param).parameters
    assert shard_param(SimpleNamespace(shard="/shard-0-of-2"), []) == "++io.shard=0 ++io.shards=2"
    for suffix in ("", shard_suffix(0, 2), shard_suffix(11, 12)):
        assert re.fullmatch(SHARD_RE, suffix)
    assert not re.fullmatch(SHARD_RE, ".comparisons")


def test_command_line_pieces():
    assert hydra_list(["a/b.json", "c.json"]) == "[a/b.json,c.json]" and hydra_list([]) == "[]"
    assert io_arg("root", "data/my file.jsonl") == "++io.root='data/my file.jsonl'"
    assert io_arg("significance", "results/significance/x.csv") == "++io.significance=results/significance/x.csv"
    assert io_arg("significance", []) == ""
    assert python_command(["conda"], "/venv/bin/python") == "python"
    assert python_command([], "/my venv/bin/python") == "'/my venv/bin/python'"


def test_alternation_matches_exactly_the_names():
    regex = alternation(["a.b", "c"])
    assert re.fullmatch(regex, "a.b") and not re.fullmatch(regex, "axb") and re.fullmatch(regex, "c")
    assert not re.fullmatch(alternation([]), "")


def test_untracked_params_take_input_so_snakemake_counts_them_as_derived():
    param = untracked("py -m x a=1")
    assert "input" in inspect.signature(param).parameters and param(None, []) == "py -m x a=1"


def test_figure_outputs_flag_each_png_for_the_report():
    figs = [SimpleNamespace(stem="leaderboard", caption="leaderboard.rst", category="Benchmark")]
    out = figure_outputs(figs, "results/plots/{benchmark}", lambda path, **kw: (path, kw))
    assert out == {"leaderboard_png": ("results/plots/{benchmark}/leaderboard.png",
                                       {"caption": "../report/leaderboard.rst", "category": "Benchmark"}),
                   "leaderboard_pdf": "results/plots/{benchmark}/leaderboard.pdf"}


def test_importing_dag_pulls_no_heavy_packages():
    code = ("import sys, rmeval.dag; print(','.join(m for m in ('hydra', 'omegaconf', 'torch', 'transformers', 'pandas')"
            " if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == ""


# ------------------------------------------------------------------------------------------- the run
def test_lists_and_rm_kinds(smoke):
    smoke.validate()
    assert smoke.benchmarks == ["smoke", "example"]
    assert {"random", "length", "tiny-classifier", "tiny-dpo", "tiny-judge"} == set(smoke.rms)
    assert (smoke.kind("length"), smoke.kind("tiny-judge"), smoke.kind("ensemble-cpu")) == (POINTWISE, PAIRWISE, ENSEMBLE)
    assert smoke.artifact("tiny-judge") == COMPARISONS and smoke.artifact("ensemble-cpu") == SCORES
    assert smoke.listed(COMPARISONS) == ["tiny-judge"] and "tiny-judge" not in smoke.listed(SCORES)
    assert re.fullmatch(smoke.kind_re(PAIRWISE), "tiny-judge") and not re.fullmatch(smoke.kind_re(PAIRWISE), "length")
    assert re.fullmatch(smoke.names_re("benchmark"), "smoke") and not re.fullmatch(smoke.names_re("benchmark"), "all")


def test_one_benchmark_shortcut_runs_just_that_one():
    assert plan([*SMOKE, "benchmark=example"]).benchmarks == ["example"]


def test_model_folders_members_and_shards(smoke):
    assert smoke.models("rm", "tiny-classifier") == ["tiny-classifier"] and smoke.models("rm", "length") == []
    assert smoke.members("ensemble-cpu") == ["tiny-classifier", "minilm-relevance"]
    assert smoke.rm_shards("tiny-classifier") == 1 and smoke.sharded_re(POINTWISE) == "(?!x)x"
    sharded = plan([*SMOKE, "++rm_overrides.tiny-judge.score.shards=3"])
    assert sharded.rm_shards("tiny-judge") == 3 and sharded.sharded_re(PAIRWISE) == "tiny\\-judge"


def test_a_pairwise_member_fails_with_one_line():
    bad = plan([*SMOKE, "++rm_overrides.ensemble-cpu.members=[length,tiny-judge]"])
    with pytest.raises(ConfigError, match=r"^conf/rm/ensemble-cpu.yaml: field 'members': tiny-judge is a pairwise judge"):
        bad.members("ensemble-cpu")


def test_benchmark_sources_map_to_the_rules_outputs(smoke, tmp_path):
    made_by = {"generated": "fixtures/{benchmark}", "download": "downloads/{benchmark}",
               "constructed": "construct/{prompts}/sets/{benchmark}"}
    assert smoke.raw_input("smoke", made_by) == "fixtures/smoke"
    assert smoke.raw_input("example", made_by).endswith("example_preferences.jsonl")
    assert plan([*SMOKE, "benchmarks.names=[rewardbench]"]).raw_input("rewardbench", made_by) == []
    constructed = plan(["experiment=smoke_construct"])
    assert constructed.raw_input("smoke_construct", made_by) == "construct/demo/sets/smoke_construct"
    assert constructed.construction_for("demo")["judge"] == "local-api-judge"
    missing = plan([*SMOKE, "benchmarks.names=[rmb]", f"benchmark.root={tmp_path}/nowhere"])
    with pytest.raises(ConfigError) as err:
        missing.raw_input("rmb", made_by)
    assert str(err.value).startswith("conf/benchmark/rmb.yaml: field 'root': ") and "\n" not in str(err.value)


def test_downstream_pools_and_significance(smoke):
    assert smoke.has_downstream("smoke") and not smoke.has_downstream("example")
    assert smoke.pool_benchmarks == ["smoke"]
    assert re.fullmatch(smoke.pool_re(True), "smoke") and re.fullmatch(smoke.pool_re(False), "example")
    assert smoke.has_significance("smoke") and not plan([*SMOKE, "rms.names=[length]"]).has_significance("smoke")


def test_threads_resources_and_fingerprints(smoke):
    w = SimpleNamespace(rm="tiny-classifier", benchmark="smoke")
    assert smoke.threads("rm")(w) == 4  # a local model claims every core of a local run
    assert smoke.threads("downstream")(w) == 1  # a pointwise RM's downstream job only reads scores
    assert smoke.threads("downstream")(SimpleNamespace(rm="tiny-judge")) == 4  # a judge's runs its knockout
    resources = smoke.resources("rm")
    assert resources["mem_mb"](w) == 8000 and resources["gpu"](w) is None
    assert smoke.rm_fp(w) == plan([*SMOKE, "++rm_overrides.tiny-classifier.score.shards=2"]).rm_fp(w)  # shards: no rerun
    assert smoke.settings_fp("metrics")(w) != plan([*SMOKE, "metrics.n_boot=7"]).settings_fp("metrics")(w)


FP_RULES = {"data": ("data_fp",), "scores": ("rm_fp",), "metrics": ("metrics",),
            "downstream": ("downstream", "metrics"), "leaderboard": ("metrics",),
            "correlation": ("correlation", "downstream", "metrics")}


def changed_fps(overrides, base=SMOKE, **wildcards) -> set[str]:
    """The rules (of FP_RULES) whose fp on these wildcards differs between ``base`` and ``base + overrides``."""
    before, after = plan(base), plan([*base, *overrides])
    w, bench = SimpleNamespace(**wildcards), SimpleNamespace(benchmark=wildcards["benchmark"])

    def fp(p, name):
        spec = FP_RULES[name]
        if spec[0].endswith("_fp"):
            return getattr(p, spec[0])(w)
        return p.settings_fp(*spec)(bench if name in ("leaderboard", "correlation") else w)

    return {name for name in FP_RULES if fp(before, name) != fp(after, name)}


def test_a_fingerprint_covers_every_upstream_config():
    """A file's fp changes with the config of every job upstream of it (so a result whose upstream job failed or
    was killed after a change stays out of date), and with nothing else."""
    classifier = {"benchmark": "smoke", "rm": "tiny-classifier"}
    assert changed_fps(["++rm_overrides.tiny-classifier.max_length=64"], **classifier) == {
        "scores", "metrics", "downstream", "leaderboard", "correlation"}
    assert changed_fps(["++rm_overrides.tiny-judge.seed=1"], **classifier) == {"leaderboard", "correlation"}
    assert changed_fps(["metrics.n_boot=7"], **classifier) == {"metrics", "downstream", "leaderboard", "correlation"}
    assert changed_fps(["downstream.n_draws=7"], **classifier) == {"downstream", "correlation"}
    assert changed_fps(["++benchmark_overrides.smoke.sample.seed=4"], **classifier) == set(FP_RULES)
    assert changed_fps(["++benchmark_overrides.example.sample.seed=4"], **classifier) == set()
    # an ensemble follows its members; a construction's model builds reach its data and every result on it
    ensemble = ["benchmarks.names=[example]", "rms.names=[ensemble-cpu]"]
    assert "scores" in changed_fps(["++rm_overrides.minilm-relevance.max_length=64"], ensemble, benchmark="example",
                                   rm="ensemble-cpu")
    built = changed_fps(["++rm_overrides.tiny-judge.build.seed=3"], ["benchmarks.names=[smoke_construct]",
                        "rms.names=[random]"], benchmark="smoke_construct", rm="random", prompts="demo")
    assert built == set(FP_RULES)


def test_stage_command_and_downstream_arguments(smoke):
    assert smoke.stage("score")(None, []) == "py -m rmeval.stages.score experiment=smoke"
    assert plan([*SMOKE, "rms.names=[random,length]"]).stage("data")(None, []).endswith("'rms.names=[random,length]'")
    assert smoke.downstream_args("length", "s.parquet", [], "c") == "++io.scores=s.parquet"
    assert smoke.downstream_args("tiny-judge", "c.parquet", "t.parquet", "cache/j") == (
        "++io.comparisons=c.parquet ++io.texts=t.parquet ++io.cache_dir=cache/j rm=tiny-judge")
