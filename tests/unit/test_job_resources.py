"""Job resources from the RM / policy / judge YAMLs (threads, memory, runtime, GPUs, SLURM extras) and the shard
count: defaults, overrides, validation, and that the family classes never see these keys; GPUs, memory and runtime
derived from each model's size (rmeval.config.jobs: params_b, local folders, the formula, the per-GPU memory)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rmeval.config import ConfigError, available, compose, compose_rm, job_resources, machine_cpus, rm_node, score_shards
from rmeval.config import user_overrides, without_job_keys
from rmeval.config.jobs import (CPUS_PER_GPU, estimate_params, folder_params_b, model_params_b, size_job, starts_server,
                                uses_local_model)
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
    ("++rm_overrides.random.resources.params_b=0", "resources.params_b"),
    ("++rm_overrides.random.resources.params_b=-7", "resources.params_b"),
    ("++rm_overrides.random.resources.params_b=eight", "params_b"),
    ("++rm_overrides.random.resources.gpu_memory_gb=0", "resources.gpu_memory_gb"),
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


# ----------------------------------------------------------------------------------- sizes and derived resources
CONF = Path(__file__).resolve().parents[2] / "conf"
LLAMA3_8B = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, "intermediate_size": 14336,
             "vocab_size": 128256, "num_attention_heads": 32, "num_key_value_heads": 8, "hidden_act": "silu",
             "tie_word_embeddings": False}
QWEN2_72B = {"model_type": "qwen2", "hidden_size": 8192, "num_hidden_layers": 80, "intermediate_size": 29568,
             "vocab_size": 152064, "num_attention_heads": 64, "num_key_value_heads": 8, "hidden_act": "silu",
             "tie_word_embeddings": False}


@pytest.fixture(scope="module")
def run_cfg():
    return compose([])


def rm(name: str, *overrides: str):
    """An RM's validated node with overrides (``++rm_overrides.<name>...``), as the Snakefile's Plan composes it."""
    return rm_node(compose(list(overrides)), name, list(overrides))


def model_nodes(run_cfg):
    """(file, node) of every RM, policy and judge YAML in conf/ whose job runs a model, except the RMs that cannot
    run (their job stops with its reason: their YAMLs ask for no GPU on purpose)."""
    nodes = [(f"rm/{n}.yaml", rm_node(run_cfg, n)) for n in available("rm")]
    nodes += [(f"{g}/{n}.yaml", OmegaConf.load(CONF / g / f"{n}.yaml")) for g in ("policy", "judge") for n in available(g)]
    return [(f, n) for f, n in nodes if (uses_local_model(n) or starts_server(n)) and not n.get("reason")]


@pytest.mark.parametrize("gpu_memory_gb", [80, 141])
def test_every_local_model_yaml_asks_for_at_least_its_weights(run_cfg, gpu_memory_gb):
    checked = []
    for file, node in model_nodes(run_cfg):
        res, size = job_resources(node, None, gpu_memory_gb), size_job(node, gpu_memory_gb)
        if res.get("gpu"):
            assert res["gpu"] * gpu_memory_gb >= size.weights_gb, (file, res, size)
            assert res["mem_mb"] >= size.weights_gb * 1000, (file, res, size)  # the host loads the weights first
            assert res["threads"] == CPUS_PER_GPU * res["gpu"]
        else:
            assert res["mem_mb"] >= size.weights_gb * 1000 and size.params_b < 0.3, (file, res, size)
        if size.params_b >= 1 or node.get("device", "").startswith("cuda"):
            assert res.get("gpu", 0) >= 1, (file, res)
        assert res["runtime"] >= 60
        checked.append((file, res.get("gpu", 0)))
    assert len(checked) >= 44, checked  # 36 GPU-sized RMs + the CPU toys + policies and judges
    assert sum(1 for _, gpus in checked if gpus) >= 37, checked


def test_an_rm_that_asks_for_several_gpus_spreads_its_model_over_them(run_cfg):
    """A job given several GPUs must load its model across them (``device_map``) or serve it with tensor parallelism;
    otherwise it would fill the first GPU and fail."""
    several = []
    for file, node in model_nodes(run_cfg):
        if job_resources(node, None, 80).get("gpu", 0) > 1:
            spread = node.get("device_map") or starts_server(node) or (node.get("backend") or {}).get("tensor_parallel_size")
            assert spread, f"{file}: asks for several GPUs but sets no device_map"
            several.append(file)
    assert "rm/worldpm-72b.yaml" in several and "rm/starling-rm-34b.yaml" in several


def test_the_cpu_toys_stay_cpu_jobs(run_cfg):
    for name in ("tiny-classifier", "tiny-dpo", "tiny-judge", "minilm-relevance", "smollm2-135m-implicit"):
        res = job_resources(rm_node(run_cfg, name), cores=4)
        assert res == {"threads": 4, "mem_mb": 8000, "runtime": 60 + (name == "smollm2-135m-implicit")}, (name, res)
    policy = compose(["policy=smollm2-t07"]).policy  # sized by its requires_model RM's params_b
    assert model_params_b(policy) == (0.135, "smollm2-135m-implicit (params_b)")
    assert "gpu" not in job_resources(policy, cores=None)


def test_a_72b_bf16_rm_follows_the_formula(run_cfg):
    node = rm_node(run_cfg, "worldpm-72b")
    weights = 72.7 * 2  # GB, bfloat16
    need = 1.2 * weights + 4
    for per_gpu, gpus in ((80, 3), (141, 2)):
        res = job_resources(node, None, per_gpu)
        assert res["gpu"] == math.ceil(need / per_gpu) == gpus
        assert res["mem_mb"] == math.ceil((weights + 8) * 1000) and res["runtime"] == 60 + round(10 * 72.7)
    assert job_resources(node, None)["gpu"] == 3  # the default per-GPU memory: 80 GB
    smaller = job_resources(rm("worldpm-72b", "++rm_overrides.worldpm-72b.quantization=4bit"), None, 80)
    assert smaller["gpu"] == math.ceil((1.2 * 72.7 * 0.5 + 4) / 80) == 1


def test_a_yaml_may_name_its_own_gpu_memory_and_device(run_cfg):
    h200 = rm("worldpm-72b", "++rm_overrides.worldpm-72b.resources.gpu_memory_gb=141")
    assert job_resources(h200, None, 80)["gpu"] == 2
    cuda = rm("tiny-classifier", "++rm_overrides.tiny-classifier.device=cuda")
    assert job_resources(cuda, None)["gpu"] == 1


def test_explicit_resources_win_key_by_key(run_cfg):
    over = ["++rm_overrides.worldpm-72b.resources.gpus=8", "++rm_overrides.worldpm-72b.resources.runtime=30"]
    res = job_resources(rm("worldpm-72b", *over), None, 80)
    assert res["gpu"] == 8 and res["runtime"] == 30 and res["mem_mb"] == math.ceil((72.7 * 2 + 8) * 1000)
    assert res["threads"] == 8 * CPUS_PER_GPU
    res = job_resources(rm_node(run_cfg, "nemotron-4-340b-reward"), None)  # it cannot run: its YAML says so
    assert res == {"threads": 1, "mem_mb": 4000, "runtime": 10}


def test_served_judges_ask_for_their_tensor_parallel_size(run_cfg):
    assert job_resources(rm_node(run_cfg, "llama3.1-70b-instruct-judge"), None)["gpu"] == 4
    assert job_resources(rm_node(run_cfg, "mixtral-8x7b-instruct-judge"), None)["gpu"] == 2
    assert job_resources(rm_node(run_cfg, "llama3.1-70b-instruct-judge"), cores=6)["threads"] == 6  # one server at a time
    assert job_resources(rm_node(run_cfg, "gpt4o-judge"), None) == {"threads": 1, "mem_mb": 8000, "runtime": 60}
    node = OmegaConf.to_container(rm_node(run_cfg, "llama3.1-70b-instruct-judge"))
    node["server"]["command"] = "vllm serve meta-llama/Llama-3.1-70B-Instruct --tensor-parallel-size=1"
    with pytest.raises(ConfigError) as err:  # 1 x 80 GB cannot hold 141 GB of weights
        job_resources(OmegaConf.create(node), None)
    assert str(err.value).startswith("conf/rm/llama3.1-70b-instruct-judge.yaml: field 'server.command': 1 GPU(s)")
    node["server"]["command"] = "vllm serve meta-llama/Llama-3.1-70B-Instruct -tp 1 --pipeline-parallel-size 2"
    assert job_resources(OmegaConf.create(node), None)["gpu"] == 2
    assert job_resources(compose(["policy=vllm-example"]).policy, None)["gpu"] == 1  # backend.tensor_parallel_size


def test_a_hub_model_without_params_b_fails_with_one_line():
    node = OmegaConf.create({"_target_": "rmeval.rms.classifier.SequenceClassifierRM", "name": "mystery",
                             "model": "org/mystery-rm", "dtype": "bfloat16"})
    with pytest.raises(ConfigError) as err:
        job_resources(node, None)
    assert str(err.value).startswith("conf/rm/mystery.yaml: field 'resources.params_b': the size of 'org/mystery-rm'")
    assert "\n" not in str(err.value)
    node.resources = {"gpus": 1, "mem_mb": 20000, "runtime": 90}  # all it asks for given: no size needed
    assert job_resources(node, None) == {"threads": 8, "mem_mb": 20000, "runtime": 90, "gpu": 1}
    with pytest.raises(ConfigError, match=r"^config.yaml: field 'gpu_memory_gb': must be > 0"):
        job_resources(node, None, 0)


def test_sizes_from_config_json_match_the_published_ones():
    assert estimate_params(LLAMA3_8B) / 1e9 == pytest.approx(8.03, abs=0.02)
    assert estimate_params(QWEN2_72B) / 1e9 == pytest.approx(72.7, abs=0.1)
    t5 = {"d_model": 1024, "d_ff": 2816, "num_layers": 24, "num_decoder_layers": 24, "num_heads": 16, "d_kv": 64,
          "vocab_size": 32128, "feed_forward_proj": "gated-gelu", "is_encoder_decoder": True, "tie_word_embeddings": False}
    assert estimate_params(t5) / 1e9 == pytest.approx(0.783, abs=0.01)  # flan-t5-large
    assert estimate_params({"vocab_size": 10}) is None


def test_sizes_from_a_local_folder(tiny_classifier_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification

    exact = AutoModelForSequenceClassification.from_pretrained(tiny_classifier_dir).num_parameters()
    assert folder_params_b(tiny_classifier_dir) == (exact / 1e9, f"{tiny_classifier_dir}/*.safetensors")
    config = json.loads((tiny_classifier_dir / "config.json").read_text())
    assert estimate_params(config) == pytest.approx(exact, rel=0.05)
    (tmp_path / "config.json").write_text(json.dumps({**LLAMA3_8B, "dtype": "bfloat16"}))
    assert folder_params_b(tmp_path)[0] == pytest.approx(8.03, abs=0.02)  # config.json alone: the estimate
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": 16_060_522_496}}))
    assert folder_params_b(tmp_path) == (16_060_522_496 / 2 / 1e9, str(tmp_path / "model.safetensors.index.json"))
    node = OmegaConf.create({"_target_": "rmeval.rms.classifier.SequenceClassifierRM", "name": "local",
                             "model": str(tmp_path), "dtype": "bfloat16"})
    assert job_resources(node, None)["gpu"] == 1


def test_per_gpu_memory_is_a_run_setting_and_a_typo_fails():
    assert compose(["gpu_memory_gb=141"]).gpu_memory_gb == 141 and compose([]).gpu_memory_gb == 80
    assert user_overrides({"gpu_memory_gb": 141}) == ["gpu_memory_gb=141"]  # snakemake --config gpu_memory_gb=141
    with pytest.raises(ConfigError, match="Could not override 'gpu_memroy_gb'"):
        compose(["gpu_memroy_gb=141"])


def test_the_listing_shows_each_jobs_gpus_and_memory(capsys):
    from rmeval.config.sizes import main

    assert main(["rms=[worldpm-72b,random,tiny-classifier]", "gpu_memory_gb=141"]) == 0
    lines = {line.split()[1]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["worldpm-72b"][2:8] == ["72.7", "params_b", "2", "2", "178.5", str(math.ceil(153.4 * 1000))]
    assert lines["random"][5] == "0" and lines["tiny-classifier"][5] == "0"
    assert main(["rms=[no-such-rm]"]) == 1 and "unknown RM 'no-such-rm'" in capsys.readouterr().err
