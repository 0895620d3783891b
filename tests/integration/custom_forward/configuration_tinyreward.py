"""Config of the tiny custom-forward reward models (InternLM2- and Eurus-shaped), for tests only."""

from transformers import PretrainedConfig


class TinyRewardConfig(PretrainedConfig):
    model_type = "tiny-reward"

    def __init__(self, vocab_size=600, hidden_size=8, pad_token_id=0, **kwargs):
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        super().__init__(pad_token_id=pad_token_id, **kwargs)
