"""The hardware each model job of a run asks for, listed (Snakemake's dry run prints each rule's message, not its
resources)::

    python -m rmeval.config.sizes rms=rmb_paper 'benchmarks=[rmb]'
    python -m rmeval.config.sizes rms=rmb_paper gpu_memory_gb=141

The arguments are the ``key=value`` pairs of ``snakemake --config`` (the same overrides, the same validation).
One row per RM of the run and per policy and judge of its constructed benchmarks: the model's size and where it
came from, bytes per parameter, the GPUs, the memory the model needs (on those GPUs together, or the host's for a
CPU job), and what the job asks the scheduler for on a cluster (``rmeval.config.jobs.job_resources``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

from rmeval.config.compose import compose, compose_benchmark, rm_node
from rmeval.config.fields import ConfigError
from rmeval.config.jobs import job_resources, size_job, starts_server, uses_local_model
from rmeval.config.overrides import user_overrides
from rmeval.errors import RmevalError

COLUMNS = ("job", "name", "params_b", "from", "bytes", "gpus", "need_gb", "mem_mb", "runtime", "threads")


def snakemake_config(pairs: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs parsed as Snakemake parses ``--config`` (each value as YAML)."""
    import yaml

    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RmevalError(f"argument {pair!r}: expected key=value, as snakemake --config takes")
        config[key] = yaml.safe_load(value) if value else ""
    return config


def model_jobs(overrides: list[str]) -> Iterator[tuple[str, Any]]:
    """(group, node) of every RM of the run and every policy and judge of its constructed benchmarks."""
    cfg = compose(overrides)
    for name in cfg.rms.names:
        yield "rm", rm_node(cfg, str(name), overrides)
    seen = set()
    for benchmark in cfg.benchmarks.names:
        spec = compose_benchmark(str(benchmark), overrides).get("construct")
        if not spec:
            continue
        for group, name in [*(("policy", p) for p in spec.get("policies") or []), ("judge", spec.get("judge"))]:
            if name and (group, name) not in seen:
                seen.add((group, name))
                yield group, compose([*overrides, f"{group}={name}"])[group]


def rows(overrides: list[str]) -> list[tuple]:
    """One row per model job (``COLUMNS``); a job whose YAML sets all it asks for shows no size when it has none."""
    gpu_memory_gb = compose(overrides).get("gpu_memory_gb")
    out = []
    for group, node in model_jobs(overrides):
        res = job_resources(node, None, gpu_memory_gb)  # fails first where the size is needed and unknown
        size = None
        if uses_local_model(node) or starts_server(node):
            try:
                size = size_job(node, gpu_memory_gb)
            except ConfigError:  # resources: sets gpus, mem_mb and runtime (a YAML that cannot run, say)
                pass
        info = (f"{size.params_b:g}", size.source, f"{size.bytes_per_param:g}", f"{size.need_gb:.1f}") if size else ("-",) * 4
        out.append((group, node.get("name"), *info[:3], res.get("gpu", 0), info[3], res["mem_mb"], res["runtime"],
                    res["threads"]))
    return out


def table(records: list[tuple]) -> str:
    cells = [COLUMNS, *[tuple(str(c) for c in r) for r in records]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        print(table(rows(user_overrides(snakemake_config(argv)))))
    except RmevalError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
