"""Sequence-classifier RMs (``AutoModelForSequenceClassification``): one logit per text is the reward.

Pitfalls handled here (docs/benchmarks.md):
- chat template: the tokenizer's own over the whole conversation plus the response; a configurable fall-back
  only when the tokenizer has none (or when asked); the rendered text is tokenised without adding special tokens
  a second time (no double BOS);
- pad token: decoder classifiers pool the rightmost token that is not ``pad_token_id``; when pad = EOS and the
  template ends with EOS, that would skip the real last token. The engine right-pads each batch with an id that
  occurs in none of its texts, so pooling always lands on each text's real last token, batched or not (packed
  batches, ``batching: packed``, read each text's last token directly; ``rmeval.rms.batching``);
- truncation: ``max_length`` with a side (left keeps the response), counted per text;
- dtype and device: explicit, recorded in the fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rmeval.config.fields import Batching, ChatTemplateMode, TruncationSide, at_least, settings
from rmeval.rms.base import RM_FAMILIES, Encoded, LocalModelRMConfig, PointwiseRM

if TYPE_CHECKING:
    import torch

# rmeval.hf's names that older imports take from this module, served on first use (rmeval.hf imports torch)
_HF_NAMES = ("DTYPES", "RMLoadError", "default_token_budget", "hf_source_kwargs", "init_runtime", "load_error",
             "load_pretrained", "pick_device", "pick_dtype", "refuse_custom_code", "unpinned_revision", "weights_digest")


def __getattr__(name: str) -> Any:
    if name in _HF_NAMES:
        from rmeval import hf

        return getattr(hf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

log = logging.getLogger(__name__)

# Used when the tokenizer has no chat template (e.g. BERT-style encoders) or chat_template: fallback.
DEFAULT_FALLBACK_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | capitalize }}: {{ message['content'] }}"
    "{% if not loop.last %}{{ '\\n\\n' }}{% endif %}"
    "{% endfor %}"
)

@dataclass
class ClassifierRMConfig(LocalModelRMConfig):
    chat_template: ChatTemplateMode = ChatTemplateMode.auto  # auto: the tokenizer's own, else fallback_template; fallback: always fallback
    fallback_template: str | None = None  # Jinja; null = rmeval's plain "role: content" template
    truncation_side: TruncationSide = TruncationSide.left  # left keeps the response (end of the text); right keeps the start
    score_index: int = field(default=0, metadata=at_least(0))  # which logit is the reward
    output_field: str = "logits"  # the model output's attribute holding rewards (custom heads: e.g. "score")
    device_map: Any = None  # null: the whole model on `device`; auto | balanced | sequential | {module: device}
    max_memory: Any = None  # with device_map: per-device caps, e.g. {"0": 70GiB, "1": 70GiB, cpu: 200GiB}
    attn_implementation: str | None = "sdpa"  # sdpa | eager | flash_attention_2 (needs flash-attn) | null
    quantization: str | None = None  # null | 8bit | 4bit (needs bitsandbytes; implies device_map: auto)
    offload_folder: str | None = None  # where a device_map's "disk" modules live
    # auto: padded rows (on the CPU, with shared prompt prefixes computed once where that plan has fewer forward
    # tokens; on a GPU plain padded, the path measured there); packed: texts end to end, no padding (padded with a log
    # line where the model cannot pack); padded: padded rows (rmeval.rms.batching)
    batching: Batching = Batching.auto
    share_prefixes: bool = True  # compute a prompt prefix that several texts of a batch share once


def free_pad_id(batch_ids: Sequence[Sequence[int]], preferred: int | None, vocab_size: int) -> int:
    """A token id that occurs in none of the batch's texts (the preferred pad id when it qualifies)."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    for ids in batch_ids:
        counts += np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocab_size)[:vocab_size]
    if preferred is not None and 0 <= preferred < vocab_size and counts[preferred] == 0:
        return int(preferred)
    free = np.flatnonzero(counts == 0)
    if len(free) == 0:
        raise RuntimeError("every vocabulary id occurs in the batch; cannot choose a pad id")
    return int(free[-1])


# tokenizer_class values for which AutoTokenizer builds the generic fast tokenizer (transformers 5's TokenizersBackend)
GENERIC_FAST_TOKENIZERS = ("PreTrainedTokenizerFast", "TokenizersBackend")


