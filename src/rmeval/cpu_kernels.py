"""rmeval's own CPU kernels (``csrc/cpu_kernels.c``) for float32 forward passes that run one thread per batch (the
scoring engine's CPU workers): attention of packed batches, and RMSNorm.

Attention. PyTorch's CPU flash-attention kernel computes the whole square of scores for sequences shorter than its key
block (512), causal or not, and a shared-prefix segment goes through its masked path with keys concatenated first.
The kernel here multiplies only the keys each block of 12 query rows can see (prefix, then causally its own span),
reads grouped-query key/value heads in place, and handles every segment and head of a packed row in one call with
the GIL released. Single-threaded, on this project's 2-core test machine (``python benchmarks/cpu_kernels.py``
prints the ratio per length), it takes about half the time of ``scaled_dot_product_attention(is_causal=True)`` at
the lengths RMB texts have. Scores agree with PyTorch's to float32 rounding (tested at 1e-5).

RMSNorm reads each row once and writes it once instead of five elementwise passes (``benchmarks/cpu_kernels.py``
prints both; PyTorch's time there depends on whether its temporaries page-fault), only where the calling thread is
single-threaded: a multi-threaded caller keeps PyTorch's parallel operations.

How it is built: on first use, with the system C compiler (``$CC``, else ``cc``) at ``-O3 -march=native``, into
``$RMEVAL_NATIVE_CACHE`` (default ``~/.cache/rmeval/native``), keyed by the source, the compiler and this CPU's
feature flags, so a cluster of mixed machines builds one library per kind of node. Building takes about half a
second and runs while texts are tokenised. Where no compiler works, the packed forward keeps PyTorch's kernel and
says so once in the log; ``scoring.cpu_kernels=torch`` chooses PyTorch's kernel outright.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

from rmeval.switch import Switch

log = logging.getLogger(__name__)

BACKENDS = ("native", "torch")
SOURCE = Path(__file__).with_name("csrc") / "cpu_kernels.c"
FLAGS = ["-O3", "-march=native", "-std=gnu11", "-shared", "-fPIC"]

_switch = Switch("cpu_kernels", BACKENDS)
set_backend = _switch.set  # one of BACKENDS (the first is the default) for what runs after the call, process-wide
backend = _switch.get
_lock = threading.Lock()
_lib = None  # the loaded kernels (a namespace of ctypes functions), False when they could not be built
_why_not: str | None = None


def cache_dir() -> Path:
    return Path(os.environ.get("RMEVAL_NATIVE_CACHE") or Path.home() / ".cache" / "rmeval" / "native")


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    return shutil.which(cc)


def _build() -> Path:
    """The kernel's shared library for this machine, compiled when the cache has none."""
    cc = _compiler()
    if cc is None:
        raise RuntimeError(f"no C compiler ({os.environ.get('CC') or 'cc'}) on PATH")
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256("\0".join([SOURCE.read_text(), version, " ".join(FLAGS), platform.machine(), _cpu_flags()]).encode()).hexdigest()[:20]
    target = cache_dir() / f"cpu_kernels-{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        proc = subprocess.run([cc, *FLAGS, "-o", str(out), str(SOURCE)], capture_output=True, text=True, timeout=300)
        if proc.returncode:
            first = (proc.stderr.strip().splitlines() or ["(no output)"])[0]
            raise RuntimeError(f"{cc} failed on {SOURCE.name}: {first}")
        os.replace(out, target)  # atomic: concurrent jobs building the same key never see half a file
    return target


def load() -> bool:
    """Build (first use on this machine) and load the kernel; False, with the reason logged once, when it cannot."""
    global _lib, _why_not
    if _lib is not None:
        return _lib is not False
    with _lock:
        if _lib is None:
            try:
                lib = ctypes.CDLL(str(_build()))
                P, L, I, F = ctypes.c_void_p, ctypes.c_long, ctypes.c_int, ctypes.c_float
                lib.rmeval_attention.argtypes = [P, L, L, P, L, L, P, L, L, P, L, L, I, I, I, F, I, P, L]
                lib.rmeval_attention.restype = I
                lib.rmeval_rms_norm.argtypes = [P, P, P, L, L, F]
                lib.rmeval_rms_norm.restype = None
                _lib = lib
            except Exception as err:  # noqa: BLE001  (any failure means: PyTorch's kernel instead)
                _lib, _why_not = False, f"{type(err).__name__}: {err}"
                log.info("cpu kernels: rmeval's are unavailable (%s); PyTorch's attention and RMSNorm are used", _why_not)
    return _lib is not False


