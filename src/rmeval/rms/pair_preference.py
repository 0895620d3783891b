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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rmeval.config.fields import at_least, settings
from rmeval.llm.base import BACKENDS, BackendConfig, ChatBackend, ChatRequest, ChatResult
from rmeval.progress import progress_bar
from rmeval.rms.base import RM_FAMILIES
from rmeval.rms.judge import PairwiseJudgeRM, PairwiseJudgeRMConfig

if TYPE_CHECKING:
    import torch


@dataclass
class PairPreferenceBackendConfig(BackendConfig):
    """A causal LM that answers a pair prompt with a label token (rmeval.rms.pair_preference: RLHFlow pair-preference)."""

    _target_: str = "rmeval.rms.pair_preference.PairPreferenceBackend"
    name: str = "pair-preference"
    revision: str | None = None
    tokenizer: str | None = None
    architecture: str = "causal"  # causal (label = next token after the chat prompt) | seq2seq (first decoded token)
    label_a: str = "A"  # one token each: the verdict is the larger of their next-token logits
    label_b: str = "B"
    add_generation_prompt: bool = True  # causal: open the assistant turn before reading the label
    strip_bos: bool = False  # causal: drop BOS from the rendered prompt and add no special tokens (RLHFlow's usage)
    max_length: int = field(default=4096, metadata=at_least(1))  # left truncation keeps the responses and the label position
    dtype: str = "auto"
    device: str = "auto"
    trust_remote_code: bool = False
    batch_size: int = field(default=8, metadata=at_least(1))
    device_map: Any = None
    max_memory: Any = None
    attn_implementation: str | None = "sdpa"
    quantization: str | None = None


@dataclass
class PairRMBackendConfig(BackendConfig):
    """llm-blender's DeBERTa pair ranker (rmeval.rms.pair_preference.PairRMBackend)."""

    _target_: str = "rmeval.rms.pair_preference.PairRMBackend"
    name: str = "pairrm"
    revision: str | None = None
    source_max_length: int = field(default=1224, metadata=at_least(1))  # PairRM's own budgets: the source, then each candidate in half of what is left
    candidate_max_length: int = field(default=412, metadata=at_least(1))
    dtype: str = "float32"
    device: str = "auto"
    batch_size: int = field(default=8, metadata=at_least(1))


@dataclass
class PairRMJudgeConfig(PairwiseJudgeRMConfig):
    """PairRM through the comparisons path (rmeval.rms.pair_preference.PairRMJudge; backend: a PairRMBackendConfig)."""

    both_orders: bool = True  # PairRM's own usage scores both orders
    template: str = "pairwise_v1"  # unused by PairRM (its requests carry source and candidates); kept for the judge's init
    max_tokens: int = field(default=1, metadata=at_least(1))


class _ForwardBackend(ChatBackend):
    """What both backends below share: the tokenizer, then the model (``load_model``), loaded on first use, and
    right-padded batches of encoded requests."""

    _where = "the YAML that names this backend (its backend: section)"

    def load(self) -> None:
        from rmeval.hf import hf_source_kwargs, load_error

        if self.model is not None:
            return
        from transformers import AutoTokenizer

        who, ident, trust = f"backend {self.name}", self.tokenizer_id, self.trust_remote_code
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(ident, **hf_source_kwargs(ident, self.config.revision, trust))
        except Exception as err:
            raise load_error(who, self._where, "tokenizer", ident, err, trust) from None
        self.load_model(who)

    def padded(self, seqs: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """``seqs`` right padded with the tokenizer's pad id (0 without one), and their attention mask."""
        import torch

        width = max(len(s) for s in seqs)
        input_ids = torch.full((len(seqs), width), int(self.tokenizer.pad_token_id or 0), dtype=torch.long)
        attention = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):  # right padding: with the mask (and causal attention) no real token sees it
            input_ids[i, : len(s)] = torch.tensor(s)
            attention[i, : len(s)] = 1
        return input_ids, attention


