"""Tiny deterministic causal LMs (random-weight ``LlamaForCausalLM``) for the implicit-reward family: tests and
the ``tiny-dpo`` pipeline check. The tokenizer and chat template are ``rmeval.tiny``'s; the tokenizer is trained
with ``tokenizer_seed`` (not the weight seed), so two models built with different seeds share one tokenizer and
can serve as a policy and its reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmeval.rms.build import BUILD_KINDS


@BUILD_KINDS.register("tiny_classifier")
def make_tiny_classifier(out: Path, b: Any, rm: Any) -> None:
    """A random LlamaForSequenceClassification (``rmeval.tiny.build_tiny_classifier``)."""
    from rmeval.tiny import build_tiny_classifier

    build_tiny_classifier(out, seed=b.seed, hidden_size=b.hidden_size, num_layers=b.num_layers,
                          vocab_size=b.vocab_size, pad_is_eos=b.pad_is_eos)


@BUILD_KINDS.register("tiny_dpo")
def make_tiny_dpo(out: Path, b: Any, rm: Any) -> None:
    """{out}/policy and {out}/reference (``build_tiny_dpo_pair``)."""
    build_tiny_dpo_pair(out, seed=b.seed, reference_seed=b.reference_seed, hidden_size=b.hidden_size,
                        num_layers=b.num_layers, vocab_size=b.vocab_size)


@BUILD_KINDS.register("tiny_lm")
def make_tiny_lm(out: Path, b: Any, rm: Any) -> None:
    """One random causal LM (a local judge for smoke tests)."""
    build_tiny_causal_lm(out, seed=b.seed, hidden_size=b.hidden_size, num_layers=b.num_layers, vocab_size=b.vocab_size,
                         head_scale=b.get("head_scale", 1.0))


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
    from rmeval.tiny import save_random_model, tiny_llama_config, train_tokenizer

    from transformers import LlamaForCausalLM

    tok = train_tokenizer(vocab_size=vocab_size, seed=tokenizer_seed)
    config = tiny_llama_config(tok, hidden_size, num_layers, num_heads, max_positions=max_positions)
    return save_random_model(out_dir, LlamaForCausalLM, config, tok, seed, "lm_head", head_scale / hidden_size**0.5)


def build_tiny_dpo_pair(out_dir: str | Path, seed: int = 0, reference_seed: int = 1, **sizes) -> Path:
    """A policy (``out_dir/policy``) and a reference (``out_dir/reference``) sharing one tokenizer: the layout
    ``conf/rm/tiny-dpo.yaml`` reads (``build.kind: tiny_dpo``). ``sizes``: ``build_tiny_causal_lm``'s
    (hidden_size, num_layers, vocab_size, ...), the same for both."""
    if seed == reference_seed:
        raise ValueError(f"tiny_dpo: seed and reference_seed are both {seed}; the reward would be 0 for every text")
    out_dir = Path(out_dir)
    build_tiny_causal_lm(out_dir / "policy", seed=seed, **sizes)
    build_tiny_causal_lm(out_dir / "reference", seed=reference_seed, **sizes)
    return out_dir
