"""Pairwise preference models that are not generative judges: a model trained to read (context, response A,
response B) and put its next-token mass on a label token, "A" or "B": a causal LM (RLHFlow's
pair-preference-model-LLaMA3-8B; ``architecture: causal``) or a seq2seq model whose first decoded token is the label
(SteamSHP, flan-t5; ``architecture: seq2seq``: the prompt is the template's text itself, no chat template).

It plugs into the comparisons path as a *backend* of ``rmeval.rms.judge.PairwiseJudgeRM``: the judge renders its
template (the model's own prompt format, e.g. ``pair_preference_v1``) with the positions stored in the items, and
this backend answers each request with the verdict the label logits give instead of sampled text:
``[[A]]`` when logit(A) > logit(B), ``[[B]]`` when lower, ``[[C]]`` (a tie) when equal, followed by
``p(A)=...`` (the softmax over the two labels). So comparisons, BoN as n-1 comparisons, both-order runs, the
downstream knockout and the generation cache are the judges' own code.

The prompt is the request's messages through the model's chat template with the generation prompt (no double
BOS), truncated from the left to ``max_length`` so the responses and the label position survive; batches are right
padded and read at each text's last real token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from rmeval.hf import Placement, RMLoadError, hf_source_kwargs, load_error, load_pretrained, unpinned_revision, weights_digest
from rmeval.progress import progress_bar
from rmeval.llm.base import ChatBackend, ChatRequest, ChatResult
from rmeval.rms.judge import PairwiseJudgeRM


class PairPreferenceBackend(ChatBackend):
    def __init__(self, model: str, revision: str | None = None, tokenizer: str | None = None, architecture: str = "causal",
                 label_a: str = "A", add_generation_prompt: bool = True, strip_bos: bool = False,
                 label_b: str = "B", max_length: int = 4096, dtype: str = "auto", device: str = "auto",
                 trust_remote_code: bool = False, batch_size: int = 8, name: str = "pair-preference",
                 device_map=None, max_memory=None, attn_implementation: str | None = "sdpa", quantization: str | None = None):
        if architecture not in ("causal", "seq2seq"):
            raise RMLoadError(f"backend {name}: field 'architecture': expected causal or seq2seq, got {architecture!r}")
        self.name, self.model_id, self.revision, self.architecture = name, model, revision, architecture
        self.tokenizer_id = tokenizer or model
        self.label_a, self.label_b, self.max_length = label_a, label_b, int(max_length)
        # RLHFlow's pair model reads the label right after the user turn's end (no generation prompt) and no BOS
        self.add_generation_prompt, self.strip_bos = bool(add_generation_prompt), bool(strip_bos)
        self.trust_remote_code, self.batch_size = bool(trust_remote_code), int(batch_size)
        self.placement = Placement.build(f"backend {name}", device, dtype, device_map=device_map, max_memory=max_memory,
                                         attn_implementation=attn_implementation, quantization=quantization)
        self.model = self.tokenizer = None
        self._where = "the YAML that names this backend (its backend: section)"

    def fingerprint(self) -> dict:
        return {"backend": "pair_preference", "architecture": self.architecture, "model": self.model_id, "revision": self.revision,
                "tokenizer": self.tokenizer_id, "labels": [self.label_a, self.label_b], "max_length": self.max_length,
                "add_generation_prompt": self.add_generation_prompt, "strip_bos": self.strip_bos,
                **self.placement.fingerprint(), "weights_sha256": weights_digest(self.model_id),
                **unpinned_revision(self.model_id, self.revision)}

    def _label_id(self, label: str) -> int:
        ids = self.tokenizer.encode(label, add_special_tokens=False)
        if len(ids) != 1:
            raise RMLoadError(f"backend {self.name}: label {label!r} is {len(ids)} tokens for {self.tokenizer_id!r}; "
                              f"a label must be one token (fields label_a / label_b in {self._where})")
        return ids[0]

    def load(self) -> None:
        if self.model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

        who = f"backend {self.name}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                self.tokenizer_id, **hf_source_kwargs(self.tokenizer_id, self.revision, self.trust_remote_code))
        except Exception as err:
            raise load_error(who, self._where, "tokenizer", self.tokenizer_id, err, self.trust_remote_code) from None
        self.ids = (self._label_id(self.label_a), self._label_id(self.label_b))
        if self.ids[0] == self.ids[1]:
            raise RMLoadError(f"{who}: labels {self.label_a!r} and {self.label_b!r} are the same token")
        auto_cls = AutoModelForSeq2SeqLM if self.architecture == "seq2seq" else AutoModelForCausalLM
        self.model = load_pretrained(auto_cls, self.model_id, who=who, where=self._where, what=f"{self.architecture} LM", pack_cpu_linears=False,
                                     placement=self.placement, trust_remote_code=self.trust_remote_code,
                                     revision=self.revision)
        self.input_device = self.placement.input_device(self.model)

    def encode(self, request: ChatRequest) -> list[int]:
        tok = self.tokenizer
        if self.architecture == "seq2seq":  # the encoder reads the prompt text itself (plus the tokenizer's EOS)
            ids = tok("\n\n".join(m["content"] for m in request.messages))["input_ids"]
            if len(ids) > self.max_length:  # keep the end (the question after the responses) and the final EOS
                ids = ids[len(ids) - self.max_length:]
            return ids
        text = tok.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=self.add_generation_prompt)
        bos = tok.bos_token
        if self.strip_bos and bos:
            text = text.replace(bos, "")
        ids = tok(text, add_special_tokens=not (self.strip_bos or (bos and text.startswith(bos))))["input_ids"]
        if len(ids) > self.max_length:  # keep the end (responses and the label position) and a leading BOS
            head = ids[:1] if ids[0] == tok.bos_token_id else []
            ids = head + ids[len(ids) - (self.max_length - len(head)):]
        return ids

    def label_logits(self, seqs: Sequence[list[int]]) -> np.ndarray:
        """[n, 2] logits of (label_a, label_b) at each sequence's last token."""
        self.load()
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.full((len(seqs), width), int(pad), dtype=torch.long)
        attention = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):  # right padding + causal attention: padding never reaches a real token
            input_ids[i, : len(s)] = torch.tensor(s)
            attention[i, : len(s)] = 1
        with torch.inference_mode():
            kwargs = {"input_ids": input_ids.to(self.input_device), "attention_mask": attention.to(self.input_device),
                      "use_cache": False}
            if self.architecture == "seq2seq":  # the first decoded position: the label
                start = self.model.config.decoder_start_token_id
                kwargs["decoder_input_ids"] = torch.full((len(seqs), 1), int(start), dtype=torch.long, device=self.input_device)
                rows = self.model(**kwargs).logits[:, 0]
            else:
                logits = self.model(**kwargs).logits
                last = (attention.sum(-1) - 1).to(logits.device)
                rows = logits[torch.arange(len(seqs), device=logits.device), last]
            return rows[:, list(self.ids)].float().cpu().numpy().astype(np.float64)

    def generate(self, requests: Sequence[ChatRequest], progress: bool = True,
                 on_result: Callable[[int, ChatResult], None] | None = None) -> list[ChatResult]:
        def verdicts(seqs):
            for la, lb in self.label_logits(seqs):
                p_a = 1.0 / (1.0 + np.exp(lb - la))
                yield ("A" if la > lb else "B" if lb > la else "C"), f"p(A)={p_a:.6f}", {"p_a": float(p_a)}

        return generate_batched(self, requests, verdicts, progress, on_result)


