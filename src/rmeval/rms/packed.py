"""Padding-free forward passes for decoder sequence classifiers: a batch is one packed row of token ids with
per-text position ids, attention runs per text, and only each text's last token goes through the score head.

Why: right padding wastes the padded tokens in every linear layer, and the padding mask forces the attention kernel
onto its dense masked path. Packed, every linear layer sees only real tokens and each text's attention is plain
causal attention over that text alone (``scaled_dot_product_attention(is_causal=True)``, whose CPU and flash
kernels skip the masked upper triangle). The scores equal one-text-at-a-time scores within float tolerance.

The last decoder layer works only where the score is read: its attention computes each text's last query row
alone (keys and values still come from every token) and its MLP runs on those rows only. Everything else of that
layer's output is never read (the final norm and the score head see the last rows only), so it is left at zero.

Which models: those whose class is transformers' ``GenericForSequenceClassification`` (Llama, Mistral, Qwen2/3,
Gemma, Phi3, ...: a base model plus a linear ``score`` head on the last token) and whose attention goes through the
attention-function registry, without sliding windows, soft-capping or attention sinks. Anything else (custom heads,
encoders) keeps the padded path; ``packing_unsupported`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

ATTN_NAME = "rmeval_packed"  # the registered attention function (and its no-op mask builder)
LAST_ROWS_FLAG = "_rmeval_last_rows_only"  # set on the last layer's attention module during a packed forward
_registered = False


def packed_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, cu_seq_lens_q=None, **kwargs):
    """Attention over the texts packed in one row: (1, heads, T, dim) in, (1, T, heads, dim) out.

    ``cu_seq_lens_q`` holds the cumulative text lengths ([0, l0, l0+l1, ...]); each text attends only to itself.
    """
    if cu_seq_lens_q is None:
        raise RuntimeError("packed attention called without cu_seq_lens_q (only rmeval's packed forward sets it)")
    n_rep = query.shape[1] // key.shape[1]
    if n_rep > 1:  # grouped-query attention: one key/value head serves n_rep query heads
        key = key.repeat_interleave(n_rep, dim=1)
        value = value.repeat_interleave(n_rep, dim=1)
    causal = bool(getattr(module, "is_causal", True))
    last_only = getattr(module, LAST_ROWS_FLAG, False)
    bounds = cu_seq_lens_q.tolist()
    out = torch.zeros_like(query) if last_only else torch.empty_like(query)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if last_only:  # the last position sees its whole text: no mask needed
            out[:, :, hi - 1: hi] = sdpa(query[:, :, hi - 1: hi], key[:, :, lo:hi], value[:, :, lo:hi], scale=scaling)
        else:
            out[:, :, lo:hi] = sdpa(query[:, :, lo:hi], key[:, :, lo:hi], value[:, :, lo:hi], is_causal=causal, scale=scaling)
    return out.transpose(1, 2).contiguous(), None


class _RowsOnly(torch.nn.Module):
    """A position-wise module (an MLP) applied to some rows of a packed (1, T, d) input; the others stay zero."""

    def __init__(self, inner: torch.nn.Module, rows: torch.Tensor):
        super().__init__()
        self.inner, self.rows = inner, rows

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        out[:, self.rows] = self.inner(x[:, self.rows])
        return out


def _no_mask(*args, **kwargs):
    return None  # texts are separated by cu_seq_lens_q; causality is the kernel's is_causal


def register() -> None:
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(ATTN_NAME, packed_attention)
    AttentionMaskInterface.register(ATTN_NAME, _no_mask)
    _registered = True


def packing_unsupported(model) -> str | None:
    """Why ``model`` cannot take packed batches (None when it can)."""
    from transformers.modeling_layers import GenericForSequenceClassification

    if not isinstance(model, GenericForSequenceClassification):
        return f"{type(model).__name__} is not a last-token decoder classifier"
    if not isinstance(getattr(model, "score", None), torch.nn.Linear):
        return "no linear score head"
    if not getattr(model, "_supports_attention_backend", False):
        return f"{type(model).__name__} does not route attention through the attention-function registry"
    text = model.config.get_text_config()
    for key in ("sliding_window", "attn_logit_softcapping", "layer_types_sliding"):
        if getattr(text, key, None):
            return f"config.{key} is set"
    if any(hasattr(m, "sinks") for m in model.modules()):
        return "attention sinks"
    return None


def pack(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids (1, T), position_ids (1, T), cu_seq_lens (n+1,)) for texts laid end to end."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    cu = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=cu[1:])
    ids = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=int(cu[-1]))
    positions = np.arange(int(cu[-1]), dtype=np.int64) - np.repeat(cu[:-1], lengths)
    return torch.from_numpy(ids)[None], torch.from_numpy(positions)[None], torch.from_numpy(cu)


def packed_logits(model, seqs: Sequence[Sequence[int]], device: str) -> torch.Tensor:
    """Score-head outputs (n, num_labels) at each text's last token, from one packed forward pass."""
    input_ids, position_ids, cu = pack(seqs)
    last_rows = (cu[1:] - 1).to(device)
    base = getattr(model, model.base_model_prefix)
    saved = model.config._attn_implementation
    text_config = model.config.get_text_config()
    configs = {id(c): c for c in (model.config, text_config, base.config)}.values()
    last = _last_layer(base, text_config)
    for c in configs:
        c._attn_implementation = ATTN_NAME
    if last is not None:
        setattr(last.self_attn, LAST_ROWS_FLAG, True)
        last.mlp = _RowsOnly(last.mlp, last_rows)
    try:
        with torch.inference_mode():
            hidden = base(input_ids=input_ids.to(device), position_ids=position_ids.to(device), use_cache=False,
                          cu_seq_lens_q=cu, cu_seq_lens_k=cu).last_hidden_state
            return model.score(hidden[0, last_rows])
    finally:
        for c in configs:
            c._attn_implementation = saved
        if last is not None:
            delattr(last.self_attn, LAST_ROWS_FLAG)
            last.mlp = last.mlp.inner


def _last_layer(base, text_config):
    """The last decoder layer when it has the usual ``self_attn`` + ``mlp`` shape (else None: no last-row saving)."""
    layers = getattr(base, "layers", None)
    n = getattr(text_config, "num_hidden_layers", None)
    if not isinstance(layers, torch.nn.ModuleList) or not n or len(layers) < n:
        return None
    layer = layers[n - 1]
    ok = isinstance(getattr(layer, "mlp", None), torch.nn.Module) and isinstance(getattr(layer, "self_attn", None), torch.nn.Module)
    return layer if ok else None