def load_tokenizer(ident: str, source: dict):
    """``AutoTokenizer.from_pretrained(ident)``, without its detour through the model config where a local folder
    names the generic fast tokenizer: AutoTokenizer reads the config (importing the model family's modules, about a
    second) and then builds the same class from the same files. Here that import is left to the model load, which
    runs while texts are tokenised."""
    import json

    from pathlib import Path

    folder = Path(ident)
    config = folder / "tokenizer_config.json"
    if folder.is_dir() and (folder / "tokenizer.json").is_file() and config.is_file():
        try:
            declared = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            declared = {}
        if declared.get("tokenizer_class") in GENERIC_FAST_TOKENIZERS and "auto_map" not in declared:
            from transformers import PreTrainedTokenizerFast

            return PreTrainedTokenizerFast.from_pretrained(ident, **source)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ident, **source)


@RM_FAMILIES.register()
class SequenceClassifierRM(PointwiseRM):
    load_while_encoding = True  # the scoring engine loads the model on a second thread while texts are tokenised

    @property
    def packs_batches(self) -> bool:
        return self.path.packed

    @property
    def min_shared_prefix(self) -> int:
        """The shortest common prefix a batch computes once (0: none shared)."""
        return self.path.min_prefix

    def plan(self, encoded: Sequence[Encoded]) -> list[list[int]]:
        """The scoring engine's batches for these texts (positions): of the candidate paths chosen at load, the one
        whose plan processes the fewest forward tokens (``rmeval.rms.batching.cheapest``); it becomes ``path``."""
        from rmeval.rms.batching import cheapest

        candidates = self.candidates
        path, batches, costs = cheapest(candidates, [e.payload for e in encoded], self.token_budget, self.max_batch_size)
        if len(candidates) > 1:
            log.info("%s: %s batches (forward tokens: %s)", self.name, path.name,
                     ", ".join(f"{k} {v:,}" for k, v in costs.items()))
        self.path = path
        return batches

    def forward_tokens(self, batch: Sequence[Encoded]) -> int:
        return self.path.forward_tokens([e.payload for e in batch])

    def shared_tokens(self, batch: Sequence[Encoded]) -> int:
        return self.path.shared_tokens([e.payload for e in batch])

    Config = ClassifierRMConfig

    def __init__(self, config: ClassifierRMConfig | None = None, **given):
        from rmeval.hf import RMLoadError, init_runtime, unpinned_revision

        c = self.config = settings(self.Config, config, given, type(self).__name__)
        name, model, truncation_side, chat_template = c.name, c.model, c.truncation_side, c.chat_template
        if truncation_side not in ("left", "right"):
            raise RMLoadError(f"rm {name}: field 'truncation_side': expected left or right, got {truncation_side!r}")
        if str(getattr(c.batching, "value", c.batching)) not in ("auto", "packed", "padded"):
            raise RMLoadError(f"rm {name}: field 'batching': expected auto, packed or padded, got {c.batching!r}")
        if chat_template not in ("auto", "fallback"):
            raise RMLoadError(f"rm {name}: field 'chat_template': expected auto or fallback, got {chat_template!r}")
        self.name, self.model_id, self.revision = name, model, c.revision
        self.tokenizer_id = c.tokenizer or model
        self.chat_template_mode, self.fallback_template = chat_template, c.fallback_template or DEFAULT_FALLBACK_TEMPLATE
        self.max_length, self.truncation_side = int(c.max_length), truncation_side
        init_runtime(self, c.device, c.dtype, c.trust_remote_code, c.token_budget, c.max_batch_size, device_map=c.device_map,
                     max_memory=c.max_memory, attn_implementation=c.attn_implementation, quantization=c.quantization,
                     offload_folder=c.offload_folder)
        self.score_index, self.output_field = int(c.score_index), c.output_field
        self.tokenizer = None
        self.model = None
        from rmeval.rms.batching import Path

        # how batches are laid out (rmeval.rms.batching): the candidates chosen at load; ``plan`` keeps the cheapest
        self.path = Path()
        self.candidates = [self.path]
        self._template: str | None = None
        self.double_bos_fixed = 0
        self._load_tokenizer()
        if unpinned_revision(self.model_id, self.revision):
            log.warning("rm %s: %s", name, unpinned_revision(self.model_id, self.revision)["revision_warning"])

    # ------------------------------------------------------------------ loading
    @property
    def _where(self) -> str:
        return f"conf/rm/{self.name}.yaml"

    def _source_kwargs(self, ident: str) -> dict:
        from rmeval.hf import hf_source_kwargs

        return hf_source_kwargs(ident, self.revision, self.trust_remote_code)

    def _load_tokenizer(self) -> None:
        from rmeval.hf import load_error

        try:
            self.tokenizer = load_tokenizer(self.tokenizer_id, self._source_kwargs(self.tokenizer_id))
        except Exception as err:
            raise load_error(f"rm {self.name}", self._where, "tokenizer", self.tokenizer_id, err, self.trust_remote_code,
                             f"give a local folder in {self._where} (model/tokenizer) when the hub is unreachable") from None
        own = getattr(self.tokenizer, "chat_template", None)
        self._template = own if (own and self.chat_template_mode == "auto") else self.fallback_template
        self.template_source = "tokenizer" if self._template is own else "fallback"

    def load(self) -> None:
        if self.model is not None:
            return
        from transformers import AutoModelForSequenceClassification

        from rmeval.hf import RMLoadError, load_pretrained

        model = load_pretrained(AutoModelForSequenceClassification, self.model_id, who=f"rm {self.name}", where=self._where,
                                what="model", placement=self.placement, trust_remote_code=self.trust_remote_code,
                                revision=self.revision)
        n_labels = model.config.num_labels
        if self.output_field == "logits" and not 0 <= self.score_index < n_labels:
            raise RMLoadError(f"rm {self.name}: field 'score_index': {self.score_index} but the model has {n_labels} logits")
        self.model = model
        self.input_device = self.placement.input_device(model)
        self._text_config = self.model.config.get_text_config()
        self.vocab_size = int(getattr(self._text_config, "vocab_size", None) or len(self.tokenizer))
        candidates, why = self.choose_batching()
        self.candidates, self.path = candidates, candidates[0]
        log.info("%s: %s batches (%s)", self.name, " or ".join(p.name for p in candidates), why)

    def choose_batching(self):
        """(candidate paths, why) for the loaded model (``rmeval.rms.batching.choose``)."""
        from rmeval.rms.batching import Path, choose

        if self.output_field != "logits":
            return [Path()], f"padded: output_field {self.output_field!r}"
        mode = str(getattr(self.config.batching, "value", self.config.batching))
        return choose(self.model, mode, bool(self.config.share_prefixes), self.placement.attn_implementation,
                      str(self.input_device) != "cpu")

    # ------------------------------------------------------------------ interface
    def fingerprint(self) -> dict:
        from rmeval.hf import unpinned_revision, weights_digest

        template_hash = hashlib.sha256(self._template.encode("utf-8")).hexdigest()[:16]
        return {
            "family": "sequence_classifier",
            "model": self.model_id,
            "revision": self.revision,
            "tokenizer": self.tokenizer_id,
            "chat_template_sha256": template_hash,
            "chat_template_source": self.template_source,
            "max_length": self.max_length,
            "truncation_side": self.truncation_side,
            **self.placement.fingerprint(),
            "score_index": self.score_index,
            "output_field": self.output_field,
            "weights_sha256": weights_digest(self.model_id),
            **unpinned_revision(self.model_id, self.revision),
        }

    def render(self, conversation: Sequence[dict], response: str) -> str:
        messages = [{"role": t["role"], "content": t["content"]} for t in conversation]
        messages.append({"role": "assistant", "content": response})
        return self.tokenizer.apply_chat_template(messages, chat_template=self._template, tokenize=False)

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        return self.encode_many([text_id], [conversation], [response])[0]

    def encode_many(self, text_ids: Sequence[str], conversations: Sequence, responses: Sequence[str]) -> list[Encoded]:
        """Render every text with the chat template, then tokenise them in bulk (the fast tokenizer's batch path)."""
        tok = self.tokenizer
        bos = tok.bos_token
        rendered = [self.render(list(c), r) for c, r in zip(conversations, responses)]
        # A template that already writes BOS (or any special prefix) must not get a second one.
        with_bos = [bool(bos) and t.startswith(bos) for t in rendered]
        ids_all: list[list[int] | None] = [None] * len(rendered)
        for add_special in (False, True):
            idx = [i for i, wb in enumerate(with_bos) if wb != add_special]
            if idx:
                out = tok([rendered[i] for i in idx], add_special_tokens=add_special)["input_ids"]
                for i, ids in zip(idx, out):
                    ids_all[i] = ids
        encoded = []
        for ids in ids_all:
            if bos is not None and len(ids) > 1 and ids[0] == ids[1] == tok.bos_token_id:
                ids = ids[1:]
                self.double_bos_fixed += 1
            truncated = len(ids) > self.max_length
            if truncated:
                ids = self._truncate(ids)
            encoded.append(Encoded(payload=ids, n_tokens=len(ids), truncated=truncated))
        return encoded

    def _truncate(self, ids: list[int]) -> list[int]:
        special = set(self.tokenizer.all_special_ids)
        keep = self.max_length
        if self.truncation_side == "left":
            head = ids[:1] if ids[0] in special else []
            return head + ids[len(ids) - (keep - len(head)):]
        tail = ids[-1:] if ids[-1] in special else []
        return ids[: keep - len(tail)] + tail

    def batch_ids(self, batch: Sequence[Encoded]) -> tuple[torch.Tensor, torch.Tensor, int]:
        import torch

        seqs = [enc.payload for enc in batch]
        pad = free_pad_id(seqs, self.tokenizer.pad_token_id, self.vocab_size)
        width = max(len(s) for s in seqs)
        input_ids = np.full((len(seqs), width), pad, dtype=np.int64)
        attention = np.zeros((len(seqs), width), dtype=np.int64)
        for i, s in enumerate(seqs):  # right padding: positions of real tokens never shift
            input_ids[i, : len(s)] = s
            attention[i, : len(s)] = 1
        return torch.from_numpy(input_ids), torch.from_numpy(attention), pad

    def padded_forward(self, batch: Sequence[Encoded]):
        """The model's output on a right-padded batch whose pad id occurs in none of its texts (so last-token
        pooling lands on each text's real last token, also when pad = EOS)."""
        import torch

        input_ids, attention, pad = self.batch_ids(batch)
        saved = self._text_config.pad_token_id
        self._text_config.pad_token_id = pad
        try:
            with torch.inference_mode():
                return self.model(input_ids=input_ids.to(self.input_device), attention_mask=attention.to(self.input_device))
        finally:
            self._text_config.pad_token_id = saved

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        self.load()
        seqs = [enc.payload for enc in batch]
        if self.path.packed:
            from rmeval.rms._packed_forward import packed_logits

            values = packed_logits(self.model, seqs, self.input_device, self.placement.attn_implementation,
                                   self.path.min_prefix)
            return values[:, self.score_index].float().cpu().numpy().astype(np.float64)
        if self.path.min_prefix and self.path.shared_tokens(seqs):
            from rmeval.rms.prefix_cache import prefix_cached_logits

            pad = free_pad_id(seqs, self.tokenizer.pad_token_id, self.vocab_size)
            values = prefix_cached_logits(self.model, seqs, self.input_device, pad, self.path.min_prefix)
            return values[:, self.score_index].float().cpu().numpy().astype(np.float64)
        if self.path.unmasked or self.path.min_prefix:  # (a batch whose texts share no prefix: plain rows)
            from rmeval.rms.prefix_cache import right_padded_logits

            pad = free_pad_id(seqs, self.tokenizer.pad_token_id, self.vocab_size)
            values = right_padded_logits(self.model, seqs, self.input_device, pad)
            return values[:, self.score_index].float().cpu().numpy().astype(np.float64)
        out = self.padded_forward(batch)
        values = getattr(out, self.output_field, None)
        if values is None:
            from rmeval.hf import RMLoadError

            raise RMLoadError(f"rm {self.name}: the model output has no field {self.output_field!r}; set output_field in conf/rm/{self.name}.yaml")
        values = values if values.dim() > 1 else values.unsqueeze(-1)
        return values[:, self.score_index].float().cpu().numpy().astype(np.float64)

