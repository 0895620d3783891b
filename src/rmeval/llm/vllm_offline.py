"""vLLM's offline engine (GPU machines, when the `vllm` package is installed): one batched call for all requests,
each with its own seed in its SamplingParams, so a sample depends only on its prompt and seed."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rmeval.config.fields import DType, at_least, between, settings
from rmeval.llm.base import BACKENDS, BackendConfig, ChatBackend, ChatRequest, ChatResult
from rmeval.llm.openai_compat import BackendConfigError


@dataclass
class VLLMBackendConfig(BackendConfig):
    _target_: str = "rmeval.llm.vllm_offline.VLLMBackend"
    name: str = "vllm"
    revision: str | None = None
    dtype: DType = DType.auto
    tensor_parallel_size: int = field(default=1, metadata=at_least(1))
    gpu_memory_utilization: float = field(default=0.9, metadata=between(0, 1, low_open=True))
    max_model_len: int | None = field(default=None, metadata=at_least(1))
    trust_remote_code: bool = False


@BACKENDS.register()
class VLLMBackend(ChatBackend):
    Config = VLLMBackendConfig

    def __init__(self, config: VLLMBackendConfig | None = None, **given):
        self.config = settings(self.Config, config, given, f"backend {given.get('name', 'vllm')}")
        self.name = self.config.name
        self._llm = None

    def fingerprint(self) -> dict:
        c = self.config
        return {"backend": "vllm", "model": c.model, "revision": c.revision, "dtype": c.dtype}

    def llm(self):
        if self._llm is None:
            try:
                from vllm import LLM
            except ImportError:
                raise BackendConfigError(f"backend {self.name}: the vllm package is not installed (pip install vllm on a GPU machine)") from None
            c = self.config
            self._llm = LLM(model=c.model, revision=c.revision, dtype=c.dtype, tensor_parallel_size=c.tensor_parallel_size,
                            gpu_memory_utilization=c.gpu_memory_utilization, max_model_len=c.max_model_len,
                            trust_remote_code=c.trust_remote_code)
        return self._llm

    def generate(self, requests: Sequence[ChatRequest], progress: bool = True,
                 on_result: Callable[[int, ChatResult], None] | None = None) -> list[ChatResult]:
        from vllm import SamplingParams

        llm = self.llm()
        start = time.perf_counter()
        params = [SamplingParams(max_tokens=r.max_tokens, temperature=r.temperature, top_p=r.top_p, seed=r.seed) for r in requests]
        outputs = llm.chat([r.messages for r in requests], sampling_params=params, use_tqdm=progress)
        results = []
        for i, (req, out) in enumerate(zip(requests, outputs)):
            gen = out.outputs[0]
            res = ChatResult(key=req.key, text=gen.text, finish_reason=gen.finish_reason,
                             prompt_tokens=len(out.prompt_token_ids or []), completion_tokens=len(gen.token_ids),
                             latency_s=(time.perf_counter() - start) / max(1, len(requests)))
            results.append(res)
            if on_result is not None:
                on_result(i, res)
        return results