@BACKENDS.register()
class PairPreferenceBackend(_ForwardBackend):
    Config = PairPreferenceBackendConfig

    def __init__(self, config: PairPreferenceBackendConfig | None = None, **given):
        from rmeval.hf import Placement
        from rmeval.hf import RMLoadError

        c = self.config = settings(self.Config, config, given, f"backend {given.get('name', 'pair-preference')}")
        if c.architecture not in ("causal", "seq2seq"):
            raise RMLoadError(f"backend {c.name}: field 'architecture': expected causal or seq2seq, got {c.architecture!r}")
        self.name, self.tokenizer_id, self.trust_remote_code = c.name, c.tokenizer or c.model, c.trust_remote_code
        self.placement = Placement.build(f"backend {c.name}", c.device, c.dtype, device_map=c.device_map, max_memory=c.max_memory,
                                         attn_implementation=c.attn_implementation, quantization=c.quantization)
        self.model = self.tokenizer = None

    def fingerprint(self) -> dict:
        from rmeval.hf import unpinned_revision
        from rmeval.hf import weights_digest

        c = self.config
        return {"backend": "pair_preference", "architecture": c.architecture, "model": c.model, "revision": c.revision,
                "tokenizer": self.tokenizer_id, "labels": [c.label_a, c.label_b], "max_length": c.max_length,
                "add_generation_prompt": c.add_generation_prompt, "strip_bos": c.strip_bos,
                **self.placement.fingerprint(), "weights_sha256": weights_digest(c.model),
                **unpinned_revision(c.model, c.revision)}

    def _label_id(self, label: str) -> int:
        from rmeval.hf import RMLoadError

        ids = self.tokenizer.encode(label, add_special_tokens=False)
        if len(ids) != 1:
            raise RMLoadError(f"backend {self.name}: label {label!r} is {len(ids)} tokens for {self.tokenizer_id!r}; "
                              f"a label must be one token (fields label_a / label_b in {self._where})")
        return ids[0]

    def load_model(self, who: str) -> None:
        from rmeval.hf import RMLoadError
        from rmeval.hf import load_pretrained

        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

        c = self.config
        self.ids = (self._label_id(c.label_a), self._label_id(c.label_b))
        if self.ids[0] == self.ids[1]:
            raise RMLoadError(f"{who}: labels {c.label_a!r} and {c.label_b!r} are the same token")
        auto_cls = AutoModelForSeq2SeqLM if c.architecture == "seq2seq" else AutoModelForCausalLM
        self.model = load_pretrained(auto_cls, c.model, who=who, where=self._where, what=f"{c.architecture} LM",
                                     placement=self.placement, trust_remote_code=c.trust_remote_code,
                                     revision=c.revision)
        self.input_device = self.placement.input_device(self.model)

    def encode(self, request: ChatRequest) -> list[int]:
        c = self.config
        tok = self.tokenizer
        if c.architecture == "seq2seq":  # the encoder reads the prompt text itself (plus the tokenizer's EOS)
            ids = tok("\n\n".join(m["content"] for m in request.messages))["input_ids"]
            if len(ids) > c.max_length:  # keep the end (the question after the responses) and the final EOS
                ids = ids[len(ids) - c.max_length:]
            return ids
        text = tok.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=c.add_generation_prompt)
        bos = tok.bos_token
        if c.strip_bos and bos:
            text = text.replace(bos, "")
        ids = tok(text, add_special_tokens=not (c.strip_bos or (bos and text.startswith(bos))))["input_ids"]
        if len(ids) > c.max_length:  # keep the end (responses and the label position) and a leading BOS
            head = ids[:1] if ids[0] == tok.bos_token_id else []
            ids = head + ids[len(ids) - (c.max_length - len(head)):]
        return ids

    def label_logits(self, seqs: Sequence[list[int]]) -> np.ndarray:
        """[n, 2] logits of (label_a, label_b) at each sequence's last token."""
        import torch

        self.load()
        input_ids, attention = self.padded(seqs)
        with torch.inference_mode():
            kwargs = {"input_ids": input_ids.to(self.input_device), "attention_mask": attention.to(self.input_device),
                      "use_cache": False}
            if self.config.architecture == "seq2seq":  # the first decoded position: the label
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
    """A non-generative preference model's answers, ``backend.config.batch_size`` requests per forward pass:
    ``verdicts(seqs)`` yields (verdict A/B/C, a note for the raw text, extra fields) per encoded request."""
    backend.load()
    results: list[ChatResult] = []
    with progress_bar(len(requests), f"{backend.name}: compare", "pair", enabled=progress) as bar:
        size = backend.config.batch_size
        for k in range(0, len(requests), size):
            group = requests[k: k + size]
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