def generate_batched(backend, requests: Sequence[ChatRequest], verdicts, progress: bool,
                     on_result: Callable[[int, ChatResult], None] | None) -> list[ChatResult]:
    """A non-generative preference model's answers, ``backend.batch_size`` requests per forward pass:
    ``verdicts(seqs)`` yields (verdict A/B/C, a note for the raw text, extra fields) per encoded request."""
    backend.load()
    results: list[ChatResult] = []
    with progress_bar(len(requests), f"{backend.name}: compare", "pair", enabled=progress) as bar:
        for k in range(0, len(requests), backend.batch_size):
            group = requests[k: k + backend.batch_size]
            start = time.perf_counter()
            seqs = [backend.encode(r) for r in group]
            for j, (req, ids, (verdict, note, extra)) in enumerate(zip(group, seqs, verdicts(seqs))):
                res = ChatResult(key=req.key, text=f"[[{verdict}]] {note}", finish_reason="stop", prompt_tokens=len(ids),
                                 completion_tokens=0, latency_s=(time.perf_counter() - start) / len(group), extra=extra)
                results.append(res)
                if on_result is not None:
                    on_result(k + j, res)
            bar.update(len(group))
    return results


# --------------------------------------------------------------------------------------------- PairRM
PAIRRM_INSTRUCTION = "Finish the following coversation in each i-th turn by filling in <Response i> with your response."


