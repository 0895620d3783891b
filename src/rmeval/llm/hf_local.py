"""Local generation with HF transformers: chat template, left padding, batched greedy decoding, seeded sampling.

Greedy requests (temperature 0) are batched. Sampled requests are generated one at a time under their own seed
(``torch.manual_seed(seed)``), so a sample depends only on its (prompt, seed), never on what else was in the
batch: a resumed run reproduces exactly what an uninterrupted one would have produced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rmeval.config.fields import DEVICE, DType, at_least, settings
from rmeval.llm.base import BACKENDS, BackendConfig, ChatBackend, ChatRequest, ChatResult
from rmeval.progress import progress_bar


@dataclass
class HFBackendConfig(BackendConfig):
    _target_: str = "rmeval.llm.hf_local.HFLocalBackend"
    name: str = "hf"
    revision: str | None = None
    gguf_file: str | None = None
    dtype: DType = DType.auto
    device: str = field(default="auto", metadata=DEVICE)
    batch_size: int = field(default=8, metadata=at_least(1))
    trust_remote_code: bool = False
    batch_sampling: bool = False  # sample in seeded batches (faster; a sample then depends on its batch-mates)
    device_map: Any = None  # null: the whole model on `device`; auto | balanced | sequential | {module: device}
    max_memory: Any = None  # with device_map: per-device caps, e.g. {"0": 70GiB, "1": 70GiB, cpu: 200GiB}
    attn_implementation: str | None = "sdpa"  # sdpa | eager | flash_attention_2 (needs flash-attn) | null
    quantization: str | None = None  # null | 8bit | 4bit (needs bitsandbytes; implies device_map: auto)


@BACKENDS.register()
class HFLocalBackend(ChatBackend):
    Config = HFBackendConfig

    def __init__(self, config: HFBackendConfig | None = None, **given):
        from rmeval.hf import Placement

        c = self.config = settings(self.Config, config, given, f"backend {given.get('name', 'hf')}")
        self.name = c.name
        self.placement = Placement.build(f"backend {c.name}", c.device, c.dtype, device_map=c.device_map, max_memory=c.max_memory,
                                         attn_implementation=c.attn_implementation, quantization=c.quantization)
        self.device, self.dtype = self.placement.device, self.placement.dtype
        self.model = self.tokenizer = None

    def fingerprint(self) -> dict:
        from rmeval.hf import unpinned_revision

        c = self.config
        return {"backend": "hf_local", "model": c.model, "revision": c.revision, "gguf_file": c.gguf_file,
                **self.placement.fingerprint(), "batch_sampling": c.batch_sampling, **unpinned_revision(c.model, c.revision)}

    def load(self) -> None:
        from rmeval.hf import hf_source_kwargs
        from rmeval.hf import load_error
        from rmeval.hf import load_pretrained

        if self.model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        c = self.config
        who, where = f"backend {self.name}", "the YAML that names this backend (its backend: section)"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                c.model, **hf_source_kwargs(c.model, c.revision, c.trust_remote_code, c.gguf_file))
        except Exception as err:
            raise load_error(who, where, "tokenizer", c.model, err, c.trust_remote_code) from None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = load_pretrained(AutoModelForCausalLM, c.model, who=who, where=where, what="causal LM",
                                     placement=self.placement, trust_remote_code=c.trust_remote_code,
                                     revision=c.revision, gguf_file=c.gguf_file)
        self.input_device = self.placement.input_device(self.model)

    def _prompts(self, requests: Sequence[ChatRequest]) -> list[str]:
        return [self.tokenizer.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True) for r in requests]

    def _run(self, requests: Sequence[ChatRequest], sample: bool) -> list[ChatResult]:
        import torch

        start = time.perf_counter()
        texts = self._prompts(requests)
        bos = self.tokenizer.bos_token
        add_special = not (bos and texts[0].startswith(bos))
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=add_special).to(self.input_device)
        req = requests[0]
        kwargs = {"max_new_tokens": max(r.max_tokens for r in requests), "pad_token_id": self.tokenizer.pad_token_id}
        if sample:
            torch.manual_seed(req.seed if len(requests) == 1 else hash(tuple(r.seed for r in requests)) % 2**31)
            kwargs.update(do_sample=True, temperature=req.temperature, top_p=req.top_p)
        else:
            kwargs.update(do_sample=False)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1]:]
        eos = self.tokenizer.eos_token_id
        results = []
        for i, r in enumerate(requests):
            ids = new[i].tolist()
            ids = ids[: r.max_tokens]
            finish = "length"
            stops = {eos} if isinstance(eos, int) else set(eos or [])
            for j, t in enumerate(ids):
                if t in stops or t == self.tokenizer.pad_token_id and j > 0 and ids[j - 1] in stops:
                    ids, finish = ids[:j], "stop"
                    break
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            results.append(ChatResult(
                key=r.key, text=text, finish_reason=finish, prompt_tokens=int(enc["attention_mask"][i].sum()),
                completion_tokens=len(ids), latency_s=(time.perf_counter() - start) / len(requests),
            ))
        return results

    def generate(
        self, requests: Sequence[ChatRequest], progress: bool = True, on_result: Callable[[int, ChatResult], None] | None = None
    ) -> list[ChatResult]:
        self.load()
        results: list[ChatResult | None] = [None] * len(requests)
        greedy = [i for i, r in enumerate(requests) if r.temperature == 0]
        sampled = [i for i, r in enumerate(requests) if r.temperature != 0]
        size = self.config.batch_size
        groups = [greedy[k : k + size] for k in range(0, len(greedy), size)]
        if self.config.batch_sampling:  # seeded batches: faster, but a sample then depends on its batch-mates
            groups += [sampled[k : k + size] for k in range(0, len(sampled), size)]
        else:
            groups += [[i] for i in sampled]
        with progress_bar(len(requests), f"{self.name}: generate", "req", enabled=progress) as bar:
            for group in groups:
                outs = self._run([requests[i] for i in group], sample=bool(group) and requests[group[0]].temperature != 0)
                for i, res in zip(group, outs):
                    results[i] = res
                    if on_result is not None:
                        on_result(i, res)
                bar.update(len(group))
        return results  # type: ignore[return-value]
