"""Shared pieces of every settings dataclass: the config error, enum types and the value checks on fields.

Value checks beyond types are declared on the fields (``field(metadata=...)``) and applied at compose time by
``rmeval.config.validate``: ``min`` (a number, None allowed where the type is optional), ``nonempty`` (a list),
``pattern`` (a regex the whole string must match). Enum-typed fields (``DType`` ...) are checked by OmegaConf itself.
This module imports nothing heavy: family, benchmark and backend modules declare their settings with it, and each
such class receives its settings dataclass through ``settings`` (built from keyword arguments when none is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar

from rmeval.errors import RmevalError

C = TypeVar("C")


class ConfigError(RmevalError):
    """A config that does not validate; the message names the group, the file and the key."""


def at_least(n: int | float) -> dict:
    """Field metadata: the value must be >= n (None passes where the type allows it)."""
    return {"min": n}


DEVICE = {"pattern": r"auto|cpu|mps|cuda(:\d+)?", "expected": "auto, cpu, mps, cuda or cuda:N"}


class DType(Enum):
    auto = "auto"  # bf16 on CUDA, fp32 on CPU
    float32 = "float32"
    bfloat16 = "bfloat16"
    float16 = "float16"


class TruncationSide(Enum):
    left = "left"  # keeps the end of the text (the response)
    right = "right"  # keeps the start


class ChatTemplateMode(Enum):
    auto = "auto"  # the tokenizer's own template, else the fallback
    fallback = "fallback"  # always the fallback template


class LengthUnit(Enum):
    chars = "chars"
    words = "words"


def settings(schema: type[C], config: C | None, given: Mapping[str, Any], who: str) -> C:
    """The settings a class receives (an RM family, a benchmark, a backend): ``config`` itself, or its ``schema``
    dataclass built from keyword arguments (a key the dataclass does not have is one line naming it; a number field
    given something else is converted, so ``"many"`` fails here). Enum values become the plain strings a YAML gives."""
    if config is None:
        unknown = sorted(set(given) - {f.name for f in fields(schema)})
        if unknown:
            raise ConfigError(f"{who}: field {unknown[0]!r}: not a setting of {schema.__name__}")
        config = schema(**given)
    for f in fields(config):
        value = getattr(config, f.name)
        number = _NUMBERS.get(f.type if isinstance(f.type, str) else getattr(f.type, "__name__", None))
        if isinstance(value, Enum):
            setattr(config, f.name, value.value)
        elif number is not None and value is not None and not isinstance(value, (int, float)):
            setattr(config, f.name, number(value))
    return config


_NUMBERS = {"int": int, "int | None": int, "float": float, "float | None": float}  # field annotations, as strings
