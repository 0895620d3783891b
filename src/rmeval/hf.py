"""Loading helpers shared by every HF-backed RM family and by ``rmeval.llm.hf_local``: device and dtype choice, the
``from_pretrained`` source kwargs (a local folder never touches the hub), the refusal of custom code that the YAML
does not trust, and the big-model knobs (``device_map`` with per-device ``max_memory``, ``attn_implementation``,
8-/4-bit loading through bitsandbytes).

Placement: without ``device_map`` the model is moved to ``device`` as a whole. With one (``auto``, ``balanced``,
``sequential`` or an explicit {module: device} mapping) accelerate places the layers and moves activations between
devices; the inputs go to the device of the input embeddings. The token budget is per device: each device in a
``device_map`` split still holds the activations of the whole batch for its layers, so a split does not raise it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rmeval.errors import RmevalError

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2")
QUANTIZATIONS = ("8bit", "4bit")
DEVICE_MAP_STRATEGIES = ("auto", "balanced", "balanced_low_0", "sequential")


class RMLoadError(RmevalError, RuntimeError):
    """A model that cannot be loaded; the message says which YAML and how to fix it."""


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def pick_dtype(dtype: str, device: str) -> torch.dtype:
    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    if dtype not in DTYPES:
        raise RMLoadError(f"field 'dtype': {dtype!r} is not one of auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def default_token_budget(device: str) -> int:
    """Padded tokens per batch (per device) when the YAML gives none: small batches stay in CPU caches (measured:
    4,096 beat 16,384 by 20% for a MiniLM-sized model on 2 cores); a GPU wants large ones."""
    return 65536 if device.startswith("cuda") else 4096


def hf_source_kwargs(ident: str, revision: str | None, trust_remote_code: bool | None, gguf_file: str | None = None) -> dict:
    """from_pretrained kwargs: a local folder never touches the hub; a hub id gets its revision."""
    local = Path(ident).exists()
    kwargs = {"trust_remote_code": bool(trust_remote_code), "local_files_only": local}
    if revision and not local:
        kwargs["revision"] = revision
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    return kwargs


def unpinned_revision(ident: str | None, revision: str | None) -> dict:
    """``{"revision_warning": ...}`` for a hub id without a pinned revision (the hub's head can change under the
    same name), else ``{}``; families put it in their fingerprint, so it lands in every result's provenance."""
    if not ident or revision or Path(ident).exists() or ident.startswith(("resources/", "package:", "/", ".")):
        return {}
    return {"revision_warning": f"{ident} is not pinned (revision: null): numbers follow whatever the hub serves; "
                                "set revision to a commit sha for reproducible results"}


def refuse_custom_code(ident: str, auto_class: str, trust_remote_code: bool | None, who: str, where: str,
                       revision: str | None = None, gguf_file: str | None = None) -> None:
    """Refuse a checkpoint whose config maps ``auto_class`` to custom code unless the YAML trusts it.

    Left alone, transformers loads the built-in class for the model_type instead and silently drops what the custom
    code adds (ArmoRM-style heads, custom layers), giving meaningless outputs. A GGUF file carries no code.
    """
    if trust_remote_code or gguf_file:
        return
    from transformers import PretrainedConfig

    kwargs = hf_source_kwargs(ident, revision, False)
    kwargs.pop("trust_remote_code")
    config_dict, _ = PretrainedConfig.get_config_dict(ident, **kwargs)
    auto_map = config_dict.get("auto_map") or {}
    if auto_class in auto_map:
        raise RMLoadError(f"{who}: {ident} maps {auto_class} to custom code ({auto_map[auto_class]}); "
                          + custom_code_fix(where, trust_remote_code))


def custom_code_fix(where: str, trust_remote_code: bool | None) -> str:
    """What to do about a checkpoint's custom code; ``trust_remote_code`` None: the loader has no such setting."""
    if trust_remote_code is None:
        return f"this backend runs no custom code: set model in {where} to a checkpoint without it"
    return f"set trust_remote_code: true in {where} only if you trust that code"


