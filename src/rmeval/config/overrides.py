"""User overrides: what a user gives Snakemake (``--config key=value``, ``overrides='[a=1,b=2]'``) as Hydra
override strings."""

from __future__ import annotations

import re
from typing import Any


def split_overrides(raw: Any) -> list[str]:
    """User overrides from ``--config overrides=...``: a string ``"[a=1,b=2]"``/``"a=1"`` or a list.

    Snakemake parses the value as YAML, which may split ``rms.names=[random,length]`` at its inner comma; the
    pieces are re-joined and split again only at top-level commas (outside brackets and quotes).
    """
    if raw is None or raw == "" or raw == []:
        return []
    text = ",".join(str(x) for x in raw) if isinstance(raw, (list, tuple)) else str(raw).strip()
    if text.startswith("[") and text.endswith("]") and _balanced(text[1:-1]):
        text = text[1:-1]
    parts, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


# Config groups that are lists of names: `--config rms=[random,length]` sets rms.names.
LIST_GROUPS = ("rms", "benchmarks")


def user_overrides(config: dict | None) -> list[str]:
    """The Hydra overrides a user gave Snakemake: every ``--config key=value`` pair (and every key of a
    ``--configfile``, nested keys joined with dots) as ``key=value``, then the raw list in ``overrides=``.

    Snakemake only accepts identifiers as ``--config`` keys, so ``__`` stands for a dot (``metrics__n_boot=7``),
    and a list given to a list group sets its names (``benchmarks=[rmb,rewardbench]``,
    ``rms=[random,length]``).

    Nothing is dropped: a key that matches no config entry or group makes the composition fail with one line.
    """
    config = dict(config or {})
    raw = config.pop("overrides", None)
    out: list[str] = []
    for key, value in config.items():
        key = str(key).replace("__", ".")  # Snakemake's --config keys cannot hold dots: metrics__n_boot=7
        if key in LIST_GROUPS and isinstance(value, (list, tuple)):
            key = f"{key}.names"  # --config benchmarks=[rmb,rewardbench]: the list group's names
        _flatten(key, value, out)
    return out + split_overrides(raw)


def _flatten(key: str, value: Any, out: list[str]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(f"{key}.{k}", v, out)
    else:
        out.append(f"{key}={hydra_value(value)}")


_PLAIN = re.compile(r"[\w./:@~+\-*?$%]+")


def hydra_value(value: Any) -> str:
    """A Python value (as Snakemake's YAML parsing of --config gives it) in Hydra's override syntax."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _PLAIN.fullmatch(text) or (text.startswith("[") and text.endswith("]")) or text.startswith("${"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch in "[{("
        depth -= ch in "]})"
        if depth < 0:
            return False
    return depth == 0


def _touches_group(override: str, group: str) -> bool:
    """Whether a Hydra override names ``group`` or a key under it (``rm=x``, ``rm.k=v``, ``++rm.k=v``, ``~rm.k``, ...)."""
    key = override.lstrip("+~").split("=", 1)[0].strip()
    return key == group or key.startswith(group + ".") or key.startswith(group + "@")
