"""The RM lists: rms=rmb_paper holds RMB's 21 rows, every RM YAML validates, every hub YAML has a revision field."""

from __future__ import annotations

import pytest
import yaml

from rmeval.config import available_rms, compose, compose_rm
from rmeval.hf import RMLoadError
from rmeval.rms.judge import load_template
from rmeval.rms.unavailable import UnavailableRM


def test_rmb_paper_lists_all_21_rows_and_each_composes(project_root):
    names = list(compose(["rms=rmb_paper"]).rms.names)
    assert len(names) == len(set(names)) == 21
    for name in names:
        assert compose_rm(name).rm.name == name
    registry = list(compose(["rms=rewardbench_registry"]).rms.names)
    assert {"ultrarm-13b", "beaver-7b-v1.0-cost", "grm-llama3-8b-sftreg", "qrm-llama3.1-8b", "ziya-llama-7b-reward"} <= set(registry)


def test_every_hub_yaml_has_a_revision_field(project_root):
    for name in available_rms():
        node = yaml.safe_load((project_root / "conf" / "rm" / f"{name}.yaml").read_text())
        model = node.get("model") or (node.get("backend") or {}).get("model")
        hub = isinstance(model, str) and "/" in model and not model.startswith(("resources/", "package:", "/"))
        if hub and "backend" not in node:
            assert "revision" in node, f"conf/rm/{name}.yaml: field 'revision' missing"


def test_skywork_critic_template_fills_and_parses():
    text = load_template("skywork_critic_v1").format(conversation="User: hi", response_a="A!", response_b="B!")
    assert "[User Question]\nUser: hi" in text and "A!" in text and "[[A]]" in text


def test_api_judges_read_keys_from_named_variables(project_root):
    expected = {"gpt4o-judge": "OPENAI_API_KEY", "claude-3.5-sonnet-judge": "ANTHROPIC_API_KEY",
                "gemini-1.5-pro-judge": "GEMINI_API_KEY", "mistral-large-judge": "MISTRAL_API_KEY"}
    for name, env in expected.items():
        backend = compose_rm(name).rm.backend
        assert backend.api_key_env == env and backend._target_.endswith("OpenAICompatBackend")
    local = compose_rm("skywork-critic-llama3.1-8b-judge").rm
    assert local.template == "skywork_critic_v1" and local.backend.base_url.startswith("http://127.0.0.1")


def test_unavailable_rm_stops_with_its_reason():
    rm = UnavailableRM(name="steerlm-rm-70b", model="nvidia/x", reason="NeMo checkpoint only")
    with pytest.raises(RMLoadError, match="rm steerlm-rm-70b: nvidia/x cannot run in rmeval: NeMo checkpoint only"):
        rm.encode("t", [{"role": "user", "content": "q"}], "a")


def test_local_judge_yaml_carries_a_validated_server_section():
    from rmeval.rms import build_rm

    rm = compose_rm("llama3.1-8b-instruct-judge").rm
    assert list(rm.server.command[:2]) == ["vllm", "serve"] and rm.server.health_url.endswith("/health")
    assert build_rm(rm).name == "llama3.1-8b-instruct-judge"  # the stage runs the server; the family never sees it
