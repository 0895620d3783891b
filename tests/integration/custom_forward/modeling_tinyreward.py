"""Two reward models with their own forward, as their repositories ship them behind AutoModel:
- TinyInternRM (InternLM2-reward-shaped): output `logits` = v_head(hidden at the last real token);
- TinyEurusRM (Eurus-RM-shaped): returns a bare tensor of rewards.
The hidden state is the token embedding itself, so a test can compute a reward by hand from the weights."""

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutputWithPast

from .configuration_tinyreward import TinyRewardConfig


class _Base(PreTrainedModel):
    config_class = TinyRewardConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.v_head = nn.Linear(config.hidden_size, 1, bias=False)
        self.post_init()

    def _last(self, input_ids, attention_mask):
        hidden = self.embed(input_ids)
        last = attention_mask.sum(-1) - 1
        return self.v_head(hidden[torch.arange(hidden.shape[0]), last])


class TinyInternRM(_Base):
    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        return SequenceClassifierOutputWithPast(logits=self._last(input_ids, attention_mask))


class TinyEurusRM(_Base):
    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        return self._last(input_ids, attention_mask).squeeze(-1)
