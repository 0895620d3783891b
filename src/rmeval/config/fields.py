"""Shared pieces of every settings dataclass: the config error, enum types and the value checks on fields.

Value checks beyond types are declared on the fields (``field(metadata=...)``) and applied at compose time by
``rmeval.config.validate``: a range (``at_least``, ``above``, ``between``, ``fraction``, ``finite``; None passes
where the type is optional; ``each`` applies one to every entry of a list), ``nonempty`` and ``unique`` (a list),
``pattern`` (a regex the whole string must match). Enum-typed fields (``DType`` ...) are checked by OmegaConf itself.
This module imports nothing heavy: family, benchmark and backend modules declare their settings with it, and each
such class receives its settings dataclass through ``settings`` (built from keyword arguments when none is given).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, TypeVar

from rmeval.errors import RmevalError

C = TypeVar("C")


class ConfigError(RmevalError):
    """A config that does not validate; the message names the group, the file and the key."""


def at_least(n: int | float) -> dict:
    """Field metadata: the value must be >= n (None passes where the type allows it)."""
    return {"range": Range(low=n)}


def above(n: float) -> dict:
    """Field metadata: the value must be > n."""
    return {"range": Range(low=n, low_open=True)}


def between(low: float, high: float, low_open: bool = False, high_open: bool = False) -> dict:
    """Field metadata: low <= value <= high (< where that end is open)."""
    return {"range": Range(low, high, low_open, high_open)}


def fraction() -> dict:
    """Field metadata: 0 < value < 1 (a level, a share that must leave something on both sides)."""
    return between(0, 1, low_open=True, high_open=True)


def finite() -> dict:
    """Field metadata: any finite number (a sign, a scale)."""
    return between(-math.inf, math.inf, low_open=True, high_open=True)


def each(meta: dict) -> dict:
    """Field metadata: every entry of a list passes ``meta``'s range (e.g. ``each(between(0, 1))``)."""
    return {"each": meta["range"]}


@dataclass(frozen=True)
class Range:
    """A number's allowed interval; a bound that is None is absent, an open one excludes its end. NaN is outside."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def problem(self, value: float) -> str | None:
        """Why ``value`` is outside (e.g. "must be in (0, 1), got 1.5"), or None when it is inside."""
        low, high = self.low, self.high
        above_low = low is None or (value > low if self.low_open else value >= low)
        below_high = high is None or (value < high if self.high_open else value <= high)
        if above_low and below_high and value == value:  # NaN equals nothing
            return None
        if high is None:
            return f"must be {'>' if self.low_open else '>='} {low}, got {value}"
        if low is None:
            return f"must be {'<' if self.high_open else '<='} {high}, got {value}"
        return f"must be in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}, got {value}"


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


class Batching(Enum):
    """How a decoder classifier's batches are laid out (rmeval.rms.classifier.choose_batching)."""

    auto = "auto"  # packed on the CPU where the model can pack, padded on a GPU (the path measured there)
    packed = "packed"  # texts end to end in one row, no padding (falls back to padded where the model cannot pack)
    padded = "padded"  # right-padded rows, length-sorted


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