def prepare(model: torch.nn.Module | None) -> None:
    """For a float32 CPU model about to score: build and load the kernels (first use on this machine; called from
    the model load, which runs while texts are tokenised) and put ``model``'s RMSNorms on them, unless
    ``scoring.cpu_kernels=torch``."""
    if _switch.value != "native":
        return
    load()
    if model is not None:
        swap_norms(model)


def unavailable_reason() -> str | None:
    return _why_not


def usable(x: torch.Tensor) -> bool:
    """Whether an operation on ``x`` runs on rmeval's kernels: backend native, float32 on the CPU, the calling
    thread single-threaded (the scoring engine's CPU workers), and the kernels built."""
    return (_switch.value == "native" and x.device.type == "cpu" and x.dtype == torch.float32
            and torch.get_num_threads() == 1 and load())


def _strides(x: torch.Tensor) -> torch.Tensor:
    """(1, heads, T, D) with the head dimension contiguous (a view of a (1, T, heads, D) projection is)."""
    return x if x.stride(-1) == 1 else x.contiguous()


def attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, table: torch.Tensor, scale: float,
              causal: bool, out: torch.Tensor) -> torch.Tensor:
    """Fill ``out`` (1, T, heads, D), contiguous) with the attention of every segment of ``table`` (n, 5) int64
    rows (lo, hi, p_lo, p_hi, q_from): queries q_from:hi attend to keys p_lo:p_hi and to lo:hi (causally when
    ``causal``). ``query`` (1, heads, T, D), ``key``/``value`` (1, kv_heads, T, D), float32 on the CPU."""
    query, key, value = _strides(query), _strides(key), _strides(value)
    heads, kv_heads, dim = query.shape[1], key.shape[1], query.shape[-1]
    if heads % kv_heads:
        raise ValueError(f"cpu attention: {heads} query heads do not share {kv_heads} key/value heads evenly")
    table = table.contiguous()
    rc = _lib.rmeval_attention(query.data_ptr(), query.stride(2), query.stride(1), key.data_ptr(), key.stride(2), key.stride(1),
              value.data_ptr(), value.stride(2), value.stride(1), out.data_ptr(), out.stride(1), out.stride(2),
              heads, kv_heads, dim, float(scale), int(bool(causal)), table.data_ptr(), int(table.shape[0]))
    if rc:
        raise MemoryError("cpu attention: the kernel could not allocate its work buffer")
    return out


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """``weight * x / sqrt(mean(x**2, -1) + eps)`` over the last dimension (float32 on the CPU; ``usable(x)``)."""
    x = x.contiguous()
    weight = weight.contiguous()
    out = torch.empty_like(x)
    dim = x.shape[-1]
    _lib.rmeval_rms_norm(x.data_ptr(), weight.data_ptr(), out.data_ptr(), x.numel() // dim, dim, float(eps))
    return out


# RMSNorm classes computed exactly as ``weight * (x * rsqrt(mean(x**2) + eps))`` in float32 (Gemma's 1 + weight
# and other variants are left alone)
PLAIN_RMS_NORMS = ("LlamaRMSNorm", "MistralRMSNorm", "Qwen2RMSNorm", "Qwen3RMSNorm")


class KernelRMSNorm(torch.nn.Module):
    """An RMSNorm that runs on rmeval's kernel where ``usable``, and as the module it replaces elsewhere."""

    def __init__(self, norm: torch.nn.Module):
        super().__init__()
        self.inner = norm
        self.eps = float(getattr(norm, "variance_epsilon", getattr(norm, "eps", 1e-6)))

    @property
    def weight(self) -> torch.Tensor:
        return self.inner.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if usable(x) and self.inner.weight.dtype == torch.float32 and x.numel():
            return rms_norm(x, self.inner.weight, self.eps)
        return self.inner(x)


def swap_norms(model: torch.nn.Module) -> int:
    """Wrap the model's plain RMSNorm modules in ``KernelRMSNorm`` (float32 CPU models); returns how many."""
    if _switch.value != "native":
        return 0

    from rmeval.cpu_linear import replace_children

    def pick(child: torch.nn.Module):
        w = getattr(child, "weight", None)
        plain = type(child).__name__ in PLAIN_RMS_NORMS and w is not None and w.dtype == torch.float32
        return (KernelRMSNorm(child), 1) if plain and w.device.type == "cpu" else None

    return replace_children(model, pick)
