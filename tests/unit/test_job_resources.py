"""Job resources from the RM / policy / judge YAMLs (threads, memory, runtime, GPUs, SLURM extras) and the shard
count: defaults, overrides, validation, and that the family classes never see these keys."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from rmeval.config import ConfigError, compose, compose_rm, job_resources, machine_cpus, score_shards, without_job_keys
from rmeval.rms import build_rm


def test_a_local_model_claims_all_cores_an_api_or_model_free_job_one():
    classifier = compose_rm("tiny-classifier").rm
    assert job_resources(classifier, cores=8) == {"threads": 8, "mem_mb": 8000, "runtime": 60}
    assert job_resources(classifier, cores=None)["threads"] == machine_cpus()
    assert job_resources(compose_rm("random").rm, cores=8)["threads"] == 1
    assert job_resources(compose_rm("gpt4o-judge").rm, cores=8)["threads"] == 1  # OpenAI-compatible backend
    assert job_resources(compose_rm("tiny-judge").rm, cores=8)["threads"] == 8  # local HF backend
    assert job_resources(compose(["judge=tiny-ev"]).judge, cores=4)["threads"] == 4
    assert job_resources(compose(["policy=tiny-policy-a"]).policy, cores=4)["threads"] == 4


def test_resources_node_overrides_the_defaults_and_names_a_gpu_the_slurm_way():
    over = ["++rm_overrides.tiny-classifier.resources.gpus=2", "++rm_overrides.tiny-classifier.resources.gpu_model=a100",
            "++rm_overrides.tiny-classifier.resources.threads=6", "++rm_overrides.tiny-classifier.resources.mem_mb=64000",
            "++rm_overrides.tiny-classifier.resources.runtime=720", "++rm_overrides.tiny-classifier.resources.slurm_partition=gpu",
            "++rm_overrides.tiny-classifier.score.shards=4"]
    rm = compose_rm("tiny-classifier", over).rm
    assert job_resources(rm, cores=2) == {"threads": 6, "mem_mb": 64000, "runtime": 720, "gpu": 2, "gpu_model": "a100",
                                          "slurm_partition": "gpu"}
    assert score_shards(rm) == 4 and score_shards(compose_rm("tiny-classifier").rm) == 1
    plain = without_job_keys(rm)
    assert "resources" not in plain and "score" not in plain and plain["name"] == "tiny-classifier"


@pytest.mark.parametrize("override, field", [
    ("++rm_overrides.random.score.shards=0", "score.shards"),
    ("++rm_overrides.random.resources.gpus=-1", "resources.gpus"),
    ("++rm_overrides.random.resources.threads=0", "resources.threads"),
    ("++rm_overrides.random.resources.gpu=1", "gpu"),  # a typo of gpus: the schema knows no such key
    ("++rm_overrides.random.resources.mem_mb=lots", "mem_mb"),
])
def test_bad_resources_fail_with_one_line_naming_file_and_field(override, field):
    with pytest.raises(ConfigError) as err:
        compose_rm("random", [override])
    message = str(err.value)
    assert "\n" not in message and "random.yaml" in message and field in message


def test_bad_policy_resources_name_the_policy_file():
    with pytest.raises(ConfigError, match=r"policy/tiny-policy-a.yaml: field 'resources.runtime'"):
        compose(["policy=tiny-policy-a", "++policy.resources.runtime=0"])


def test_the_family_class_never_sees_the_scheduler_keys():
    node = OmegaConf.create({"_target_": "rmeval.rms.baselines.RandomRM", "name": "random", "seed": 0,
                             "resources": {"gpus": 1}, "score": {"shards": 3}})
    assert build_rm(node).name == "random"


def test_the_pinned_slurm_plugin_turns_them_into_the_sbatch_flags():
    submit = pytest.importorskip("snakemake_executor_plugin_slurm.submit_string")
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    over = ["++rm_overrides.tiny-classifier.resources.gpus=2", "++rm_overrides.tiny-classifier.resources.gpu_model=a100",
            "++rm_overrides.tiny-classifier.resources.threads=6", "++rm_overrides.tiny-classifier.resources.mem_mb=64000",
            "++rm_overrides.tiny-classifier.resources.runtime=720", "++rm_overrides.tiny-classifier.resources.slurm_extra='--constraint=ib'"]
    res = job_resources(compose_rm("tiny-classifier", over).rm, cores=None)

    class Resources(dict):
        __getattr__ = dict.__getitem__

    class Job:
        threads = res["threads"]
        resources = Resources({k: v for k, v in res.items() if k != "threads"})

    params = {"run_uuid": "u", "slurm_logfile": "log", "comment_str": "c", "account": "", "partition": "-p gpu", "workdir": "."}
    call = submit.get_submit_command(Job(), params) + set_gres_string(Job())
    for flag in ("-t 720", "--mem 64000", "--cpus-per-task=6", "--constraint=ib", "--gpus=a100:2", "-p gpu"):
        assert flag in call, (flag, call)
