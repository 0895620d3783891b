"""Tiny deterministic causal LMs (random-weight ``LlamaForCausalLM``) for the implicit-reward family: tests and
the ``tiny-dpo`` pipeline check. The tokenizer and chat template are ``rmeval.tiny``'s; the tokenizer is trained
with ``tokenizer_seed`` (not the weight seed), so two models built with different seeds share one tokenizer and
can serve as a policy and its reference."""

from __future__ import annotations

from pathlib import Path

import torch

from rmeval.tiny import CHAT_TEMPLATE, tiny_llama_config, train_tokenizer


def build_tiny_causal_lm(
    out_dir: str | Path,
    seed: int = 0,
    hidden_size: int = 32,
    num_layers: int = 2,
    vocab_size: int = 512,
    tokenizer_seed: int = 0,
    num_heads: int = 4,
    max_positions: int = 2048,
    head_scale: float = 1.0,
) -> Path:
    """Write a tiny ``LlamaForCausalLM`` plus its tokenizer (with ``rmeval.tiny.CHAT_TEMPLATE``) to ``out_dir``.

    The output head gets weights of std 1/sqrt(hidden_size), so next-token log-probs vary by about a nat from
    token to token (the default 0.02 init gives a nearly uniform distribution, which would hide masking bugs).
    """
    from transformers import LlamaForCausalLM

    out_dir = Path(out_dir)
    tok = train_tokenizer(vocab_size=vocab_size, seed=tokenizer_seed)
    tok.chat_template = CHAT_TEMPLATE
    config = tiny_llama_config(tok, hidden_size, num_layers, num_heads, max_positions=max_positions)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, head_scale / hidden_size**0.5, generator=torch.Generator().manual_seed(seed + 1))
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir


def build_tiny_dpo_pair(
    out_dir: str | Path,
    seed: int = 0,
    reference_seed: int = 1,
    hidden_size: int = 32,
    num_layers: int = 2,
    vocab_size: int = 512,
) -> Path:
    """A policy (``out_dir/policy``) and a reference (``out_dir/reference``) sharing one tokenizer: the layout
    ``conf/rm/tiny-dpo.yaml`` reads (``build.kind: tiny_dpo``)."""
    if seed == reference_seed:
        raise ValueError(f"tiny_dpo: seed and reference_seed are both {seed}; the reward would be 0 for every text")
    out_dir = Path(out_dir)
    kwargs = {"hidden_size": hidden_size, "num_layers": num_layers, "vocab_size": vocab_size}
    build_tiny_causal_lm(out_dir / "policy", seed=seed, **kwargs)
    build_tiny_causal_lm(out_dir / "reference", seed=reference_seed, **kwargs)
    return out_dir