class PairRMJudge(PairwiseJudgeRM):
    """PairRM (llm-blender's DeBERTa pair ranker) through the judges' comparisons path: each request carries the
    source and the two candidates as separate messages (roles ``source``, ``candidate_a``, ``candidate_b``) for
    ``PairRMBackend``; plan, positions, both orders, knockout and cache are the judge's. The source is PairRM's
    instruction, the rendered conversation and ``Assistant: <Response 1>``; a candidate is ``<Response 1>: text``."""

    def __init__(self, name: str, backend, both_orders: bool = True, seed: int = 0, template: str = "pairwise_v1",
                 max_tokens: int = 1, temperature: float = 0.0):
        super().__init__(name=name, backend=backend, template=template, both_orders=both_orders, max_tokens=max_tokens,
                         temperature=temperature, seed=seed)

    def request(self, key: str, conversation: str, response_a: str, response_b: str) -> ChatRequest:
        source = f"{PAIRRM_INSTRUCTION}{conversation}\nAssistant: <Response 1>"
        messages = [{"role": "source", "content": source}, {"role": "candidate_a", "content": f"<Response 1>: {response_a}"},
                    {"role": "candidate_b", "content": f"<Response 1>: {response_b}"}]
        return ChatRequest(key=key, messages=messages, max_tokens=self.max_tokens, temperature=self.temperature, seed=self.seed)


