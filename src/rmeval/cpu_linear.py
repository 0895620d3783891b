"""Linear layers through oneDNN with pre-packed weights, for models that score on the CPU in float32.

Why: for the matrix shapes of a scoring forward pass (thousands of token rows against a few hundred to a few
thousand features) PyTorch's default CPU matmul is MKL's sgemm, which re-lays-out the weight on every call. oneDNN
(bundled with every PyTorch CPU build) can take the weight once, in its own blocked layout, and then multiplies
at a higher rate: 1.25-1.50x per projection on this project's 2-core test machine
(``python benchmarks/cpu_linear.py`` prints the ratio for each shape), 1.24x on a whole MiniLM-sized scoring loop
(40.0 s -> 32.2 s). The arithmetic is the same float32 multiply-add; only the summation order differs, so outputs
agree with ``torch.nn.Linear`` to float32 rounding (tested at 1e-5).

What is swapped: plain ``torch.nn.Linear`` modules of the loaded backbone whose weight is not shared with another
parameter (tied embeddings stay as they are) and is not tiny. Heads, quantised models, models spread over devices,
GPU models and non-float32 models are left alone. ``scoring.cpu_linear: torch`` turns it off for a run.
"""

from __future__ import annotations

import logging

import torch

from rmeval.switch import Switch

log = logging.getLogger(__name__)

BACKENDS = ("onednn", "torch")
_switch = Switch("cpu_linear", BACKENDS)
set_backend = _switch.set  # one of BACKENDS (the first is the default) for what runs after the call, process-wide
backend = _switch.get
MIN_WEIGHT_ELEMENTS = 4096  # smaller layers (score heads, 1-8 outputs) gain nothing
ROWS_HINT = 4096  # the rows oneDNN picks the weight layout for (a token-budget batch); any row count works



def available() -> bool:
    return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.mkldnn, "_linear_pointwise")


class PackedLinear(torch.nn.Module):
    """``y = x W^T + b`` with W held in oneDNN's blocked layout (inference only)."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = linear.weight.detach()
        self.register_buffer("packed_weight", torch.ops.mkldnn._reorder_linear_weight(weight, ROWS_HINT), persistent=False)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone(), persistent=False)
        self._dtype = weight.dtype

    @property
    def weight(self) -> torch.Tensor:  # code that asks a projection for its dtype or device still gets an answer
        return self.packed_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed_weight, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, oneDNN"


# Gated MLPs written exactly as ``down(silu(gate(x)) * up(x))`` (transformers' Llama, Mistral, Qwen2/3 classes)
GATED_SILU_MLPS = ("LlamaMLP", "MistralMLP", "Qwen2MLP", "Qwen3MLP", "_GatedMLP")  # _GatedMLP: rmeval.rms._native_decoder_model


class PackedGatedMLP(torch.nn.Module):
    """``down(silu(gate(x)) * up(x))`` with the product fused into the up projection (oneDNN's binary post-op):
    one pass over the intermediate activations fewer, the same arithmetic."""

    def __init__(self, mlp: torch.nn.Module):
        super().__init__()
        self.gate, self.up, self.down = PackedLinear(mlp.gate_proj), PackedLinear(mlp.up_proj), PackedLinear(mlp.down_proj)
        self.act_fn = mlp.act_fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gated = torch.nn.functional.silu(self.gate(x), inplace=True)  # in place: no second activation-sized buffer
        product = torch.ops.mkldnn._linear_pointwise.binary(x, gated, self.up.packed_weight, None, "mul")
        return self.down(product)


def _gated_silu_mlp(module: torch.nn.Module, eligible) -> bool:
    if type(module).__name__ not in GATED_SILU_MLPS:
        return False
    act = getattr(module, "act_fn", None)
    if not (isinstance(act, torch.nn.SiLU) or type(act).__name__ == "SiLUActivation"):
        return False
    parts = [getattr(module, n, None) for n in ("gate_proj", "up_proj", "down_proj")]
    return all(type(p) is torch.nn.Linear and p.bias is None and eligible(p) for p in parts)


def pack_linears(module: torch.nn.Module, root: torch.nn.Module | None = None) -> int:
    """Swap the eligible ``nn.Linear`` children of ``module`` (recursively) for ``PackedLinear``; returns how many.
    ``root`` (default ``module``) is the whole model, searched for weights shared with other parameters."""
    root = root if root is not None else module
    owners: dict[int, int] = {}
    for _, p in root.named_parameters(remove_duplicate=False):  # tied weights appear once per owner
        owners[p.data_ptr()] = owners.get(p.data_ptr(), 0) + 1

    def eligible(linear: torch.nn.Linear) -> bool:
        w = linear.weight
        return w.device.type == "cpu" and w.dtype == torch.float32 and w.numel() >= MIN_WEIGHT_ELEMENTS and owners.get(w.data_ptr(), 0) <= 1

    def pick(child: torch.nn.Module):
        if _gated_silu_mlp(child, eligible):
            return PackedGatedMLP(child), 3
        if type(child) is torch.nn.Linear and eligible(child):
            return PackedLinear(child), 1
        return None

    return replace_children(module, pick)


def replace_children(module: torch.nn.Module, pick) -> int:
    """Swap, recursively, each child for which ``pick(child)`` gives ``(replacement, count)`` (None: look inside it
    instead); returns the summed counts."""
    n = 0
    for name, child in list(module.named_children()):
        swap = pick(child)
        if swap is None:
            n += replace_children(child, pick)
        else:
            setattr(module, name, swap[0])
            n += swap[1]
    return n


def maybe_pack(model: torch.nn.Module, who: str, *, device: str, device_map=None, quantization=None) -> int:
    """Pack the backbone's linear layers when the model runs on the CPU in float32 and the backend is onednn."""
    if _switch.value != "onednn" or str(device) != "cpu" or device_map is not None or quantization:
        return 0
    if not available():
        log.info("%s: oneDNN is not available in this PyTorch build; linear layers stay on torch's matmul", who)
        return 0
    if next(model.parameters()).dtype != torch.float32:
        return 0
    prefix = getattr(model, "base_model_prefix", "") or ""
    backbone = getattr(model, prefix, None) if prefix else None
    n = pack_linears(backbone if isinstance(backbone, torch.nn.Module) else model, root=model)
    if n:
        log.info("%s: %d linear layers on oneDNN with pre-packed weights (scoring.cpu_linear=torch turns this off)", who, n)
    return n
