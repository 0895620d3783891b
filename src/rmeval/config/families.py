"""What the registries say about a ``_target_``: its settings dataclass and its kind.

Nothing here lists families, benchmarks or backends: each class registers itself in its own module (in the
registries of ``rmeval.registry``: ``RM_FAMILIES``, ``BENCHMARKS``, ``BACKENDS``) and says
what it is with class attributes (``Config``, ``writes_comparisons``, ``combines_members``, ``remote``). A lookup
imports only the module the dotted path names, so the Snakefile can ask about every RM YAML at each dry run.
"""

from __future__ import annotations

from typing import Any

from rmeval.registry import BACKENDS, BENCHMARKS, RM_FAMILIES


def rm_family(target: Any) -> type | None:
    """The RM family class a ``_target_`` names; None when no registered family has that path."""
    return RM_FAMILIES.get(target) if isinstance(target, str) and target else None


def benchmark_class(target: Any) -> type | None:
    return BENCHMARKS.get(target) if isinstance(target, str) and target else None


def backend_class(target: Any) -> type | None:
    return BACKENDS.get(target) if isinstance(target, str) and target else None


def rm_schema(target: Any) -> type | None:
    """The settings dataclass of the RM family ``target`` (its class's ``Config``)."""
    return getattr(rm_family(target), "Config", None)


def benchmark_schema(target: Any) -> type | None:
    return getattr(benchmark_class(target), "Config", None)


def backend_schema(target: Any) -> type | None:
    return getattr(backend_class(target), "Config", None)


def is_pairwise_target(target: Any) -> bool:
    """Whether the family writes a comparisons table (verdicts per item, A vs B) instead of one score per text."""
    return bool(getattr(rm_family(target), "writes_comparisons", False))


def is_ensemble_target(target: Any) -> bool:
    """Whether the family combines other RMs' score files (no model, no score job of its own)."""
    return bool(getattr(rm_family(target), "combines_members", False))


def is_remote_backend(target: Any) -> bool:
    """Whether the backend calls a remote server (its jobs need one core and no local model)."""
    return bool(getattr(backend_class(target), "remote", False))


def needs_build(node: Any) -> bool:
    """Whether a rule makes the RM's model folder (``resources/models/{rm}``) first: its YAML has ``build:``."""
    return node.get("build") is not None


def known_rm_families() -> str:
    return ", ".join(RM_FAMILIES.names())


def known_benchmarks() -> str:
    return ", ".join(BENCHMARKS.names())


def known_backends() -> str:
    return ", ".join(BACKENDS.names())


class _FamiliesWith:
    """The ``_target_`` values of the RM families with a class flag set: ``target in PAIRWISE_RM_TARGETS`` asks the
    registry about that one target (its module only); iterating lists them all."""

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def __contains__(self, target: Any) -> bool:
        return bool(getattr(rm_family(target), self.flag, False))

    def __iter__(self):
        return iter([key for key, cls in RM_FAMILIES.items() if getattr(cls, self.flag, False)])


PAIRWISE_RM_TARGETS = _FamiliesWith("writes_comparisons")
ENSEMBLE_RM_TARGETS = _FamiliesWith("combines_members")
