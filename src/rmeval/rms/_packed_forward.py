"""The torch half of ``rmeval.rms.packed``: the packed forward pass (attention per text segment, the last layer at
scored rows only). See ``rmeval.rms.packed`` for what packing does and which models take it."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from rmeval.rms.packed import MIN_SHARED_PREFIX, shared_prefix_groups

ATTN_NAME = "rmeval_packed"  # the registered attention function (and its no-op mask builder)
LAST_ROWS_FLAG = "_rmeval_last_rows_only"  # set on the last layer's attention module during a packed forward
_registered = False


def packed_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, rmeval_segments=None,
                     **kwargs):
    """Attention over the texts packed in one row: (1, heads, T, dim) in, (1, T, heads, dim) out.

    ``rmeval_segments`` (set by ``packed_logits`` only) is the row's ``PackedRow``: its ``Segment``s say that queries
    ``lo:hi`` attend to the keys of a shared prefix ``p_lo:p_hi`` (all of it) and causally to their own span. On the
    CPU in float32 with one thread per batch, rmeval's kernel (``rmeval.cpu_kernels``) does every segment in one
    call; otherwise each segment goes through ``scaled_dot_product_attention``.
    """
    if rmeval_segments is None:  # an ordinary forward of an installed model: its own implementation, its own mask
        return _own_attention(module)(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)
    row: PackedRow = rmeval_segments
    causal = bool(getattr(module, "is_causal", True))
    last_only = getattr(module, LAST_ROWS_FLAG, False) and _context.rows is not None
    return segment_attention(query, key, value, row, scaling, causal, last_only), None


def segment_attention(query, key, value, row: PackedRow, scaling: float | None, causal: bool, last_only: bool) -> torch.Tensor:
    """(1, T, heads, dim) attention of every segment of a packed row, from (1, heads, T, dim) queries and (1, kv_heads,
    T, dim) keys and values; ``last_only``: only each text's last query row (the others stay zero)."""
    from rmeval import cpu_kernels

    b, heads, t, dim = query.shape
    scale = scaling if scaling is not None else dim ** -0.5
    if cpu_kernels.usable(query):
        out = query.new_zeros((b, t, heads, dim)) if last_only else query.new_empty((b, t, heads, dim))
        return cpu_kernels.attention(query, key, value, row.table(last_only), scale, causal, out)
    n_rep = heads // key.shape[1]
    if n_rep > 1:  # grouped-query attention: one key/value head serves n_rep query heads
        key = key.repeat_interleave(n_rep, dim=1)
        value = value.repeat_interleave(n_rep, dim=1)
    out = torch.zeros_like(query) if last_only else torch.empty_like(query)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    for seg in row.segments:
        lo, hi, p_lo, p_hi = seg.lo, seg.hi, seg.p_lo, seg.p_hi
        if last_only and not seg.has_last:
            continue  # a shared prefix holds no text's last token: nothing of it is read after the last layer
        if p_hi > p_lo:
            k = torch.cat((key[:, :, p_lo:p_hi], key[:, :, lo:hi]), dim=2)
            v = torch.cat((value[:, :, p_lo:p_hi], value[:, :, lo:hi]), dim=2)
        else:
            k, v = key[:, :, lo:hi], value[:, :, lo:hi]
        if last_only:  # the last position sees the whole prefix and its own span: no mask needed
            out[:, :, hi - 1: hi] = sdpa(query[:, :, hi - 1: hi], k, v, scale=scale)
        elif p_hi > p_lo:
            out[:, :, lo:hi] = sdpa(query[:, :, lo:hi], k, v, attn_mask=seg.mask(), scale=scale)
        else:
            out[:, :, lo:hi] = sdpa(query[:, :, lo:hi], k, v, is_causal=causal, scale=scale)
    return out.transpose(1, 2).contiguous()


class PackedRow:
    """The segments of one packed row, and the same as the kernel's (n, 5) tables: every query row, or (for the
    last layer) each text's last row only."""

    __slots__ = ("segments", "_tables")

    def __init__(self, segments: list):
        self.segments = segments
        self._tables: dict[bool, torch.Tensor] = {}

    def table(self, last_only: bool) -> torch.Tensor:
        if last_only not in self._tables:
            rows = [(s.lo, s.hi, s.p_lo, s.p_hi, s.hi - 1 if last_only else s.lo) for s in self.segments
                    if s.has_last or not last_only]
            self._tables[last_only] = torch.tensor(rows, dtype=torch.int64).reshape(-1, 5)
        return self._tables[last_only]


class Segment:
    """One span of a packed row: its queries ``lo:hi`` attend to the prefix ``p_lo:p_hi`` and causally to themselves.
    ``has_last``: the span ends a text (its last row is scored)."""

    __slots__ = ("lo", "hi", "p_lo", "p_hi", "has_last", "_mask")

    def __init__(self, lo: int, hi: int, p_lo: int = 0, p_hi: int = 0, has_last: bool = True):
        self.lo, self.hi, self.p_lo, self.p_hi, self.has_last = lo, hi, p_lo, p_hi, has_last
        self._mask = None

    def mask(self) -> torch.Tensor:
        """(span, prefix + span) booleans, True = may attend: all of the prefix, then the causal triangle."""
        if self._mask is None:
            n, p = self.hi - self.lo, self.p_hi - self.p_lo
            mask = torch.ones(n, p + n, dtype=torch.bool)
            mask[:, p:] = torch.ones(n, n, dtype=torch.bool).tril_()
            self._mask = mask
        return self._mask


class _Context(threading.local):
    rows: torch.Tensor | None = None  # this thread's packed forward: the rows whose scores are read


_context = _Context()


