"""Publication-quality figures of RM benchmark metrics, downstream best-of-N results and their correlation.

One module per figure. Each registers its drawing function ``draw(data, out)`` in :data:`FIGURES` with what the
workflow needs to know about it::

    @FIGURES.register("leaderboard", category="Benchmark", judged=False)
    def draw(data: PlotData, out) -> list[Path]: ...

- ``category`` (default "Benchmark"): the Snakemake report's category;
- ``judged`` (default True): drawn only for benchmarks whose items carry judge scores (those with a downstream
  stage); False: drawn for every benchmark;
- ``scope``: ``"benchmark"`` (default; results/plots/{benchmark}/) or ``"all"`` (across benchmarks,
  results/plots/all/);
- ``pairwise`` (default False): True: drawn only when the run lists a pairwise judge (it needs comparisons);
- ``stem``: the output file name without extension (default: the figure's name);
- ``caption``: its caption in workflow/report/ (default: ``<name>.rst``).

Every figure is drawn with the non-interactive Agg backend and saved as ``<out>.png`` (150 dpi) and ``<out>.pdf``.
Missing values (None / NaN), a single RM, an RM without downstream data and an empty correlation table are drawn
(or explained in the figure) rather than raising. Importing this package (and listing the figures) imports no
matplotlib, numpy or pandas: the Snakefile derives the plot rules' outputs from :func:`figures`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmeval.errors import RmevalError
from rmeval.registry import Registry

FIGURES: Registry[Callable[..., list[Path]]] = Registry("figure", package="rmeval.plots")
SCOPES = ("benchmark", "all")


@dataclass
class PlotData:
    """What the figures draw from; each figure reads the fields it needs (an absent one: a message figure).

    ``metrics`` / ``downstream``: one dict per RM (results/metrics, results/downstream); ``correlation`` /
    ``points``: the correlation stage's table and its points (pandas frames); ``significance``: the paired-test
    table; ``alpha``: its significance level."""

    metrics: Sequence[Mapping] = ()
    downstream: Sequence[Mapping] = ()
    correlation: Any = None
    points: Any = None
    significance: Any = None
    alpha: float = 0.05

    @property
    def primary(self) -> str | None:
        """The benchmark's primary headline column, as its metrics name it."""
        for m in self.metrics:
            head = m.get("headline") if isinstance(m, Mapping) else None
            if isinstance(head, Mapping) and head.get("primary"):
                return str(head["primary"])
        return None


@dataclass(frozen=True)
class Figure:
    """A registered figure with its metadata, defaults filled in (see the module docstring)."""

    name: str
    draw: Callable[..., list[Path]]
    stem: str
    caption: str
    category: str
    scope: str
    judged: bool
    pairwise: bool


def figures(judged: bool = True, scope: str = "benchmark", pairwise: bool = True) -> list[Figure]:
    """The registered figures of ``scope``; ``judged=False``: only those drawn for benchmarks without judge scores;
    ``pairwise=False``: not those that need a pairwise judge among the RMs (a run without one)."""
    if scope not in SCOPES:
        raise RmevalError(f"figure scope {scope!r}: expected one of {', '.join(SCOPES)}")
    out = []
    for name, draw in FIGURES.items():
        meta = FIGURES.meta(name)
        fig = Figure(name=name, draw=draw, stem=meta.get("stem", name), caption=meta.get("caption", f"{name}.rst"),
                     category=meta.get("category", "Benchmark"), scope=meta.get("scope", "benchmark"),
                     judged=meta.get("judged", True), pairwise=meta.get("pairwise", False))
        if fig.scope == scope and (judged or not fig.judged) and (pairwise or not fig.pairwise):
            out.append(fig)
    return out


def figure_names(judged: bool = True, scope: str = "benchmark", pairwise: bool = True) -> list[str]:
    """The names of :func:`figures` (what ``draw_all`` and the plot stage's ``io.only`` take)."""
    return [f.name for f in figures(judged, scope, pairwise)]


def draw_all(data: PlotData, out_dir: str | Path, names: Sequence[str] | None = None) -> dict[str, list[Path]]:
    """Draw the named figures (default: every per-benchmark figure) into ``out_dir``: ``<stem>.png`` and
    ``<stem>.pdf`` each. Returns the paths written per figure name."""
    every = {f.name: f for scope in SCOPES for f in figures(scope=scope)}
    names = figure_names() if names is None else [str(n) for n in names]
    unknown = sorted(set(names) - set(every))
    if unknown:
        raise RmevalError(f"figure(s) {', '.join(unknown)}: unknown; known: {', '.join(sorted(every))}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {name: every[name].draw(data, out_dir / every[name].stem) for name in names}
