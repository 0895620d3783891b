"""Registries: everything a config chooses by name registers itself where it is defined.

An RM family, a benchmark, an LLM backend, a build kind or a figure is declared once, in its own module, with a
decorator::

    RM_FAMILIES = Registry("RM family", package="rmeval.rms")

    @RM_FAMILIES.register()
    class SequenceClassifierRM(PointwiseRM): ...

Every list the rest of the project needs (the known ``_target_`` values, the pairwise judges, the figures) is derived
from the registry, never typed out. Keys are the dotted class paths that YAML ``_target_`` fields name (or a short
name given to ``register(name=...)``); a lookup of a dotted path imports its module, so a family or benchmark that
lives outside ``rmeval`` (a user's own module on ``PYTHONPATH``) registers itself the moment a YAML names it.

Modules that register must stay cheap to import (no torch or transformers at module level): the Snakefile looks
classes up at every dry run.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named objects of one kind. ``package``: the package (or packages) whose modules hold the built-in entries
    (imported on the first listing, so ``names()`` is complete without an import list)."""

    def __init__(self, kind: str, package: str | tuple[str, ...] | None = None) -> None:
        self.kind = kind
        self.packages = (package,) if isinstance(package, str) else tuple(package or ())
        self._entries: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._scanned = False

    def register(self, name: str | None = None, **meta: Any) -> Callable[[T], T]:
        """Decorator: register the object under ``name`` (default: its dotted path ``module.QualName``)."""

        def deco(obj: T) -> T:
            key = name or f"{obj.__module__}.{obj.__qualname__}"
            previous = self._entries.get(key)
            if previous is not None and previous is not obj and _origin(previous) != _origin(obj):
                raise ValueError(f"{self.kind} {key!r} is registered twice ({_origin(previous)} and {_origin(obj)})")
            self._entries[key] = obj
            self._meta[key] = dict(meta)
            return obj

        return deco

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        for package in self.packages:
            pkg = importlib.import_module(package)
            for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{package}."):
                if not info.name.rsplit(".", 1)[-1].startswith("_"):
                    importlib.import_module(info.name)

    def get(self, key: str) -> T | None:
        """The entry registered as ``key``; a dotted path is imported first (its module registers it). None if the
        module does not exist or registers no such entry."""
        if key in self._entries:
            return self._entries[key]
        if "." in key:
            module = key.rsplit(".", 1)[0]
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if err.name is None or not module.startswith(err.name):
                    raise  # the module exists but one of its own imports is missing: a real error
                return None
        else:
            self._scan()
        return self._entries.get(key)

    def meta(self, key: str) -> dict[str, Any]:
        self.get(key)
        return self._meta.get(key, {})

    def names(self) -> list[str]:
        """Every key: the built-in package's entries plus any registered from elsewhere so far."""
        self._scan()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        self._scan()
        for key in sorted(self._entries):
            yield key, self._entries[key]

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


def _origin(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


# The registries of the model and evaluation layers, declared here (the foundation layer) so that ``rmeval.config``
# can look a ``_target_`` up without importing those layers; the packages are named as strings and scanned on the
# first listing. Each class registers itself in its own module and declares its settings as its class's ``Config``.

#: RM families, keyed by the dotted class path an RM YAML's ``_target_`` names (``@RM_FAMILIES.register()``)
RM_FAMILIES: Registry[type] = Registry("RM family", package="rmeval.rms")
#: benchmark classes, keyed by the dotted class path ``conf/benchmark/<name>.yaml``'s ``_target_`` names
BENCHMARKS: Registry[type] = Registry("benchmark", package="rmeval.benchmarks")
#: chat backends (local models, servers, APIs), keyed by the dotted class path a ``backend._target_`` names
BACKENDS: Registry[type] = Registry("backend", package=("rmeval.llm", "rmeval.rms"))
#: build kinds: ``make(out, build, rm)`` functions keyed by the name an RM YAML's ``build.kind`` gives
BUILD_KINDS: Registry[Callable[[Any, Any, Any], Any]] = Registry("build kind", package="rmeval.rms")
