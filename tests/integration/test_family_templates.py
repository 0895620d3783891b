"""The prompt formats rmeval writes for families whose tokenizer carries no (or another) chat template: each YAML's
template renders exactly the string its model card shows (one user turn, one response)."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from rmeval.config import compose_rm

MESSAGES = [{"role": "user", "content": "Hello?"}, {"role": "assistant", "content": "Hi, how can I help you?"}]
CARD_STRINGS = {
    # Starling-RM-7B-alpha's card: Llama-2-chat [INST] format with the </s> inside the user turn
    "starling-rm-7b-alpha": "<s>[INST] Hello? </s> [/INST] Hi, how can I help you?</s>",
    # Starling-RM-34B scores Yi-34B-Chat's ChatML format
    "starling-rm-34b": "<|im_start|>user\nHello?<|im_end|>\n<|im_start|>assistant\nHi, how can I help you?<|im_end|>\n",
    # Eurus-RM-7b's card: Mistral [INST] format
    "eurus-rm-7b": "[INST] Hello? [/INST] Hi, how can I help you?",
    # UltraRM-13b's card
    "ultrarm-13b": "Human: Hello?\nAssistant: Hi, how can I help you?",
    # Beaver (safe-rlhf) reward and cost
    "beaver-7b-v1.0-reward": "BEGINNING OF CONVERSATION: USER: Hello? ASSISTANT:Hi, how can I help you?",
    "beaver-7b-v1.0-cost": "BEGINNING OF CONVERSATION: USER: Hello? ASSISTANT:Hi, how can I help you?",
    # Ziya-LLaMA-7B-Reward's card
    "ziya-llama-7b-reward": "Human:Hello?\n\nAssistant:Hi, how can I help you?",
}


@pytest.mark.parametrize("name", sorted(CARD_STRINGS))
def test_yaml_template_renders_the_model_card_prompt(name, tiny_classifier_dir):
    rm = compose_rm(name).rm
    assert rm.chat_template == "fallback", f"conf/rm/{name}.yaml must force its own template"
    tok = AutoTokenizer.from_pretrained(tiny_classifier_dir)  # BOS <s>, EOS </s>: the Llama-family special tokens
    rendered = tok.apply_chat_template(MESSAGES, chat_template=rm.fallback_template, tokenize=False)
    assert rendered == CARD_STRINGS[name]
