"""Forward returns `rewards` (one per objective) and `score` (their gated sum), like ArmoRM; no `logits`."""

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_tinyarmo import TinyArmoConfig


@dataclass
class TinyArmoOutput(ModelOutput):
    rewards: torch.FloatTensor = None
    score: torch.FloatTensor = None


class TinyArmoRM(PreTrainedModel):
    config_class = TinyArmoConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.heads = nn.Linear(config.hidden_size, config.num_objectives)
        self.gate = nn.Linear(config.hidden_size, config.num_objectives)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        hidden = self.embed(input_ids)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        last = attention_mask.sum(-1) - 1  # the last real token (right padding)
        pooled = hidden[torch.arange(hidden.shape[0]), last] + (hidden * mask).sum(1) / mask.sum(1)
        rewards = self.heads(pooled)
        weights = torch.softmax(self.gate(pooled), dim=-1)
        return TinyArmoOutput(rewards=rewards, score=(rewards * weights).sum(-1))
