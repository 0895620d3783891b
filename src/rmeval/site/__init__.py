"""A static results site for one run: leaderboards, an item browser and the suspect items, as plain files.

``results/runs/<run>/site/`` opens from the file system (``file://``) or any static web server; every script and
style is local and nothing is fetched from the network. Layout::

    index.html                           the cross-benchmark leaderboard, its figures, links to every benchmark
    assets/  site.css site.js            the pages' code (vanilla JavaScript: textContent only, never innerHTML)
             nav.js index.js img/         the run's benchmarks, the cross-benchmark data and figures
    benchmarks/<benchmark>/
        leaderboard.html                 the leaderboard (sortable), its notes, the significance matrix, figures
        items.html                       the item browser (filters, pages, one item with its texts and verdicts)
        suspect.html                     items no non-baseline RM gets right, identical texts, label-vs-judge conflicts
        data/summary.js                  the leaderboard, the paired tests, the figures, the RMs
        data/index.js                    every item's groups, chunk, flags and every RM's outcome (one letter each)
        data/chunk-<k>.js                items with their texts, conversations, scores and verdicts
        img/<figure>.png
        manifest.json                    counts the index page shows

``build_benchmark`` writes one benchmark's folder (the ``site_benchmark`` rule, one job per benchmark);
``build_index`` writes the top page and the assets (the ``site`` rule). Item data are split into chunks of about
``items.CHUNK_BYTES`` of text, so a page loads the index (a few bytes per item) and only the chunks of the items it
shows; every text appears once in the site, keyed by ``text_id``, every conversation once, keyed by ``prompt_id``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmeval.site.items import (ALL_WRONG, CHUNK_BYTES, IDENTICAL, JUDGE_CONFLICT, all_wrong, finite, item_flags,
                               number, outcome_codes, split_chunks)
from rmeval.site.pages import copy_assets, copy_figures, folder_size, page_html, write_js
from rmeval.site.tables import figure_entries, leaderboard_table, markdown_text, significance_rows

log = logging.getLogger(__name__)

#: the module of the model-free baselines (rmeval.rms.baselines): an RM whose YAML's _target_ lies there is a
#: baseline, left out of "every non-baseline RM wrong"
BASELINE_MODULE = "rmeval.rms.baselines"
BENCHMARKS_DIR = "benchmarks"
MANIFEST = "manifest.json"


def baseline_rms(targets: Mapping[str, str | None]) -> list[str]:
    """The RMs (name -> its YAML's ``_target_``) that are model-free baselines."""
    return [name for name, target in targets.items() if str(target or "").startswith(BASELINE_MODULE + ".")]


def _vocab(values: pd.Series) -> tuple[list[str], list[int]]:
    """(distinct values in first-seen order, each row's index into them)."""
    names: dict[str, int] = {}
    codes = [names.setdefault(str(v), len(names)) for v in values]
    return list(names), codes


def item_index(items: pd.DataFrame, codes: Mapping[str, str], chunk_of: Sequence[int], baselines: Sequence[str]) -> dict:
    """The browser's index: per item its id, format/goal/task/scenario (indices into ``vocab``), chunk, number of
    losers, flag bits (identical, judge conflict, no non-baseline RM right) and every RM's outcome letter."""
    rms = list(codes)
    flags = item_flags(items)
    judged = [rm for rm in rms if rm not in set(baselines)]
    flags[all_wrong(codes, judged, len(items))] |= ALL_WRONG
    index: dict[str, Any] = {"ids": [str(i) for i in items["item_id"]], "vocab": {}, "chunk": list(chunk_of),
                             "losers": [len(r) for r in items["rejected_ids"]], "flags": flags.tolist(),
                             "outcomes": dict(codes), "judged_rms": judged, "conflicts": {}}
    for col in ("format", "goal", "task", "scenario"):
        index["vocab"][col], index[col] = _vocab(items[col])
    for i in np.flatnonzero(flags & JUDGE_CONFLICT):
        row = items.iloc[int(i)]
        index["conflicts"][str(int(i))] = [number(row["chosen_score"]), number(max(float(s) for s in row["rejected_scores"] if finite(s)))]
    return index


def build_benchmark(out: str | Path, *, bench: Any, items: pd.DataFrame, texts: pd.DataFrame,
                    scores: Mapping[str, pd.DataFrame], comparisons: Mapping[str, pd.DataFrame],
                    sources: Mapping[str, str], rms: Sequence[str], baselines: Sequence[str],
                    leaderboard_csv: str, leaderboard_md: str, significance_csv: str | None = None,
                    figures: Sequence[str] = (), captions: Mapping[str, str] | None = None, alpha: float = 0.05,
                    chunk_bytes: int = CHUNK_BYTES, items_file: str = "items") -> dict:
    """Write one benchmark's folder of the site into ``out`` (made here) and return its manifest.

    ``scores`` / ``comparisons``: RM -> its score table / a pairwise judge's comparisons; ``sources``: RM -> the
    file each came from; ``rms``: the run's RM order; ``baselines``: the model-free RMs among them; ``items_file``:
    where the items came from (named by errors)."""
    out = Path(out)
    name = str(bench.name)
    order = [rm for rm in rms if rm in scores or rm in comparisons]
    order += sorted(rm for rm in [*scores, *comparisons] if rm not in order)
    codes = outcome_codes(bench, items, scores, comparisons, sources)
    codes = {rm: codes[rm] for rm in order}
    chunks = split_chunks(items, texts, {rm: scores[rm] for rm in order if rm in scores},
                          {rm: comparisons[rm] for rm in order if rm in comparisons}, chunk_bytes, items_file)
    index = item_index(items, codes, chunks.of_item, baselines)
    entries = figure_entries(figures, captions or {})
    copy_figures(entries, out / "img")
    summary = {
        "benchmark": name, "description": str(getattr(bench.config, "description", "") or ""),
        "rms": [{"name": rm, "kind": "comparisons" if rm in comparisons else "scores", "baseline": rm in set(baselines)}
                for rm in order],
        "leaderboard": leaderboard_table(leaderboard_csv), "text": markdown_text(leaderboard_md),
        "significance": {"rows": significance_rows(significance_csv) if significance_csv else [], "alpha": alpha,
                         "primary": str(bench.primary)},
        "figures": entries, "n_items": len(items), "n_texts": len(texts), "n_chunks": len(chunks.records),
    }
    data = out / "data"
    sizes = [write_js(data / "summary.js", "summary", summary), write_js(data / "index.js", "index", index)]
    for k, record in enumerate(chunks.records):
        sizes.append(write_js(data / f"chunk-{k}.js", f"chunk-{k}", record))
    scripts = {"leaderboard": ["data/summary.js"], "items": ["data/summary.js", "data/index.js"],
               "suspect": ["data/summary.js", "data/index.js"]}
    titles = {"leaderboard": "leaderboard", "items": "items", "suspect": "suspect items"}
    for page, srcs in scripts.items():
        (out / f"{page}.html").write_text(page_html(f"{name}: {titles[page]}", page, "../../", srcs, name), encoding="utf-8")
    flags = np.asarray(index["flags"])
    manifest = {
        "benchmark": name, "description": summary["description"], "n_items": len(items), "n_texts": len(texts),
        "rms": order, "baselines": [rm for rm in order if rm in set(baselines)],
        "suspect": {"all_wrong": int((flags & ALL_WRONG).astype(bool).sum()), "identical": int((flags & IDENTICAL).astype(bool).sum()),
                    "judge_conflict": int((flags & JUDGE_CONFLICT).astype(bool).sum())},
        "data": {"chunks": len(chunks.records), "index_bytes": sizes[1], "largest_chunk_bytes": max(sizes[2:], default=0)},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    files, total = folder_size(out)
    log.info("%s: %d items, %d unique texts in %d chunks (largest %.0f KB, index %.0f KB); %d files, %.1f MB",
             name, len(items), len(texts), len(chunks.records), manifest["data"]["largest_chunk_bytes"] / 1e3,
             sizes[1] / 1e3, files, total / 1e6)
    return manifest


def build_index(out_html: str | Path, assets: str | Path, *, run: str, leaderboard_csv: str, leaderboard_md: str,
                benchmark_dirs: Sequence[str], figures: Sequence[str] = (), captions: Mapping[str, str] | None = None) -> None:
    """Write the site's top page ``out_html`` (``<site>/index.html``) and its ``assets`` folder (made here): the code,
    the run's list of benchmarks for every page's navigation, the cross-benchmark leaderboard and figures.
    ``benchmark_dirs``: the folders ``build_benchmark`` wrote, in the run's order."""
    from rmeval.data.schema import DataError

    out_html, assets = Path(out_html), Path(assets)
    benchmarks = []
    for folder in benchmark_dirs:
        path = Path(folder) / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: cannot read the benchmark's site manifest: {err}") from None
        if Path(folder).parent.resolve() != out_html.parent.resolve() / BENCHMARKS_DIR:
            raise DataError(f"{folder}: a benchmark's site folder must lie in {out_html.parent / BENCHMARKS_DIR}")
        benchmarks.append({**manifest, "dir": Path(folder).name})
    copy_assets(assets)
    entries = figure_entries(figures, captions or {}, scope="all")
    copy_figures(entries, assets / "img")
    write_js(assets / "nav.js", "nav", {"run": run, "benchmarks": [{"name": b["benchmark"], "dir": b["dir"]} for b in benchmarks]})
    write_js(assets / "index.js", "overview", {
        "run": run, "leaderboard": leaderboard_table(leaderboard_csv), "text": markdown_text(leaderboard_md),
        "figures": entries, "benchmarks": benchmarks,
    })
    out_html.write_text(page_html(f"rmeval results: {run}", "index", "", ["assets/index.js"]), encoding="utf-8")