@RM_FAMILIES.register()
class PairRMJudge(PairwiseJudgeRM):
    """PairRM (llm-blender's DeBERTa pair ranker) through the judges' comparisons path: each request carries the
    source and the two candidates as separate messages (roles ``source``, ``candidate_a``, ``candidate_b``) for
    ``PairRMBackend``; plan, positions, both orders, knockout and cache are the judge's. The source is PairRM's
    instruction, the rendered conversation and ``Assistant: <Response 1>``; a candidate is ``<Response 1>: text``."""

    Config = PairRMJudgeConfig

    def request(self, key: str, conversation: str, response_a: str, response_b: str) -> ChatRequest:
        source = f"{PAIRRM_INSTRUCTION}{conversation}\nAssistant: <Response 1>"
        messages = [{"role": "source", "content": source}, {"role": "candidate_a", "content": f"<Response 1>: {response_a}"},
                    {"role": "candidate_b", "content": f"<Response 1>: {response_b}"}]
        return ChatRequest(key=key, messages=messages, max_tokens=self.max_tokens, temperature=self.temperature, seed=self.seed)


@BACKENDS.register()
class PairRMBackend(_ForwardBackend):
    """DeBERTa-v2 encoder (``pretrained_model.*``) + ``head_layer`` (Linear 2h->h, tanh, Linear h->tasks) read at the
    ``<|source|>``, ``<|candidate1|>``, ``<|candidate2|>`` positions: score(A over B) = mean over tasks of
    head(src, c1) - head(src, c2). The verdict is A when that is positive, B when negative, a tie at zero."""

    Config = PairRMBackendConfig

    def __init__(self, config: PairRMBackendConfig | None = None, **given):
        from rmeval.hf import Placement

        c = self.config = settings(self.Config, config, given, f"backend {given.get('name', 'pairrm')}")
        self.name, self.tokenizer_id = c.name, c.model
        self.trust_remote_code = None  # no such setting: PairRM is a built-in DeBERTa, never custom code (rmeval.hf)
        self.placement = Placement.build(f"backend {c.name}", c.device, c.dtype, attn_implementation=None)
        self.model = self.tokenizer = self.head = None

    def fingerprint(self) -> dict:
        from rmeval.hf import unpinned_revision
        from rmeval.hf import weights_digest

        c = self.config
        return {"backend": "pairrm", "model": c.model, "revision": c.revision,
                "source_max_length": c.source_max_length, "candidate_max_length": c.candidate_max_length,
                **self.placement.fingerprint(), "weights_sha256": weights_digest(c.model),
                **unpinned_revision(c.model, c.revision)}

    def load_model(self, who: str) -> None:
        from rmeval.hf import RMLoadError
        from rmeval.hf import load_pretrained

        from transformers import AutoModel

        from rmeval.rms.heads import build_head, checkpoint_files, read_prefixed

        c = self.config
        self.model = load_pretrained(AutoModel, c.model, who=who, where=self._where, what="encoder",
                                     placement=self.placement, trust_remote_code=None, revision=c.revision,
                                     key_mapping={r"^pretrained_model\.": ""})
        cfg = self.model.config
        missing = [k for k in ("source_prefix_id", "cand1_prefix_id", "cand2_prefix_id") if getattr(cfg, k, None) is None]
        if missing:
            raise RMLoadError(f"{who}: {c.model}: config.json has no {', '.join(missing)} (not a PairRM checkpoint?)")
        self.prefix_ids = (cfg.source_prefix_id, cfg.cand1_prefix_id, cfg.cand2_prefix_id)
        state = read_prefixed(checkpoint_files(c.model, c.revision), "head_layer")
        if not state:
            raise RMLoadError(f"{who}: {c.model}: no head_layer weights (not a PairRM checkpoint?)")
        self.head = build_head(state, "tanh").to(device=self.placement.device, dtype=self.placement.dtype).eval()
        self.input_device = self.placement.input_device(self.model)

    def encode(self, request: ChatRequest) -> list[int]:
        """PairRM's layout: <|source|>source, then each candidate in half of what the source leaves."""
        c = self.config
        tok = self.tokenizer
        parts = {m["role"]: m["content"] for m in request.messages}
        prefixes = [tok.convert_ids_to_tokens(i) for i in self.prefix_ids]
        src = tok.encode(prefixes[0] + parts["source"], max_length=c.source_max_length, truncation=True)
        room = (c.source_max_length + 2 * c.candidate_max_length - len(src)) // 2
        c1 = tok.encode(prefixes[1] + parts["candidate_a"], max_length=room, truncation=True)
        c2 = tok.encode(prefixes[2] + parts["candidate_b"], max_length=room, truncation=True)
        return src + c1 + c2

    def preference(self, seqs: Sequence[list[int]]) -> np.ndarray:
        """Mean over tasks of head(src, c1) - head(src, c2), per sequence."""
        import torch

        self.load()
        input_ids, attention = self.padded(seqs)
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
