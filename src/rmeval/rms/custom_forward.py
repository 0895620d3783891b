"""RMs whose repository ships its own model class behind ``AutoModel`` and whose forward returns the reward:
InternLM2-1.8b/7b/20b-reward (``logits``, scored at an appended reward token), Eurus-RM-7b (a bare tensor),
WorldPM-72B (the first element of its output), Ziya-LLaMA-7B-Reward (``AutoModelForSequenceClassification`` with
custom code). Their code runs only when the YAML sets ``trust_remote_code: true`` (refused otherwise, before any
code is imported).

``output_field`` names the output's attribute holding the rewards; null means the output itself when it is a
tensor, else its first element. ``score_index`` picks a column when the rewards have several. ``sign`` and
``end_token`` as in ``rmeval.rms.heads``.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass

import numpy as np

from rmeval.rms.base import RM_FAMILIES, Encoded
from rmeval.rms.heads import LastTokenRewardRM, LastTokenRewardRMConfig

AUTO_CLASSES = ("AutoModel", "AutoModelForSequenceClassification")


@dataclass
class CustomForwardRMConfig(LastTokenRewardRMConfig):
    """A repository's own model class whose forward returns the reward (rmeval.rms.custom_forward: InternLM2, Eurus, ...).
    ``end_token``: e.g. InternLM2's [UNUSED_TOKEN_130], the reward token."""

    auto_class: str = "AutoModel"  # AutoModel | AutoModelForSequenceClassification
    output_field: str | None = None  # the output's attribute holding rewards; null = the output itself / its first element


@RM_FAMILIES.register()
class CustomForwardRM(LastTokenRewardRM):
    family = "custom_forward"
    Config = CustomForwardRMConfig
    choices = {"auto_class": AUTO_CLASSES}

    def fingerprint(self) -> dict:
        return {**super().fingerprint(), "auto_class": self.config.auto_class}

    def load(self) -> None:
        from rmeval.hf import load_pretrained

        if self.model is not None:
            return
        import transformers

        model = load_pretrained(getattr(transformers, self.config.auto_class), self.model_id, who=f"rm {self.name}",
                                where=f"conf/rm/{self.name}.yaml", what="model", placement=self.placement,
                                trust_remote_code=self.trust_remote_code, revision=self.revision)
        self.model = model
        self.input_device = self.placement.input_device(model)
        self._text_config = model.config.get_text_config()
        self.vocab_size = int(getattr(self._text_config, "vocab_size", None) or len(self.tokenizer))

    def rewards(self, out) -> torch.Tensor:
        """The reward tensor of a forward's output (see the module docstring)."""
        from rmeval.hf import RMLoadError
        import torch

        if self.output_field:
            values = getattr(out, self.output_field, None)
            if values is None and isinstance(out, dict):
                values = out.get(self.output_field)
            if values is None:
                raise RMLoadError(f"rm {self.name}: the model output has no field {self.output_field!r}; set output_field "
                                  f"in conf/rm/{self.name}.yaml (null: the output itself)")
        else:
            values = out if torch.is_tensor(out) else out[0]
        values = values.float()
        while values.dim() > 2:  # per-position rewards: the caller's model already pooled, or [batch, 1, k]
            values = values.squeeze(1)
        return values if values.dim() == 2 else values.unsqueeze(-1)

    def score_batch(self, batch: Sequence[Encoded]) -> np.ndarray:
        from rmeval.hf import RMLoadError

        self.load()
        values = self.rewards(self.padded_forward(batch))
        if not 0 <= self.score_index < values.shape[1]:
            raise RMLoadError(f"rm {self.name}: field 'score_index': {self.score_index} but the model gives {values.shape[1]} rewards")
        return self.sign * values[:, self.score_index].cpu().numpy().astype(np.float64)
