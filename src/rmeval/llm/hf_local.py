"""Local generation with HF transformers: chat template, left padding, batched greedy decoding, seeded sampling.

Greedy requests (temperature 0) are batched. Sampled requests are generated one at a time under their own seed
(``torch.manual_seed(seed)``), so a sample depends only on its (prompt, seed), never on what else was in the
batch: a resumed run reproduces exactly what an uninterrupted one would have produced.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
from tqdm import tqdm

from rmeval.hf import Placement, hf_source_kwargs, load_error, load_pretrained, unpinned_revision
from rmeval.llm.base import ChatBackend, ChatRequest, ChatResult


class HFLocalBackend(ChatBackend):
    def __init__(
        self,
        model: str,
        revision: str | None = None,
        gguf_file: str | None = None,
        dtype: str = "auto",
        device: str = "auto",
        batch_size: int = 8,
        trust_remote_code: bool = False,
        batch_sampling: bool = False,
        name: str = "hf",
        device_map: str | dict | None = None,
        max_memory: dict | None = None,
        attn_implementation: str | None = "sdpa",
        quantization: str | None = None,
    ):
        self.name, self.model_id, self.revision, self.gguf_file = name, model, revision, gguf_file
        self.placement = Placement.build(f"backend {name}", device, dtype, device_map=device_map, max_memory=max_memory,
                                         attn_implementation=attn_implementation, quantization=quantization)
        self.device, self.dtype = self.placement.device, self.placement.dtype
        self.batch_size, self.trust_remote_code = int(batch_size), bool(trust_remote_code)
        # Sampled requests one at a time (a sample depends only on its prompt and seed) unless batch_sampling:
        # then in batches seeded by their members' seeds (faster; a sample also depends on its batch-mates).
        self.batch_sampling = bool(batch_sampling)
        self.model = self.tokenizer = None

    def fingerprint(self) -> dict:
        return {"backend": "hf_local", "model": self.model_id, "revision": self.revision, "gguf_file": self.gguf_file,
                **self.placement.fingerprint(), "batch_sampling": self.batch_sampling,
                **unpinned_revision(self.model_id, self.revision)}

    def load(self) -> None:
        if self.model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        who, where = f"backend {self.name}", "the YAML that names this backend (its backend: section)"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                self.model_id, **hf_source_kwargs(self.model_id, self.revision, self.trust_remote_code, self.gguf_file))
        except Exception as err:
            raise load_error(who, where, "tokenizer", self.model_id, err, self.trust_remote_code) from None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = load_pretrained(AutoModelForCausalLM, self.model_id, who=who, where=where, what="causal LM", pack_cpu_linears=False,
                                     placement=self.placement, trust_remote_code=self.trust_remote_code,
                                     revision=self.revision, gguf_file=self.gguf_file)
        self.input_device = self.placement.input_device(self.model)

    def _prompts(self, requests: Sequence[ChatRequest]) -> list[str]:
        return [self.tokenizer.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True) for r in requests]

    def _run(self, requests: Sequence[ChatRequest], sample: bool) -> list[ChatResult]:
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
        groups = [greedy[k : k + self.batch_size] for k in range(0, len(greedy), self.batch_size)]
        if self.batch_sampling:
            groups += [sampled[k : k + self.batch_size] for k in range(0, len(sampled), self.batch_size)]
        else:
            groups += [[i] for i in sampled]
        with tqdm(total=len(requests), desc=f"{self.name}: generate", unit="req", disable=not progress) as bar:
            for group in groups:
                outs = self._run([requests[i] for i in group], sample=bool(group) and requests[group[0]].temperature != 0)
                for i, res in zip(group, outs):
                    results[i] = res
                    if on_result is not None:
                        on_result(i, res)
                bar.update(len(group))
        return results  # type: ignore[return-value]
