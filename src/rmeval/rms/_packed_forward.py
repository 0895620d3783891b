"""The torch half of ``rmeval.rms.packed``: one packed forward pass through transformers' own model, public
arguments only. See ``rmeval.rms.packed`` for what packing does and which models take it.

- Texts laid end to end with position ids that restart at 0 for each text and no attention mask: transformers
  recognises the packed layout from the position ids and gives every attention implementation per-text causal
  masks (SDPA and eager get a block-diagonal mask, flash-attention variable-length sequences).
- A prompt prefix shared by several texts is laid out once; each member's own tokens follow with positions
  continuing after the prefix. Position ids alone cannot say that a suffix sees a prefix that is not directly
  before it, so these rows pass an explicit 4-D mask (boolean for SDPA, additive for eager), which transformers
  hands to the attention function as given. Flash-attention takes no 4-D mask: such models pack without sharing.
  SDPA and eager get the same kind of mask (built here in a few vector operations; transformers' own construction
  from position ids took about three times the forward pass of a MiniLM-sized model on the CPU).

Only each text's last hidden state goes through the score head (``model.score``, the public head of transformers'
``GenericForSequenceClassification``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rmeval.rms.packed import MIN_SHARED_PREFIX, shared_prefix_groups

#: model types whose transformers classes were tested to score packed batches exactly as one text at a time
#: (tests/unit/test_packed_batches.py); anything else keeps padded batches
PACKABLE_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")
#: attention implementations that take an explicit 4-D mask (what shared prefixes need)
MASKABLE = ("sdpa", "eager")


def packing_unsupported(model, attn_implementation: str | None) -> str | None:
    """Why ``model`` cannot take packed batches (None when it can)."""
    from transformers.modeling_layers import GenericForSequenceClassification

    if not isinstance(model, GenericForSequenceClassification):
        return f"{type(model).__name__} is not a last-token decoder classifier"
    if not isinstance(getattr(model, "score", None), torch.nn.Linear):
        return "no linear score head"
    text = model.config.get_text_config()
    if text.model_type not in PACKABLE_MODEL_TYPES:
        return f"model type {text.model_type!r} is not among those tested packed ({', '.join(PACKABLE_MODEL_TYPES)})"
    if attn_implementation not in (*MASKABLE, "flash_attention_2"):
        return f"attention implementation {attn_implementation!r}"
    for key in ("sliding_window", "attn_logit_softcapping"):
        if getattr(text, key, None) and getattr(text, "use_sliding_window", True):
            return f"config.{key} is set"
    return None


def pack(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids (1, T), position_ids (1, T), cu_seq_lens (n+1,)) for texts laid end to end."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    cu = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=cu[1:])
    ids = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=int(cu[-1]))
    positions = np.arange(int(cu[-1]), dtype=np.int64) - np.repeat(cu[:-1], lengths)
    return torch.from_numpy(ids)[None], torch.from_numpy(positions)[None], torch.from_numpy(cu)


def layout(seqs: Sequence[Sequence[int]], min_prefix: int = MIN_SHARED_PREFIX):
    """(input_ids (1, T), position_ids (1, T), last rows (n,), spans) of one packed row: each shared prefix once,
    then its members' own tokens with positions continuing after the prefix; a text without one, end to end.
    ``spans``: (lo, hi, prefix_lo, prefix_hi) per laid-out span (a prefix's own span has prefix_hi == prefix_lo)."""
    ids: list[int] = []
    positions: list[int] = []
    last = [0] * len(seqs)
    spans: list[tuple[int, int, int, int]] = []
    for p, members in shared_prefix_groups(seqs, min_prefix):
        p_lo = len(ids)
        if p:
            ids.extend(seqs[members[0]][:p])
            positions.extend(range(p))
            spans.append((p_lo, p_lo + p, p_lo, p_lo))
        for m in members:
            lo = len(ids)
            ids.extend(seqs[m][p:])
            positions.extend(range(p, len(seqs[m])))
            spans.append((lo, len(ids), p_lo, p_lo + p))
            last[m] = len(ids) - 1
    return (torch.tensor(ids, dtype=torch.long)[None], torch.tensor(positions, dtype=torch.long)[None],
            torch.tensor(last, dtype=torch.long), spans)


def packed_mask(spans: Sequence[tuple[int, int, int, int]], total: int) -> torch.Tensor:
    """(1, 1, T, T) booleans, True = may attend: each span causally to itself and to all of its shared prefix."""
    span_of = torch.empty(total, dtype=torch.long)  # which span a token is in
    prefix_of = torch.full((total,), -1, dtype=torch.long)  # the span of the prefix a token's span sees (-1: none)
    starts = {}
    for k, (lo, hi, p_lo, p_hi) in enumerate(spans):
        starts[lo] = k
        span_of[lo:hi] = k
        if p_hi > p_lo:
            prefix_of[lo:hi] = starts[p_lo]
    pos = torch.arange(total)
    own = (span_of[:, None] == span_of[None, :]) & (pos[None, :] <= pos[:, None])
    return (own | (prefix_of[:, None] == span_of[None, :]))[None, None]


def packed_logits(model, seqs: Sequence[Sequence[int]], device, attn_implementation: str | None,
                  min_prefix: int = MIN_SHARED_PREFIX) -> torch.Tensor:
    """Score-head outputs (n, num_labels) at each text's last token, from one packed forward pass (shared prefixes
    computed once where the attention implementation takes a 4-D mask; ``min_prefix=0`` shares none)."""
    if attn_implementation not in MASKABLE:
        min_prefix = 0
    input_ids, position_ids, last_rows, spans = layout(seqs, min_prefix)
    mask = None  # flash-attention: the restarting position ids alone separate the texts
    if attn_implementation in MASKABLE:
        # built here rather than by transformers from the position ids: the same mask, made in a few vector ops
        mask = packed_mask(spans, input_ids.shape[1]).to(device)
        if attn_implementation == "eager":  # eager adds the mask to the attention scores
            dtype = model.score.weight.dtype
            mask = torch.zeros(mask.shape, dtype=dtype, device=device).masked_fill_(~mask, torch.finfo(dtype).min)
    with torch.inference_mode():
        hidden = model.base_model(input_ids=input_ids.to(device), position_ids=position_ids.to(device),
                                  attention_mask=mask, use_cache=False).last_hidden_state
        return model.score(hidden[0, last_rows.to(hidden.device)])
