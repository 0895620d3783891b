"""The smoke run's numbers as committed golden files: what a refactor must leave unchanged.

``python tests/golden/smoke_outputs.py <workdir>`` rewrites ``tests/golden/smoke/`` from a finished smoke run (do that
only when a change of numbers is intended, and say why in the commit). The e2e test compares a fresh run with it.
Provenance (hashes, versions, commits) and timings are dropped: they name the run, not its results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "smoke"
# Result files whose every number the smoke run must reproduce (paths relative to the run's directory).
PATTERNS = ("results/runs/*/leaderboard/*", "results/metrics/*/*.json", "results/downstream/*/*.json",
            "results/runs/*/correlation/*.csv", "results/runs/*/significance/*.csv")
DROPPED_KEYS = {"provenance", "wall_s", "forward_s"}


def normalized(node):
    """A JSON value without provenance and timing keys."""
    if isinstance(node, dict):
        return {k: normalized(v) for k, v in node.items() if k not in DROPPED_KEYS}
    if isinstance(node, list):
        return [normalized(v) for v in node]
    return node


def result_files(workdir: Path) -> dict[str, Path]:
    return {str(p.relative_to(workdir)): p for pattern in PATTERNS for p in sorted(workdir.glob(pattern))}


def content(path: Path) -> str:
    """What is compared: JSON normalized and re-serialized with sorted keys; any other file as text."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.dumps(normalized(json.loads(text)), indent=1, sort_keys=True) + "\n"
    return text


def write(workdir: Path) -> None:
    for rel, path in result_files(workdir).items():
        out = GOLDEN / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(content(path), encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
