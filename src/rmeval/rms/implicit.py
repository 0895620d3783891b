"""Implicit (DPO) reward from a policy causal LM and an optional reference causal LM.

    reward = beta * (log pi(y | x) - log pi_ref(y | x))        (reference: null  ->  beta * log pi(y | x))

summed over the response tokens y only, divided by their number when ``length_normalize`` is set.

Response tokens are the tokens of the final assistant turn as the chat template renders it: the conversation is
rendered once with ``add_generation_prompt=True`` (the prefix x: system prompt, earlier turns and the template's
tokens that open the assistant turn) and once with the response appended (the full text). Everything after the
prefix is scored, so the template's end-of-turn tokens (EOS, ``<|im_end|>``) count as part of the response, as in
DPO training. When the prefix's tokens are not a prefix of the full text's tokens (a BPE merge across the
boundary, a template that renders the last turn differently), the boundary is located by character offsets
(``return_offsets_mapping``): a token that holds any response character is a response token. Such fallbacks are
counted (``prefix_fallbacks``; ``response_search_fallbacks`` when even the rendered prefix was not a character
prefix of the full text and the response had to be searched for).

Other pitfalls handled as in ``rmeval.rms.classifier``: no double BOS; left truncation to ``max_length`` that drops
prompt tokens first and keeps a leading special token (BOS); when the response alone does not fit, its last
tokens are kept (plus one token of context) and the text is marked truncated (``response_truncated`` counts
them); right padding with an attention mask (causal attention: padding after a text never changes its logits);
log-softmax and gather in float32 on the shifted logits, computed only for the positions that are scored
(``logits_to_keep``), so memory does not scale with prompt length x vocabulary.

The policy and the reference must share the tokenizer (the same token ids are fed to both); ``load()`` checks that
when the reference ships its own tokenizer.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Sequence
from pathlib import Path

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rmeval.config.fields import ChatTemplateMode, above, at_least, settings
from rmeval.rms.base import RM_FAMILIES, Encoded, LocalModelRMConfig, PointwiseRM

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# Used when the tokenizer has no chat template (or chat_template: fallback). The generation prompt ends without a
# space, so the space before the response's first word stays with that word and the prefix tokens usually are a
# prefix of the full text's tokens.
DEFAULT_CAUSAL_FALLBACK_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | capitalize }}: {{ message['content'] }}"
    "{% if not loop.last %}{{ '\\n\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '\\n\\nAssistant:' }}{% endif %}"
)


@dataclass
class ImplicitRMConfig(LocalModelRMConfig):
    """DPO implicit reward: beta * (log pi(y|x) - log pi_ref(y|x)) over the response tokens (rmeval.rms.implicit)."""

    model: str = "???"  # policy causal LM: local folder or hub id
    gguf_file: str | None = None  # a GGUF checkpoint inside `model` (needs the gguf and accelerate packages)
    reference: str | None = None  # reference causal LM; null = reference-free (beta * log pi(y|x))
    reference_revision: str | None = None
    reference_gguf_file: str | None = None
    tokenizer: str | None = None  # defaults to the policy's (from its GGUF when gguf_file is set); shared by both
    chat_template: ChatTemplateMode = ChatTemplateMode.auto  # auto: the tokenizer's own, else fallback_template; fallback: always fallback
    fallback_template: str | None = None  # Jinja with add_generation_prompt; null = rmeval's "Role: content" one
    beta: float = field(default=1.0, metadata=above(0))
    length_normalize: bool = False  # divide by the number of scored response tokens
    max_length: int = field(default=4096, metadata=at_least(1))  # left truncation: prompt tokens go first; a longer response keeps its last tokens


@RM_FAMILIES.register()
class ImplicitRewardRM(PointwiseRM):
    Config = ImplicitRMConfig

    def __init__(self, config: ImplicitRMConfig | None = None, **given):
        from rmeval.hf import RMLoadError
        from rmeval.hf import init_runtime

        c = self.config = settings(self.Config, config, given, type(self).__name__)
        if c.chat_template not in ("auto", "fallback"):
            raise RMLoadError(f"rm {c.name}: field 'chat_template': expected auto or fallback, got {c.chat_template!r}")
        if int(c.max_length) < 2:
            raise RMLoadError(f"rm {c.name}: field 'max_length': must be at least 2 (one context token, one scored), got {c.max_length}")
        self.name = c.name
        self.model_id, self.revision, self.gguf_file = c.model, c.revision, c.gguf_file
        self.reference_id, self.reference_revision, self.reference_gguf_file = c.reference, c.reference_revision, c.reference_gguf_file
        # A c.tokenizer folder given explicitly is a plain folder; otherwise the policy's (from its GGUF when it has one).
        self.tokenizer_id = c.tokenizer or c.model
        self._tokenizer_gguf = None if c.tokenizer else c.gguf_file
        self.chat_template_mode = c.chat_template
        self.fallback_template = c.fallback_template or DEFAULT_CAUSAL_FALLBACK_TEMPLATE
        self.beta, self.length_normalize = float(c.beta), bool(c.length_normalize)
        self.max_length = int(c.max_length)
        init_runtime(self, c.device, c.dtype, c.trust_remote_code, c.token_budget, c.max_batch_size)
        self.tokenizer = None
        self.policy = None
        self.reference = None
        self._template: str | None = None
        # counters (per process): what encode had to work around
        self.double_bos_fixed = 0
        self.prefix_fallbacks = 0
        self.response_search_fallbacks = 0
        self.response_truncated = 0
        self._load_tokenizer()

    # ------------------------------------------------------------------ loading
    def _source_kwargs(self, ident: str, revision: str | None, gguf_file: str | None) -> dict:
        from rmeval.hf import hf_source_kwargs

        return hf_source_kwargs(ident, revision, self.trust_remote_code, gguf_file)

    def _gguf_hint(self, ident: str, gguf_file: str | None) -> str | None:
        if not gguf_file:
            return None
        return (f"check that {Path(ident) / gguf_file} exists (conf/rm/{self.name}.yaml: build section) and that the "
                "gguf and accelerate packages are installed")

    def _load_error(self, what: str, ident: str, err: Exception, gguf_file: str | None) -> RMLoadError:
        from rmeval.hf import load_error

        return load_error(f"rm {self.name}", f"conf/rm/{self.name}.yaml", what, ident, err, self.trust_remote_code,
                          self._gguf_hint(ident, gguf_file))

    def _load_tokenizer(self) -> None:
        from transformers import AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                self.tokenizer_id, **self._source_kwargs(self.tokenizer_id, self.revision, self._tokenizer_gguf)
            )
        except Exception as err:
            raise self._load_error("tokenizer", self.tokenizer_id, err, self._tokenizer_gguf) from None
        own = getattr(self.tokenizer, "chat_template", None)
        self._template = own if (own and self.chat_template_mode == "auto") else self.fallback_template
        self.template_source = "tokenizer" if self._template is own else "fallback"
        if not getattr(self.tokenizer, "is_fast", False):
            log.warning("rm %s: slow tokenizer; the character-offset fallback for the response boundary needs a fast one", self.name)

    def _load_lm(self, ident: str, revision: str | None, gguf_file: str | None):
        from rmeval.hf import load_pretrained

        from transformers import AutoModelForCausalLM

        return load_pretrained(AutoModelForCausalLM, ident, who=f"rm {self.name}", where=f"conf/rm/{self.name}.yaml",
                               what="causal LM", placement=self.placement, trust_remote_code=self.trust_remote_code,
                               revision=revision, gguf_file=gguf_file, hint=self._gguf_hint(ident, gguf_file))

    def _check_reference_tokenizer(self) -> None:
        """The reference scores the policy tokenizer's ids: refuse a reference whose own tokenizer differs."""
        from rmeval.hf import RMLoadError

        from transformers import AutoTokenizer

        try:
            ref_tok = AutoTokenizer.from_pretrained(
                self.reference_id, **self._source_kwargs(self.reference_id, self.reference_revision, self.reference_gguf_file)
            )
        except Exception:  # weights only: nothing to compare
            log.warning("rm %s: reference %s has no loadable tokenizer; assuming it shares the policy's", self.name, self.reference_id)
            return
        if ref_tok.get_vocab() != self.tokenizer.get_vocab():
            raise RMLoadError(
                f"rm {self.name}: the reference {self.reference_id!r} has a different tokenizer from {self.tokenizer_id!r}; "
                f"an implicit reward needs one shared tokenizer (conf/rm/{self.name}.yaml: model/reference)"
            )

    def load(self) -> None:
        from rmeval.hf import RMLoadError

        if self.policy is not None:
            return
        self.policy = self._load_lm(self.model_id, self.revision, self.gguf_file)
        if self.reference_id:
            self._check_reference_tokenizer()
            self.reference = self._load_lm(self.reference_id, self.reference_revision, self.reference_gguf_file)
        n_vocab = len(self.tokenizer)
        for label, lm in (("model", self.policy), ("reference", self.reference)):
            if lm is None:
                continue
            size = lm.get_output_embeddings().weight.shape[0]
            if size < n_vocab:
                raise RMLoadError(f"rm {self.name}: {label} has {size} output ids but the tokenizer has {n_vocab} "
                                  f"(conf/rm/{self.name}.yaml: wrong tokenizer?)")

    # ------------------------------------------------------------------ interface
    def fingerprint(self) -> dict:
        from rmeval.hf import weights_digest

        return {
            "family": "implicit_reward",
            "model": self.model_id,
            "revision": self.revision,
            "gguf_file": self.gguf_file,
            "reference": self.reference_id,
            "reference_revision": self.reference_revision,
            "reference_gguf_file": self.reference_gguf_file,
            "tokenizer": self.tokenizer_id,
            "chat_template_sha256": hashlib.sha256(self._template.encode("utf-8")).hexdigest()[:16],
            "chat_template_source": self.template_source,
            "beta": self.beta,
            "length_normalize": self.length_normalize,
            "max_length": self.max_length,
            "dtype": str(self.dtype).replace("torch.", ""),
            "weights_sha256": weights_digest(self.model_id),
            "reference_weights_sha256": weights_digest(self.reference_id) if self.reference_id else None,
        }

    def _messages(self, conversation: Sequence[dict]) -> list[dict]:
        return [{"role": t["role"], "content": t["content"]} for t in conversation]

    def render(self, conversation: Sequence[dict], response: str) -> tuple[str, str]:
        """(prefix, full): the conversation with the generation prompt, and with the response appended."""
        msgs = self._messages(conversation)
        apply = self.tokenizer.apply_chat_template
        prefix = apply(msgs, chat_template=self._template, tokenize=False, add_generation_prompt=True)
        full = apply([*msgs, {"role": "assistant", "content": response}], chat_template=self._template, tokenize=False)
        return prefix, full

    def _tokenize(self, texts: list[str], offsets: bool = False) -> list:
        """Token ids (and offsets) of rendered texts, adding special tokens only where the template wrote no BOS."""
        tok = self.tokenizer
        bos = tok.bos_token
        with_bos = [bool(bos) and t.startswith(bos) for t in texts]
        out: list = [None] * len(texts)
        for add_special in (False, True):
            idx = [i for i, wb in enumerate(with_bos) if wb != add_special]
            if not idx:
                continue
            enc = tok([texts[i] for i in idx], add_special_tokens=add_special, return_offsets_mapping=offsets)
            for k, i in enumerate(idx):
                ids = list(enc["input_ids"][k])
                offs = list(enc["offset_mapping"][k]) if offsets else None
                if bos is not None and len(ids) > 1 and ids[0] == ids[1] == tok.bos_token_id:
                    ids = ids[1:]
                    offs = offs[1:] if offs is not None else None
                    if not offsets:
                        self.double_bos_fixed += 1
                out[i] = (ids, offs) if offsets else ids
        return out

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        return self.encode_many([text_id], [conversation], [response])[0]

    def encode_many(self, text_ids: Sequence[str], conversations: Sequence, responses: Sequence[str]) -> list[Encoded]:
        """Payload: (ids, start): the forward-pass ids and the index of the first scored (response) token."""
        rendered = [self.render(list(c), r) for c, r in zip(conversations, responses)]
        prefixes = self._tokenize([p for p, _ in rendered])
        fulls = self._tokenize([f for _, f in rendered])
        encoded = []
        for (prefix_text, full_text), p_ids, f_ids, response in zip(rendered, prefixes, fulls, responses):
            if len(p_ids) <= len(f_ids) and f_ids[: len(p_ids)] == p_ids:
                boundary = len(p_ids)
            else:
                boundary = self._boundary_by_offsets(prefix_text, full_text, response)
            encoded.append(self._truncate(f_ids, boundary))
        return encoded

    def _boundary_by_offsets(self, prefix_text: str, full_text: str, response: str) -> int:
        """Index of the first full-text token holding a response character (token prefixes disagreed)."""
        from rmeval.hf import RMLoadError

        self.prefix_fallbacks += 1
        if full_text.startswith(prefix_text):
            char_boundary = len(prefix_text)
        else:  # the template rendered the earlier part differently once the response was appended
            self.response_search_fallbacks += 1
            pos = full_text.rfind(response) if response else -1
            if pos >= 0:
                char_boundary = pos
            else:
                char_boundary = 0
                while char_boundary < min(len(prefix_text), len(full_text)) and prefix_text[char_boundary] == full_text[char_boundary]:
                    char_boundary += 1
        if not getattr(self.tokenizer, "is_fast", False):
            raise RMLoadError(f"rm {self.name}: the chat template's prefix does not tokenise as a prefix of the full text and "
                              f"the tokenizer is not a fast one (no offsets); give a fast tokenizer in conf/rm/{self.name}.yaml")
        ids, offsets = self._tokenize([full_text], offsets=True)[0]
        for i, (start, end) in enumerate(offsets):
            if end > char_boundary and end > start:  # special tokens added by the tokenizer have empty spans
                return i
        return len(ids)

    def _truncate(self, ids: list[int], boundary: int) -> Encoded:
        """Left truncation that keeps every response token when they fit, else the response's last tokens."""
        start = max(boundary, 1)  # position 0 has no prediction
        if len(ids) <= self.max_length:
            return Encoded(payload=(ids, start), n_tokens=len(ids), truncated=False)
        special = set(self.tokenizer.all_special_ids)
        head = ids[:1] if (ids[0] in special and boundary > 0) else []
        budget = self.max_length - len(head)
        n_resp = len(ids) - start
        if n_resp + (0 if head else 1) <= budget:  # drop prompt tokens only
            kept = head + ids[len(ids) - budget:]
            return Encoded(payload=(kept, len(kept) - n_resp), n_tokens=len(kept), truncated=True)
        self.response_truncated += 1
        n_keep = budget - (0 if head else 1)  # scored tokens kept; one more token of context when there is no head
        kept = head + ids[len(ids) - budget:]
        return Encoded(payload=(kept, len(kept) - n_keep), n_tokens=len(kept), truncated=True)

    @staticmethod
    def n_scored(enc: Encoded) -> int:
        ids, start = enc.payload
        return len(ids) - start

    def _batch(self, batch: Sequence[Encoded]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        seqs = [enc.payload[0] for enc in batch]
        pad = self.tokenizer.pad_token_id
        pad = 0 if pad is None else int(pad)  # right padding + causal attention: the pad id never reaches a real token
        width = max(len(s) for s in seqs)
        input_ids = np.full((len(seqs), width), pad, dtype=np.int64)
        attention = np.zeros((len(seqs), width), dtype=np.int64)
        for i, s in enumerate(seqs):
            input_ids[i, : len(s)] = s
            attention[i, : len(s)] = 1
        return torch.from_numpy(input_ids), torch.from_numpy(attention)

    def _logprob_sums(self, lm, batch: Sequence[Encoded], input_ids: torch.Tensor, attention: torch.Tensor) -> np.ndarray:
        """Sum over each text's scored tokens of log p(token | earlier tokens), float64."""
        import torch

        lo = min(enc.payload[1] for enc in batch) - 1  # logits at position t predict token t + 1
        hi = max(len(enc.payload[0]) for enc in batch) - 1
        if hi <= lo:  # nothing to score in this batch
            return np.zeros(len(batch), dtype=np.float64)
        kwargs = {"input_ids": input_ids.to(self.device), "attention_mask": attention.to(self.device), "use_cache": False}
        if "logits_to_keep" in inspect.signature(lm.forward).parameters:
            kwargs["logits_to_keep"] = torch.arange(lo, hi, device=self.device)
            offset = lo
        else:
            offset = 0
        with torch.inference_mode():
            logits = lm(**kwargs).logits
            out = np.empty(len(batch), dtype=np.float64)
            for i, enc in enumerate(batch):
                ids, start = enc.payload
                rows = logits[i, start - 1 - offset: len(ids) - 1 - offset].float()
                targets = input_ids[i, start: len(ids)].to(rows.device)
                logp = torch.log_softmax(rows, dim=-1).gather(-1, targets[:, None]).squeeze(-1)
                out[i] = float(logp.double().sum())
        return out

    def score_details(self, batch: Sequence[Encoded]) -> dict[str, np.ndarray]:
        """Per text: policy and reference log-prob sums, scored token counts, rewards."""
        self.load()
        input_ids, attention = self._batch(batch)
        policy = self._logprob_sums(self.policy, batch, input_ids, attention)
        reference = (self._logprob_sums(self.reference, batch, input_ids, attention) if self.reference is not None
                     else np.zeros(len(batch)))
        n = np.array([self.n_scored(e) for e in batch], dtype=np.float64)
        reward = self.beta * (policy - reference)
        if self.length_normalize:
            reward = reward / np.maximum(n, 1)
        reward = np.where(n > 0, reward, np.nan)  # a template that renders no response token: invalid, not 0
        return {"policy_logp": policy, "reference_logp": reference, "n_scored": n, "reward": reward}

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        return self.score_details(batch)["reward"].astype(np.float64)
