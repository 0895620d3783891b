"""Benchmarks as objects: one module per benchmark, each built from ``conf/benchmark/<name>.yaml`` by ``_target_``.

See :mod:`rmeval.benchmarks.base` for the interface and docs/benchmarks.md ("Adding a benchmark") for a walk-through.
"""

from __future__ import annotations

from typing import Any

from rmeval.benchmarks.base import BENCHMARKS, Benchmark, BenchmarkError


def build_benchmark(node: Any) -> Benchmark:
    """The benchmark object of a (validated) ``benchmark`` config node or dict."""
    from rmeval.config import to_plain

    cfg = dict(to_plain(node))
    target = cfg.pop("_target_", None)
    if not target:
        raise BenchmarkError(f"benchmark {cfg.get('name')}: field '_target_': missing; a benchmark config names its class "
                             "(e.g. rmeval.benchmarks.rmb.RMBBenchmark); the old 'loader' key is gone")
    cls = BENCHMARKS.get(target)
    if not (isinstance(cls, type) and issubclass(cls, Benchmark)):
        raise BenchmarkError(f"benchmark {cfg.get('name')}: field '_target_': {target} is not a registered benchmark "
                             "(a rmeval.benchmarks.Benchmark subclass decorated with @BENCHMARKS.register())")
    return cls(_target_=target, **cfg)


__all__ = ["Benchmark", "BenchmarkError", "build_benchmark"]
