"""RMs that publish a backbone plus a reward head as plain state-dict keys (no classifier class in transformers):
Starling-RM-7B-alpha and Starling-RM-34B (``transformer.*`` + ``v_head``), UltraRM-13b (``model.*`` +
``regression_head``), Beaver reward and cost (``model.*`` + ``score_head``), GRM (``model.*`` + ``v_head.summary``),
INF-ORM-Llama3.1-70B (``model.*`` + a two-layer ``score`` MLP).

The backbone is the checkpoint's own architecture loaded with ``AutoModel`` (weights under ``backbone_prefix``
renamed by ``key_mapping``); the head is rebuilt from the keys under ``head_prefix``: one ``Linear`` when the prefix
holds ``weight`` itself, else the numbered ``Linear`` layers of an ``nn.Sequential`` with ``activation`` between
them. The reward is ``sign * head(h_last)`` where ``h_last`` is the final hidden state at each text's last real token
(right padding, so that is position ``len - 1``). ``sign: -1`` turns a cost model (higher = more harmful, Beaver
cost) into a reward. ``end_token`` appends one token to every text after truncation (a reward token the model was
trained to score at, e.g. InternLM2's).

Everything else (chat template, no double BOS, truncation, batching with a pad id that occurs in no text) is the
sequence classifier's (``rmeval.rms.classifier``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from rmeval.config.fields import finite, settings
from rmeval.rms.base import RM_FAMILIES, Encoded
from rmeval.rms.classifier import ClassifierRMConfig, SequenceClassifierRM

if TYPE_CHECKING:
    import torch
    from torch import nn

ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "silu": "SiLU"}  # torch.nn's class names


@dataclass
class LastTokenRewardRMConfig(ClassifierRMConfig):
    sign: float = field(default=1.0, metadata=finite())  # -1 turns a cost model (higher = more harmful) into a reward
    end_token: str | None = None  # a token appended to every text (the position the head was trained to score)


@dataclass
class BackboneHeadRMConfig(LastTokenRewardRMConfig):
    """Backbone + reward head from published state-dict keys (rmeval.rms.heads: Starling, UltraRM, Beaver, GRM, INF-ORM)."""

    head_prefix: str = "???"  # state-dict prefix of the head: v_head | regression_head | score_head | v_head.summary | score
    backbone_prefix: str = "model"  # state-dict prefix of the backbone's weights (Starling: transformer)
    activation: str = "relu"  # between the Linear layers of an MLP head


class LastTokenRewardRM(SequenceClassifierRM):
    """A sequence classifier with a sign and an optional appended end token (shared by heads and custom forwards)."""

    family = "last_token_reward"
    Config = LastTokenRewardRMConfig
    choices: ClassVar[dict[str, Collection[str]]] = {}  # a subclass's named settings: field -> allowed values

    def __init__(self, config: LastTokenRewardRMConfig | None = None, **given):
        from rmeval.hf import RMLoadError

        c = settings(self.Config, config, given, type(self).__name__)
        for key, allowed in self.choices.items():  # checked before anything loads
            if getattr(c, key) not in allowed:
                raise RMLoadError(f"rm {c.name}: field '{key}': expected one of {', '.join(allowed)}, got {getattr(c, key)!r}")
        super().__init__(c)
        name, sign, end_token = c.name, c.sign, c.end_token
        if float(sign) not in (1.0, -1.0):
            raise RMLoadError(f"rm {name}: field 'sign': expected 1 or -1, got {sign!r}")
        self.sign = float(sign)
        self.end_token = end_token
        self.end_token_id = None
        if end_token is not None:
            tid = self.tokenizer.convert_tokens_to_ids(end_token)
            if tid is None or tid == self.tokenizer.unk_token_id:
                raise RMLoadError(f"rm {name}: field 'end_token': {end_token!r} is not a token of {self.tokenizer_id!r}")
            self.end_token_id = int(tid)

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "family": self.family, "sign": self.sign, "end_token": self.end_token}

    def encode_many(self, text_ids: Sequence[str], conversations: Sequence, responses: Sequence[str]) -> list[Encoded]:
        if self.end_token_id is None:
            return super().encode_many(text_ids, conversations, responses)
        self.max_length -= 1  # room for the end token
        try:
            encoded = super().encode_many(text_ids, conversations, responses)
        finally:
            self.max_length += 1
        for enc in encoded:
            enc.payload = [*enc.payload, self.end_token_id]
            enc.n_tokens += 1
        return encoded


def checkpoint_files(model: str, revision: str | None) -> list[Path]:
    """The weight files of a local folder or a hub checkpoint (safetensors preferred, else PyTorch .bin)."""
    from rmeval.hf import RMLoadError

    folder = Path(model)
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(model, revision=revision, allow_patterns=["*.json", "*.safetensors", "*.bin"]))
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    if not files:
        raise RMLoadError(f"no .safetensors or .bin weight files in {folder}")
    return files


def read_prefixed(files: Sequence[Path], prefix: str) -> dict[str, torch.Tensor]:
    """Tensors whose key starts with ``prefix.`` (prefix stripped), from safetensors or .bin files."""
    import torch

    found: dict[str, torch.Tensor] = {}
    for path in files:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                for key in f.keys():
                    if key.startswith(prefix + "."):
                        found[key[len(prefix) + 1:]] = f.get_tensor(key)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            found.update({k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")})
    return found


def build_head(state: dict[str, torch.Tensor], activation: str = "relu") -> nn.Module:
    """One Linear (keys ``weight``/``bias``) or an nn.Sequential of numbered Linears with activations between."""
    from rmeval.hf import RMLoadError
    from torch import nn
    import torch

    if "weight" in state:
        head = nn.Linear(state["weight"].shape[1], state["weight"].shape[0], bias="bias" in state)
        head.load_state_dict(state)
        return head
    indices = sorted({int(k.split(".")[0]) for k in state if re.fullmatch(r"\d+\.(weight|bias)", k)})
    if not indices:
        raise RMLoadError(f"head keys {sorted(state)[:4]} are neither weight/bias nor numbered layers")
    layers: list[nn.Module] = []
    loaded: dict[str, torch.Tensor] = {}
    for pos, idx in enumerate(indices):
        w = state[f"{idx}.weight"]
        linear = nn.Linear(w.shape[1], w.shape[0], bias=f"{idx}.bias" in state)
        loaded_here = {"weight": w, **({"bias": state[f"{idx}.bias"]} if f"{idx}.bias" in state else {})}
        linear.load_state_dict(loaded_here)
        layers.append(linear)
        if pos < len(indices) - 1:
            layers.append(getattr(nn, ACTIVATIONS[activation])())
        loaded.update({f"{idx}.{k}": v for k, v in loaded_here.items()})
    extra = set(state) - set(loaded)
    if extra:
        raise RMLoadError(f"head keys not understood: {sorted(extra)[:4]}")
    return nn.Sequential(*layers)


@RM_FAMILIES.register()
class BackboneHeadRM(LastTokenRewardRM):
    family = "backbone_head"
    Config = BackboneHeadRMConfig
    choices = {"activation": ACTIVATIONS}

    def __init__(self, config: BackboneHeadRMConfig | None = None, **given):
        super().__init__(config, **given)
        c = self.config
        self.head_prefix, self.backbone_prefix, self.activation = c.head_prefix, c.backbone_prefix, c.activation
        self.head = None

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "head_prefix": self.head_prefix, "backbone_prefix": self.backbone_prefix,
                "activation": self.activation}

    def load(self) -> None:
        from rmeval.hf import RMLoadError
        from rmeval.hf import load_pretrained
        from torch import nn

        if self.model is not None:
            return
        from transformers import AutoModel

        where = f"conf/rm/{self.name}.yaml"
        mapping = {f"^{re.escape(self.backbone_prefix)}\\.": ""} if self.backbone_prefix else None
        backbone = load_pretrained(AutoModel, self.model_id, who=f"rm {self.name}", where=where, what="backbone",
                                   placement=self.placement, trust_remote_code=self.trust_remote_code,
                                   revision=self.revision, key_mapping=mapping)
        try:
            state = read_prefixed(checkpoint_files(self.model_id, self.revision), self.head_prefix)
            if not state:
                raise RMLoadError(f"no weights under {self.head_prefix!r}")
            head = build_head(state, self.activation)
        except RMLoadError as err:
            raise RMLoadError(f"rm {self.name}: {self.model_id}: field 'head_prefix': {err} (conf/rm/{self.name}.yaml)") from None
        hidden = backbone.config.get_text_config().hidden_size
        first = head if isinstance(head, nn.Linear) else head[0]
        if first.in_features != hidden or (head if isinstance(head, nn.Linear) else head[-1]).out_features != 1:
            raise RMLoadError(f"rm {self.name}: head {self.head_prefix!r} maps {first.in_features} features, the backbone has "
                              f"{hidden}; it must end in one output (conf/rm/{self.name}.yaml)")
        self.model = backbone
        self.input_device = self.placement.input_device(backbone)
        self._text_config = backbone.config.get_text_config()
        self.vocab_size = int(getattr(self._text_config, "vocab_size", None) or len(self.tokenizer))
        # with a device_map the head follows the last hidden state (moved there at the first batch)
        self.head = head.to(dtype=self.dtype, device=self.device if self.placement.device_map is None else "cpu").eval()

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        from torch import nn
        import torch

        self.load()
        input_ids, attention, _ = self.batch_ids(batch)
        with torch.inference_mode():
            hidden = self.model(input_ids=input_ids.to(self.input_device), attention_mask=attention.to(self.input_device)).last_hidden_state
            last = attention.sum(-1) - 1  # right padding: each text's last real token
            pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), last.to(hidden.device)]
            if next(self.head.parameters()).device != pooled.device:
                self.head = self.head.to(pooled.device)
            values = self.head(pooled.to(self.head[0].weight.dtype if isinstance(self.head, nn.Sequential) else self.head.weight.dtype)).squeeze(-1)
        return self.sign * values.float().cpu().numpy().astype(np.float64)

