"""The cross-benchmark leaderboard (results/leaderboard/all.*): one row per RM, each benchmark's primary headline with
its CI and rank, the mean rank (weighted, small benchmarks left out unless asked) and published primary numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rmeval.config.schemas import LeaderboardConfig
from rmeval.leaderboards.cells import board_settings, column_cell, column_header, is_missing, no_small_cis
from rmeval.leaderboards.published import Published, inside_ci, published_markdown


def cross_benchmark_frame(metrics: Sequence[dict], board: LeaderboardConfig | None = None,
                          published: Mapping[str, Published] | None = None,
                          tested: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Columns per benchmark: ``<benchmark>`` (its primary headline), ``lo``, ``hi``, ``n``, ``rank`` (from
    ``tested[benchmark]``, the benchmark's paired-test ranks on its primary column (``significance_ranks``: 1 + the
    number of RMs significantly better), where given; else position by value, equal values sharing the better one) and, with ``published``, the published primary value, its diff and
    inside-CI; then ``mean rank``: over the benchmarks with at least ``board.min_items`` items in their primary column
    (all with ``board.include_small``), each counting the same (``board.weight`` = benchmarks) or by those items
    (items). Rows sorted by the mean rank (ties: by name; none last)."""
    board = board_settings(board)
    benchmarks: list[str] = []
    primary: dict[str, str] = {}
    rows: dict[str, dict] = {}
    for m in metrics:
        b = m["benchmark"]
        if b not in benchmarks:
            benchmarks.append(b)
            primary[b] = m["headline"]["primary"]
        cell = m["headline"]["values"].get(primary[b]) or {}
        row = rows.setdefault(m["rm"], {"rm": m["rm"]})
        row[b] = cell.get("accuracy")
        row[f"{b} lo"], row[f"{b} hi"], row[f"{b} n"] = cell.get("ci_low"), cell.get("ci_high"), cell.get("n_items")
    frame = pd.DataFrame(list(rows.values()))
    if not len(frame):
        return frame
    sizes, counted = {}, []
    for b in benchmarks:
        for suffix in ("", " lo", " hi", " n"):
            frame[f"{b}{suffix}"] = frame[f"{b}{suffix}"].astype(float) if f"{b}{suffix}" in frame else np.nan
        if tested and b in tested:
            by_rm = dict(zip(tested[b]["rm"], tested[b]["rank"]))
            frame[f"{b} rank"] = [float(by_rm[rm]) if rm in by_rm and not is_missing(by_rm[rm]) else np.nan for rm in frame["rm"]]
        else:
            frame[f"{b} rank"] = frame[b].rank(ascending=False, method="min")
        n = frame[f"{b} n"].dropna()
        sizes[b] = int(n.max()) if len(n) else 0
        if board.include_small or sizes[b] >= board.min_items:
            counted.append(b)
    frame = no_small_cis(frame, benchmarks, board.min_items_for_ci)
    no_ci = frame.attrs["no_ci"]
    ranks = frame[[f"{b} rank" for b in counted]].to_numpy(dtype=float) if counted else np.empty((len(frame), 0))
    if board.weight == "items":
        weights = np.nan_to_num(frame[[f"{b} n" for b in counted]].to_numpy(dtype=float)) if counted else ranks
    else:
        weights = np.ones_like(ranks)
    weights = np.where(np.isnan(ranks), 0.0, weights)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["mean rank"] = np.where(total > 0, np.nansum(np.nan_to_num(ranks) * weights, axis=1) / np.where(total > 0, total, 1), np.nan)
    for b, pub in (published or {}).items():
        if b not in benchmarks:
            continue
        values = [(pub.rows[rm].values.get(primary[b]) if rm in pub.rows else None) for rm in frame["rm"]]
        frame[f"{b} published"] = pd.array(values, dtype="Float64")
        frame[f"{b} published diff"] = pd.array([None if is_missing(p) or is_missing(o) else o - p for p, o in zip(values, frame[b])], dtype="Float64")
        frame[f"{b} published inside CI"] = [inside_ci(p, lo, hi) for p, lo, hi in zip(values, frame[f"{b} lo"], frame[f"{b} hi"])]
    frame = frame.sort_values(["mean rank", "rm"], na_position="last", kind="stable").reset_index(drop=True)
    frame.attrs = {"benchmarks": benchmarks, "primary": primary, "sizes": sizes, "counted": counted, "no_ci": no_ci,
                   "weight": board.weight, "min_items": board.min_items, "include_small": board.include_small,
                   "min_items_for_ci": board.min_items_for_ci, "published": dict(published or {}),
                   "tested": [b for b in benchmarks if tested and b in tested]}
    return frame


