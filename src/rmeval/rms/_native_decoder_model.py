"""The torch half of ``rmeval.rms.native_decoder``: the Llama-family classifier's forward pass on the CPU."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from rmeval.rms.native_decoder import rope, weight_files

_LAYER = ("input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.q_proj.weight",
          "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight", "mlp.gate_proj.weight",
          "mlp.up_proj.weight", "mlp.down_proj.weight")
_OPTIONAL = ("self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias", "self_attn.o_proj.bias",
             "mlp.gate_proj.bias", "mlp.up_proj.bias", "mlp.down_proj.bias")


class _Config:
    """The few config fields the classifier RM reads (transformers' config interface, in part)."""

    def __init__(self, raw: dict):
        self.model_type = raw["model_type"]
        self.num_labels = len(raw.get("id2label") or {}) or int(raw.get("num_labels", 2))
        self.vocab_size = int(raw["vocab_size"])
        self.pad_token_id = raw.get("pad_token_id")
        self.hidden_size = int(raw["hidden_size"])
        self.num_hidden_layers = int(raw["num_hidden_layers"])
        self.num_attention_heads = int(raw["num_attention_heads"])
        self.num_key_value_heads = int(raw.get("num_key_value_heads") or self.num_attention_heads)
        self.head_dim = int(raw.get("head_dim") or self.hidden_size // self.num_attention_heads)
        self.rms_norm_eps = float(raw.get("rms_norm_eps", 1e-6))
        self.rope_theta = rope(raw)[0]

    def get_text_config(self) -> _Config:
        return self


class _GatedMLP(torch.nn.Module):
    """``down(silu(gate(x)) * up(x))``: the layout ``rmeval.cpu_linear`` fuses (named in its GATED_SILU_MLPS)."""

    def __init__(self, gate: torch.nn.Linear, up: torch.nn.Linear, down: torch.nn.Linear):
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = gate, up, down
        self.act_fn = torch.nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class _Layer(torch.nn.Module):
    def __init__(self, w: dict[str, torch.Tensor]):
        super().__init__()
        self.ln1 = torch.nn.Parameter(w["input_layernorm.weight"], requires_grad=False)
        self.ln2 = torch.nn.Parameter(w["post_attention_layernorm.weight"], requires_grad=False)
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            setattr(self, name, _linear(w, f"self_attn.{name}"))
        self.mlp = _GatedMLP(*(_linear(w, f"mlp.{n}") for n in ("gate_proj", "up_proj", "down_proj")))


def _linear(w: dict[str, torch.Tensor], prefix: str) -> torch.nn.Linear:
    weight, bias = w[f"{prefix}.weight"], w.get(f"{prefix}.bias")
    lin = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device="meta")
    lin.weight = torch.nn.Parameter(weight, requires_grad=False)
    if bias is not None:
        lin.bias = torch.nn.Parameter(bias, requires_grad=False)
    return lin


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    from rmeval import cpu_kernels

    if cpu_kernels.usable(x) and x.numel():
        return cpu_kernels.rms_norm(x, weight, eps)
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))  # transformers' order of operations


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """(rows, heads, dim) rotated as transformers' ``apply_rotary_pos_emb`` does (halves, not interleaved)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos[:, None] + rotated * sin[:, None]


class NativeDecoderClassifier(torch.nn.Module):
    """A Llama-family sequence classifier that scores packed rows (``packed_logits``) and, for the padded path,
    right-padded batches (``forward``)."""

    def __init__(self, config: _Config, weights: dict[str, torch.Tensor]):
        super().__init__()
        self.config = config
        self.embed = torch.nn.Parameter(weights["model.embed_tokens.weight"], requires_grad=False)
        self.layers = torch.nn.ModuleList(
            _Layer({k[len(f"model.layers.{i}."):]: v for k, v in weights.items() if k.startswith(f"model.layers.{i}.")})
            for i in range(config.num_hidden_layers))
        self.norm = torch.nn.Parameter(weights["model.norm.weight"], requires_grad=False)
        self.score = torch.nn.Parameter(weights["score.weight"], requires_grad=False)
        dim = config.head_dim
        self.inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))

    @classmethod
    def load(cls, model: str, who: str) -> NativeDecoderClassifier:
        from safetensors.torch import load_file

        from rmeval.hf import RMLoadError

        folder = Path(model)
        config = _Config(json.loads((folder / "config.json").read_text(encoding="utf-8")))
        weights: dict[str, torch.Tensor] = {}
        for f in weight_files(folder):
            weights.update(load_file(str(f)))
        expected = {"model.embed_tokens.weight", "model.norm.weight", "score.weight"}
        expected |= {f"model.layers.{i}.{n}" for i in range(config.num_hidden_layers) for n in _LAYER}
        optional = {f"model.layers.{i}.{n}" for i in range(config.num_hidden_layers) for n in _OPTIONAL}
        missing, unexpected = expected - set(weights), set(weights) - expected - optional
        if missing or unexpected:
            what = f"missing {sorted(missing)[:3]}" if missing else f"unexpected {sorted(unexpected)[:3]}"
            raise RMLoadError(f"{who}: {model}: weights do not match a {config.model_type} classifier ({what})")
        weights = {k: v.float() for k, v in weights.items()}
        net = cls(config, weights).eval()
        from rmeval.cpu_linear import maybe_pack

        maybe_pack(net, who, device="cpu")
        return net

    # -------------------------------------------------------------------------------------------- forward
    def _cos_sin(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = positions[:, None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def packed_logits(self, seqs: Sequence[Sequence[int]], min_prefix: int) -> torch.Tensor:
        """Score-head outputs (n, num_labels) at each text's last token, from one packed row (``packed.layout``)."""
        from rmeval.rms import _packed_forward as packed

        c = self.config
        input_ids, position_ids, last_rows, segments = packed.layout(seqs, min_prefix)
        row = packed.PackedRow(segments)
        cos, sin = self._cos_sin(position_ids[0])
        t, h, hk, d = input_ids.shape[1], c.num_attention_heads, c.num_key_value_heads, c.head_dim
        with torch.inference_mode():
            x = self.embed[input_ids[0]]
            for i, layer in enumerate(self.layers):
                last = i == len(self.layers) - 1
                hs = _rms_norm(x, layer.ln1, c.rms_norm_eps)
                k = _rotate(layer.k_proj(hs).view(t, hk, d), cos, sin)
                v = layer.v_proj(hs).view(t, hk, d)
                if last:  # queries at the scored rows only; the kernel reads them at their own positions
                    q = x.new_zeros((t, h, d))
                    q[last_rows] = _rotate(layer.q_proj(hs[last_rows]).view(-1, h, d), cos[last_rows], sin[last_rows])
                else:
                    q = _rotate(layer.q_proj(hs).view(t, h, d), cos, sin)
                attn = packed.segment_attention(q.transpose(0, 1)[None], k.transpose(0, 1)[None], v.transpose(0, 1)[None],
                                                row, d ** -0.5, True, last)[0]
                if last:
                    x = x[last_rows] + layer.o_proj(attn[last_rows].reshape(-1, h * d))
                else:
                    x += layer.o_proj(attn.reshape(t, h * d))  # x is this forward's own residual stream
                x += layer.mlp(_rms_norm(x, layer.ln2, c.rms_norm_eps))
            return torch.nn.functional.linear(_rms_norm(x, self.norm, c.rms_norm_eps), self.score)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None):
        """Right-padded rows: the logits at each row's last real token (what the classifier's padded path reads)."""
        from types import SimpleNamespace

        lengths = attention_mask.sum(-1).tolist() if attention_mask is not None else [input_ids.shape[1]] * len(input_ids)
        seqs = [row[:n].tolist() for row, n in zip(input_ids, lengths)]
        return SimpleNamespace(logits=self.packed_logits(seqs, 0))