class _RowsOnly(torch.nn.Module):
    """A position-wise module (an MLP, a projection) of the last layer, applied during a packed forward only to the
    rows the calling thread's batch reads (the other rows of its output are zero); outside a packed forward it is
    the module itself. Installed once at load, so concurrent batches on several threads share the model."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = _context.rows
        if rows is None:
            return self.inner(x)
        y = self.inner(x[:, rows])
        out = y.new_zeros((*x.shape[:-1], y.shape[-1]))
        out[:, rows] = y
        return out


SAVED_ATTN = "_rmeval_own_attn_implementation"  # on an installed model's configs: the implementation it had


def _no_mask(*args, config=None, **kwargs):
    """No mask in a packed forward (the segments separate the texts; causality is the kernel's); in any other
    forward of an installed model, the mask its own implementation builds."""
    if _context.rows is not None:
        return None
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS

    own = getattr(config, SAVED_ATTN, None) or "sdpa"
    return ALL_MASK_ATTENTION_FUNCTIONS[own](*args, config=config, **kwargs)


def _own_attention(module):
    """The attention function of the implementation the model had before ``install``."""
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    own = getattr(module.config, SAVED_ATTN, None) or "sdpa"
    if own in ALL_ATTENTION_FUNCTIONS:
        return ALL_ATTENTION_FUNCTIONS[own]
    import sys

    return sys.modules[type(module).__module__].eager_attention_forward  # "eager": the modeling file's own


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


def layout(seqs: Sequence[Sequence[int]], min_prefix: int = MIN_SHARED_PREFIX):
    """(input_ids (1, T), position_ids (1, T), last rows (n,), segments) of one packed row: each shared prefix once,
    then its members' own tokens with positions continuing after the prefix; a text without one, end to end."""
    ids: list[int] = []
    positions: list[int] = []
    last = [0] * len(seqs)
    segments: list[Segment] = []
    for p, members in shared_prefix_groups(seqs, min_prefix):
        p_lo = len(ids)
        if p:
            ids.extend(seqs[members[0]][:p])
            positions.extend(range(p))
            segments.append(Segment(p_lo, p_lo + p, has_last=False))
        for m in members:
            lo = len(ids)
            ids.extend(seqs[m][p:])
            positions.extend(range(p, len(seqs[m])))
            segments.append(Segment(lo, len(ids), p_lo, p_lo + p))
            last[m] = len(ids) - 1
    return (torch.tensor(ids, dtype=torch.long)[None], torch.tensor(positions, dtype=torch.long)[None],
            torch.tensor(last, dtype=torch.long), segments)


def pack(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids (1, T), position_ids (1, T), cu_seq_lens (n+1,)) for texts laid end to end."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    cu = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=cu[1:])
    ids = np.fromiter((t for s in seqs for t in s), dtype=np.int64, count=int(cu[-1]))
    positions = np.arange(int(cu[-1]), dtype=np.int64) - np.repeat(cu[:-1], lengths)
    return torch.from_numpy(ids)[None], torch.from_numpy(positions)[None], torch.from_numpy(cu)


def install(model) -> None:
    """Prepare a loaded classifier for packed forward passes, once: attention through ``packed_attention`` and the
    last layer's queries, output projection and MLP only at scored rows. Nothing changes per batch afterwards, so
    several threads may run ``packed_logits`` on the same model at once; outside a packed forward the model behaves
    as before (its own attention implementation and mask, every row computed)."""
    text_config = model.config.get_text_config()
    if getattr(text_config, SAVED_ATTN, None) is not None:
        return
    register()
    base = getattr(model, model.base_model_prefix)
    own = model.config._attn_implementation
    for c in {id(c): c for c in (model.config, text_config, base.config)}.values():
        setattr(c, SAVED_ATTN, getattr(c, "_attn_implementation", None) or own)
        c._attn_implementation = ATTN_NAME
    last = _last_layer(base, text_config)
    if last is not None:
        setattr(last.self_attn, LAST_ROWS_FLAG, True)
        for owner, name in [(last, "mlp")] + [(last.self_attn, n) for n in ("q_proj", "o_proj")
                                               if isinstance(getattr(last.self_attn, n, None), torch.nn.Module)]:
            setattr(owner, name, _RowsOnly(getattr(owner, name)))


def packed_logits(model, seqs: Sequence[Sequence[int]], device: str, min_prefix: int = MIN_SHARED_PREFIX) -> torch.Tensor:
    """Score-head outputs (n, num_labels) at each text's last token, from one packed forward pass (shared prefixes
    computed once; ``min_prefix=0`` lays every text out on its own). Safe to call from several threads at once."""
    install(model)
    input_ids, position_ids, last_rows, segments = layout(seqs, min_prefix)
    last_rows = last_rows.to(device)
    base = getattr(model, model.base_model_prefix)
    _context.rows = last_rows
    try:
        with torch.inference_mode():
            hidden = base(input_ids=input_ids.to(device), position_ids=position_ids.to(device), use_cache=False,
                          rmeval_segments=PackedRow(segments)).last_hidden_state
            return model.score(hidden[0, last_rows])
    finally:
        _context.rows = None


def _last_layer(base, text_config):
    """The last decoder layer when it has the usual ``self_attn`` + ``mlp`` shape (else None: no last-row saving)."""
    layers = getattr(base, "layers", None)
    n = getattr(text_config, "num_hidden_layers", None)
    if not isinstance(layers, torch.nn.ModuleList) or not n or len(layers) < n:
        return None
    layer = layers[n - 1]
    ok = isinstance(getattr(layer, "mlp", None), torch.nn.Module) and isinstance(getattr(layer, "self_attn", None), torch.nn.Module)
    return layer if ok else None