def load_error(who: str, where: str, what: str, ident: str, err: Exception, trust_remote_code: bool | None,
               hint: str | None = None) -> RMLoadError:
    """One-line error for a failed ``from_pretrained``: custom code the YAML does not trust, or the cause and a fix."""
    text = str(err).strip()
    if "trust_remote_code" in text and not trust_remote_code:
        return RMLoadError(f"{who}: {ident} needs custom code from its repository; " + custom_code_fix(where, trust_remote_code))
    first = text.splitlines()[0] if text else ""
    hint = hint or f"give a local folder in {where} when the hub is unreachable"
    return RMLoadError(f"{who}: cannot load {what} {ident!r} ({type(err).__name__}: {first}); {hint}")


def weights_digest(model_id: str | None) -> str | None:
    """Hash of a local model's weight files, so a changed checkpoint changes the cache key. Small files are hashed
    whole; past 64 MiB in all, names and sizes stand in (hashing gigabytes per job would cost more than it saves)."""
    if not model_id:
        return None
    path = Path(model_id)
    if not path.is_dir():
        return None
    files = sorted(p for p in path.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf"))
    digest = hashlib.sha256()
    whole = sum(p.stat().st_size for p in files) <= 64 << 20
    for p in files:
        digest.update(f"{p.name}:{p.stat().st_size}".encode())
        if whole:
            digest.update(p.read_bytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------------- placement
def _device_key(key: Any) -> Any:
    """YAML keys of max_memory / device_map values: "0" means GPU 0; "cpu" and "disk" stay names."""
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return key


@dataclass
class Placement:
    """Where and how a model's weights live; built from a YAML's knobs by ``Placement.build``."""

    device: str
    dtype: torch.dtype
    device_map: str | dict | None = None
    max_memory: dict | None = None
    attn_implementation: str | None = "sdpa"
    quantization: str | None = None
    offload_folder: str | None = None

    @classmethod
    def build(cls, who: str, device: str = "auto", dtype: str = "auto", device_map: Any = None, max_memory: Any = None,
              attn_implementation: str | None = "sdpa", quantization: str | None = None,
              offload_folder: str | None = None) -> Placement:
        dev = pick_device(device)
        try:
            torch_dtype = pick_dtype(dtype, dev)
        except RMLoadError as err:
            raise RMLoadError(f"{who}: {err}") from None
        if attn_implementation is not None and attn_implementation not in ATTN_IMPLEMENTATIONS:
            raise RMLoadError(f"{who}: field 'attn_implementation': expected one of {', '.join(ATTN_IMPLEMENTATIONS)} "
                              f"or null, got {attn_implementation!r}")
        if attn_implementation == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
            raise RMLoadError(f"{who}: field 'attn_implementation': flash_attention_2 needs the flash-attn package "
                              "(pip install flash-attn on a CUDA machine); use sdpa otherwise")
        if quantization is not None:
            if quantization not in QUANTIZATIONS:
                raise RMLoadError(f"{who}: field 'quantization': expected 8bit, 4bit or null, got {quantization!r}")
            if importlib.util.find_spec("bitsandbytes") is None:
                raise RMLoadError(f"{who}: field 'quantization': {quantization} loading needs the bitsandbytes package "
                                  "(pip install bitsandbytes on a CUDA machine)")
            device_map = device_map or "auto"  # bitsandbytes places the quantised weights itself
        if isinstance(device_map, str) and device_map not in DEVICE_MAP_STRATEGIES:
            raise RMLoadError(f"{who}: field 'device_map': expected one of {', '.join(DEVICE_MAP_STRATEGIES)} or a "
                              f"{{module: device}} mapping, got {device_map!r}")
        if isinstance(device_map, dict):
            device_map = {str(k): _device_key(v) for k, v in device_map.items()}
            if "disk" in device_map.values() and not offload_folder:
                raise RMLoadError(f"{who}: field 'offload_folder': a device_map that puts modules on disk needs a folder")
        if max_memory is not None:
            if device_map is None:
                raise RMLoadError(f"{who}: field 'max_memory': only used with a device_map (set device_map: auto)")
            max_memory = {_device_key(k): v for k, v in dict(max_memory).items()}
        return cls(dev, torch_dtype, device_map, max_memory, attn_implementation, quantization, offload_folder)

    def from_pretrained_kwargs(self) -> dict:
        kwargs: dict[str, Any] = {"dtype": self.dtype}
        if self.attn_implementation:
            kwargs["attn_implementation"] = self.attn_implementation
        if self.device_map is not None:
            kwargs["device_map"] = self.device_map
        if self.max_memory is not None:
            kwargs["max_memory"] = self.max_memory
        if self.offload_folder:
            kwargs["offload_folder"] = self.offload_folder
        if self.quantization:
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = (
                BitsAndBytesConfig(load_in_8bit=True) if self.quantization == "8bit"
                else BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=self.dtype)
            )
        return kwargs

    def place(self, model):
        """The loaded model on its device(s), in eval mode."""
        if self.device_map is None:
            model = model.to(self.device)
        return model.eval()

    def input_device(self, model) -> torch.device:
        """Where the input ids go: the device of the input embeddings (a CPU stand-in for offloaded ones)."""
        if self.device_map is None:
            return torch.device(self.device)
        placed = getattr(model, "hf_device_map", None) or {}
        first = next(iter(placed.values()), self.device)
        if isinstance(first, int):
            return torch.device(f"cuda:{first}")
        return torch.device("cpu" if first in ("disk", "meta") else first)

    def fingerprint(self) -> dict:
        """What changes numbers: dtype and quantisation (placement does not, within float tolerance)."""
        return {"dtype": str(self.dtype).replace("torch.", ""), "quantization": self.quantization,
                "attn_implementation": self.attn_implementation}

    def budget_device(self) -> str:
        if self.device_map is not None and torch.cuda.is_available():
            return "cuda"
        return self.device


def init_runtime(rm, device: str, dtype: str, trust_remote_code: bool, token_budget: int | None, max_batch_size: int,
                 **placement: Any) -> None:
    """Placement, remote-code flag and batching knobs shared by the HF-backed RM families."""
    rm.placement = Placement.build(f"rm {rm.name}", device, dtype, **placement)
    rm.device, rm.dtype = rm.placement.device, rm.placement.dtype
    rm.trust_remote_code = bool(trust_remote_code)
    rm.token_budget = int(token_budget) if token_budget else default_token_budget(rm.placement.budget_device())
    rm.max_batch_size = int(max_batch_size)


def load_pretrained(auto_cls, ident: str, *, who: str, where: str, what: str, placement: Placement,
                    trust_remote_code: bool | None, revision: str | None = None, gguf_file: str | None = None,
                    auto_class: str | None = None, hint: str | None = None, **extra: Any):
    """``auto_cls.from_pretrained`` with the source kwargs, the custom-code refusal and the placement knobs; every
    failure becomes one ``RMLoadError`` line naming the YAML (``trust_remote_code`` None: a loader without that
    setting, see ``custom_code_fix``)."""
    try:
        refuse_custom_code(ident, auto_class or auto_cls.__name__, trust_remote_code, who, where, revision, gguf_file)
        source = hf_source_kwargs(ident, revision, trust_remote_code, gguf_file)
        kwargs = placement.from_pretrained_kwargs()
        try:
            model = auto_cls.from_pretrained(ident, **kwargs, **source, **extra)
        except ValueError as err:
            # sdpa is the default, not a demand: an architecture without it (custom code, older models) keeps its own.
            if kwargs.get("attn_implementation") != "sdpa" or "scaled_dot_product_attention" not in str(err):
                raise
            log.warning("%s: %s does not support sdpa attention; loading it with its default implementation", who, ident)
            kwargs.pop("attn_implementation")
            model = auto_cls.from_pretrained(ident, **kwargs, **source, **extra)
    except RMLoadError:
        raise
    except Exception as err:
        raise load_error(who, where, what, ident, err, trust_remote_code, hint) from None
    return placement.place(model)
