"""Tiny deterministic models for tests and the smoke experiment: random weights, a tokenizer trained in-process,
a chat template. A few hundred KB, built in well under a second, identical for the same seed."""

from __future__ import annotations

from pathlib import Path

import torch

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ message['content'] }}{{ eos_token }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

SPECIAL = ["<pad>", "<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|system|>"]

_CORPUS_WORDS = (
    "the a an of to in and or is are was be can will should would could not no yes you your we our they it this "
    "that what how why when where which who please help explain write code list step answer question safe unsafe "
    "sorry cannot assist request harmful legal advice doctor data model python function return value error test "
    "story poem summary translate english chinese reason because therefore first second finally example good bad "
    "best better more less very quite useful detailed short long simple clear thank thanks hello hi user assistant"
).split()


def train_tokenizer(vocab_size: int = 512, seed: int = 0, corpus: list[str] | None = None):
    """A byte-level BPE tokenizer trained in-process (deterministic): on a fixed synthetic corpus, or on the
    texts given (e.g. a benchmark's, for realistic token lengths in throughput measurements)."""
    import random

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(seed)
    if corpus is None:
        corpus = [" ".join(rng.choice(_CORPUS_WORDS) for _ in range(24)) for _ in range(400)]
    corpus = [*corpus, "".join(chr(c) for c in range(32, 127))]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_llama_config(tok, hidden_size: int, num_layers: int, num_heads: int = 4, intermediate_size: int | None = None,
                      max_positions: int = 2048, **extra):
    """The LlamaConfig of rmeval's tiny models, with the tokenizer's special ids."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=max(1, num_heads // 2),
        max_position_embeddings=max_positions,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=False,
        **extra,
    )


def build_tiny_classifier(
    out_dir: str | Path,
    seed: int = 0,
    hidden_size: int = 32,
    num_layers: int = 2,
    vocab_size: int = 512,
    pad_is_eos: bool = True,
    max_positions: int = 2048,
    num_heads: int = 4,
    intermediate_size: int | None = None,
    corpus: list[str] | None = None,
) -> Path:
    """Write a tiny ``LlamaForSequenceClassification`` (one logit) plus tokenizer to ``out_dir``."""
    from transformers import LlamaForSequenceClassification

    tok = train_tokenizer(vocab_size=vocab_size, seed=seed, corpus=corpus)
    if pad_is_eos:  # as many released RMs do; the engine must still pool the real last token
        tok.pad_token = tok.eos_token
    config = tiny_llama_config(tok, hidden_size, num_layers, num_heads, intermediate_size, max_positions, num_labels=1)
    # a visible score scale: std ~1 instead of ~0.02
    return save_random_model(out_dir, LlamaForSequenceClassification, config, tok, seed, "score", 1.0 / hidden_size**0.5)


def save_random_model(out_dir: str | Path, model_cls, config, tok, seed: int, head: str, head_std: float) -> Path:
    """``model_cls(config)`` with weights drawn under ``seed`` and its output layer ``head`` redrawn with std
    ``head_std`` (from ``seed + 1``), saved with ``tok`` to ``out_dir``."""
    torch.manual_seed(seed)
    model = model_cls(config)
    with torch.no_grad():
        getattr(model, head).weight.normal_(0.0, head_std, generator=torch.Generator().manual_seed(seed + 1))
    model.eval()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    return out_dir
