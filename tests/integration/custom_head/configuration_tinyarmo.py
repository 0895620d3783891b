"""A tiny multi-objective reward model with custom code (the shape of ArmoRM), for tests only."""

from transformers import PretrainedConfig


class TinyArmoConfig(PretrainedConfig):
    model_type = "tiny-armo"

    def __init__(self, vocab_size=600, hidden_size=16, num_objectives=3, pad_token_id=0, **kwargs):
        self.vocab_size, self.hidden_size, self.num_objectives = vocab_size, hidden_size, num_objectives
        super().__init__(pad_token_id=pad_token_id, **kwargs)