def cross_benchmark_markdown(frame: pd.DataFrame, metrics: Sequence[dict]) -> str:
    benchmarks = frame.attrs.get("benchmarks", [])
    primary = frame.attrs.get("primary", {})
    counted = frame.attrs.get("counted", benchmarks)
    sizes = frame.attrs.get("sizes", {})
    min_ci = frame.attrs.get("min_items_for_ci")
    lines = ["# Leaderboard: all benchmarks", "",
             "Each benchmark's headline (its own leaderboard's ranking column) with its 95% bootstrap CI, and the RM's "
             "rank on it (#, 1 = best); rows sorted by the mean rank. Scales differ between benchmarks: compare ranks, "
             "not values, across columns.", ""]
    heads = [column_header(frame, b, min_ci, f"{b}: {primary[b]}", "" if b in counted else "not in the mean rank") for b in benchmarks]
    lines.append("| RM | " + " | ".join(heads) + " | mean rank |")
    lines.append("|---|" + "---:|" * (len(benchmarks) + 1))
    for _, r in frame.iterrows():
        cells = []
        for b in benchmarks:
            rank = r.get(f"{b} rank")
            cells.append(column_cell(r, frame, b, min_ci) + ("" if is_missing(rank) else f" (#{int(rank)})"))
        mean = "–" if is_missing(r["mean rank"]) else f"{r['mean rank']:.2f}"
        lines.append(f"| {r['rm']} | " + " | ".join(cells) + f" | {mean} |")
    tested = frame.attrs.get("tested", [])
    untested = [b for b in benchmarks if b not in tested]
    notes = []
    if tested:
        notes.append(f"# on {', '.join(tested)} = 1 + the number of RMs significantly better on that benchmark's primary "
                     "column (its paired tests, Holm-adjusted, as on its own leaderboard): RMs that share a # are not "
                     "significantly different.")
    if untested:
        notes.append(f"# on {', '.join(untested)} = position by value (no paired tests there; equal values share the "
                     "better position).")
    if counted:
        how = ("every benchmark counts the same" if frame.attrs.get("weight", "benchmarks") == "benchmarks" else
               "each benchmark weighted by the items of its primary column (" + ", ".join(f"{b} {sizes[b]:,}" for b in counted) + ")")
        notes.append(f"Mean rank: the mean of an RM's ranks over {', '.join(counted)}; {how} (leaderboard.weight: "
                     "benchmarks | items); an RM without a value on a benchmark is averaged over the others.")
    else:
        notes.append("Mean rank: none, every benchmark is below leaderboard.min_items.")
    small = [b for b in benchmarks if sizes.get(b, 0) < frame.attrs.get("min_items", 0)]
    if small and frame.attrs.get("include_small"):
        notes.append(f"Counted in the mean rank although below {frame.attrs['min_items']:,} items (leaderboard.include_small): "
                     + ", ".join(f"{b} ({sizes[b]:,} items)" for b in small) + ".")
    elif small:
        notes.append(f"Left out of the mean rank, fewer than {frame.attrs['min_items']:,} items in the primary column "
                     "(leaderboard.min_items; leaderboard.include_small=true counts them): "
                     + ", ".join(f"{b} ({sizes[b]:,} items)" for b in small) + ".")
    no_ci = frame.attrs.get("no_ci") or {}
    if no_ci:
        notes.append(f"Too few items for a CI (fewer than {min_ci}, leaderboard.min_items_for_ci): {', '.join(no_ci)}.")
    defs = {}
    for m in metrics:
        defs.setdefault(m["benchmark"], m["headline"].get("definition"))
    notes += [f"{b}: {d}." for b, d in defs.items() if d]
    lines += ["", *[f"- {n}" for n in notes]]
    entries = []
    for b, pub in (frame.attrs.get("published") or {}).items():
        for _, r in frame.iterrows():
            row = pub.rows.get(r["rm"])
            if row is None or primary[b] not in row.values:
                continue
            entries.append({"rm": r["rm"], "label": f"{b}: {primary[b]}", "published": row.values[primary[b]], "ours": r[b],
                            "lo": r[f"{b} lo"], "hi": r[f"{b} hi"], "inside": r[f"{b} published inside CI"], "name": row.name,
                            "source": row.source, "path": pub.path, "caveats": row.caveats})
    lines += published_markdown(entries)
    return "\n".join(lines) + "\n"
