"""rmeval's own forward pass for Llama-family sequence classifiers (Llama, Mistral, Qwen2) scored on the CPU in
float32: the same arithmetic as transformers' classes, without importing transformers' modeling code.

Why: on the CPU a scoring job's fixed cost is mostly imports. Loading a classifier through transformers imports its
auto classes, the model family, the mask utilities and, through them, ``torch._dynamo``, ``torch.distributed``
and ``scipy.optimize``: about two seconds on the project's 2-core machine, on the job's critical path (the texts are
tokenised by then). ``NativeDecoderClassifier`` reads ``config.json`` and the safetensors weights directly and runs
the packed forward of ``rmeval.rms.packed`` (shared prompt prefixes once, the last layer at scored rows only, attention
on rmeval's CPU kernel, oneDNN linear layers with pre-packed weights). It lives in ``rmeval.rms._native_decoder_model``
(torch); this module (``why_not``, the backend switch) needs no torch, so the registry scan stays cheap.

What it covers, checked before anything is loaded (``why_not``): ``model_type`` llama, mistral or qwen2 with a
``*ForSequenceClassification`` architecture, SiLU gated MLP, default rotary embeddings (no scaling), no sliding
window, untied score head; local safetensors weights with exactly the expected tensor names (biases where the
checkpoint has them). Anything else, and every GPU, bf16 or quantised load, goes through transformers as before.
Scores equal transformers' to float32 rounding (tested at 1e-5 for each family).
"""

from __future__ import annotations

import json
from pathlib import Path

from rmeval.switch import Switch

FAMILIES = ("llama", "mistral", "qwen2")
BACKENDS = ("rmeval", "transformers")
_switch = Switch("cpu_model", BACKENDS)
set_backend = _switch.set  # one of BACKENDS (the first is the default) for what runs after the call, process-wide
backend = _switch.get


def weight_files(folder: Path) -> list[Path] | None:
    """The checkpoint's safetensors files (sharded or single); None when it has none."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [folder / n for n in names]
    single = folder / "model.safetensors"
    return [single] if single.is_file() else None


def rope(config: dict) -> tuple[float, str]:
    """(theta, rope type) from a ``config.json`` (transformers' old and new key layouts)."""
    params = config.get("rope_parameters") or config.get("rope_scaling") or {}
    theta = params.get("rope_theta", config.get("rope_theta", 10000.0))
    kind = params.get("rope_type", params.get("type", "default"))
    return float(theta), str(kind)


def why_not(model: str) -> str | None:
    """Why ``model`` (a local folder) cannot run on this module (None when it can)."""
    folder = Path(model)
    if not folder.is_dir():
        return "not a local folder"
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"config.json unreadable ({err})"
    kind = config.get("model_type")
    if kind not in FAMILIES:
        return f"model_type {kind!r} is not one of {', '.join(FAMILIES)}"
    archs = config.get("architectures") or []
    if len(archs) != 1 or not archs[0].endswith("ForSequenceClassification"):
        return f"architectures {archs!r}: not a sequence classifier"
    if config.get("auto_map"):
        return "custom code (auto_map)"
    if config.get("hidden_act", "silu") != "silu":
        return f"hidden_act {config.get('hidden_act')!r}"
    rope_type = rope(config)[1]
    if rope_type != "default":
        return f"rope type {rope_type!r}"
    if config.get("sliding_window") and config.get("use_sliding_window", True):
        return "sliding window attention"
    if any(t != "full_attention" for t in config.get("layer_types") or []):
        return "layer types other than full attention"
    if config.get("pretraining_tp", 1) != 1 or config.get("quantization_config"):
        return "tensor-parallel or quantised checkpoint"
    if weight_files(folder) is None:
        return "no safetensors weights"
    return None