class PairRMBackend(ChatBackend):
    """DeBERTa-v2 encoder (``pretrained_model.*``) + ``head_layer`` (Linear 2h->h, tanh, Linear h->tasks) read at the
    ``<|source|>``, ``<|candidate1|>``, ``<|candidate2|>`` positions: score(A over B) = mean over tasks of
    head(src, c1) - head(src, c2). The verdict is A when that is positive, B when negative, a tie at zero."""

    def __init__(self, model: str, revision: str | None = None, source_max_length: int = 1224,
                 candidate_max_length: int = 412, dtype: str = "float32", device: str = "auto", batch_size: int = 8,
                 name: str = "pairrm"):
        self.name, self.model_id, self.revision = name, model, revision
        self.source_max_length, self.candidate_max_length = int(source_max_length), int(candidate_max_length)
        self.placement = Placement.build(f"backend {name}", device, dtype, attn_implementation=None)
        self.batch_size = int(batch_size)
        self.model = self.tokenizer = self.head = None
        self._where = "the YAML that names this backend (its backend: section)"

    def fingerprint(self) -> dict:
        return {"backend": "pairrm", "model": self.model_id, "revision": self.revision,
                "source_max_length": self.source_max_length, "candidate_max_length": self.candidate_max_length,
                **self.placement.fingerprint(), "weights_sha256": weights_digest(self.model_id),
                **unpinned_revision(self.model_id, self.revision)}

    def load(self) -> None:
        if self.model is not None:
            return
        from transformers import AutoModel, AutoTokenizer

        from rmeval.rms.heads import build_head, checkpoint_files, read_prefixed

        who = f"backend {self.name}"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_id, **hf_source_kwargs(self.model_id, self.revision, False))
        except Exception as err:
            raise load_error(who, self._where, "tokenizer", self.model_id, err, False) from None
        self.model = load_pretrained(AutoModel, self.model_id, who=who, where=self._where, what="encoder",
                                     placement=self.placement, trust_remote_code=False, revision=self.revision,
                                     key_mapping={r"^pretrained_model\.": ""})
        cfg = self.model.config
        missing = [k for k in ("source_prefix_id", "cand1_prefix_id", "cand2_prefix_id") if getattr(cfg, k, None) is None]
        if missing:
            raise RMLoadError(f"{who}: {self.model_id}: config.json has no {', '.join(missing)} (not a PairRM checkpoint?)")
        self.prefix_ids = (cfg.source_prefix_id, cfg.cand1_prefix_id, cfg.cand2_prefix_id)
        state = read_prefixed(checkpoint_files(self.model_id, self.revision), "head_layer")
        if not state:
            raise RMLoadError(f"{who}: {self.model_id}: no head_layer weights (not a PairRM checkpoint?)")
        self.head = build_head(state, "tanh").to(device=self.placement.device, dtype=self.placement.dtype).eval()
        self.input_device = self.placement.input_device(self.model)

    def encode(self, request: ChatRequest) -> list[int]:
        """PairRM's layout: <|source|>source, then each candidate in half of what the source leaves."""
        tok = self.tokenizer
        parts = {m["role"]: m["content"] for m in request.messages}
        prefixes = [tok.convert_ids_to_tokens(i) for i in self.prefix_ids]
        src = tok.encode(prefixes[0] + parts["source"], max_length=self.source_max_length, truncation=True)
        room = (self.source_max_length + 2 * self.candidate_max_length - len(src)) // 2
        c1 = tok.encode(prefixes[1] + parts["candidate_a"], max_length=room, truncation=True)
        c2 = tok.encode(prefixes[2] + parts["candidate_b"], max_length=room, truncation=True)
        return src + c1 + c2

    def preference(self, seqs: Sequence[list[int]]) -> np.ndarray:
        """Mean over tasks of head(src, c1) - head(src, c2), per sequence."""
        self.load()
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.full((len(seqs), width), int(pad), dtype=torch.long)
        attention = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            input_ids[i, : len(s)] = torch.tensor(s)
            attention[i, : len(s)] = 1
        with torch.inference_mode():
            hidden = self.model(input_ids=input_ids.to(self.input_device), attention_mask=attention.to(self.input_device)).last_hidden_state
            rows = torch.arange(len(seqs))
            pos = [[s.index(p) for s in seqs] for p in self.prefix_ids]  # first occurrence of each prefix token
            src, c1, c2 = (hidden[rows, torch.tensor(p)] for p in pos)
            left = self.head(torch.cat([src, c1], dim=-1).to(self.placement.dtype))
            right = self.head(torch.cat([src, c2], dim=-1).to(self.placement.dtype))
            return (left - right).mean(-1).float().cpu().numpy().astype(np.float64)

    def generate(self, requests: Sequence[ChatRequest], progress: bool = True,
                 on_result: Callable[[int, ChatResult], None] | None = None) -> list[ChatResult]:
        def verdicts(seqs):
            for delta in self.preference(seqs):
                yield ("A" if delta > 0 else "B" if delta < 0 else "C"), f"delta={delta:.6f}", {"delta": float(delta)}

        return generate_batched(self, requests, verdicts, progress, on_result)
