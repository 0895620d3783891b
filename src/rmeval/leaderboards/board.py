"""A benchmark's leaderboard: its own frame (``Benchmark.leaderboard_frame``) plus the columns every leaderboard
shows (rank from the paired tests, n items per column, length-controlled accuracy, prefers-longer rate, published
numbers), and its markdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from rmeval.config.schemas import LeaderboardConfig
from rmeval.leaderboards.cells import board_settings, column_cell, column_header, is_missing, no_small_cis
from rmeval.leaderboards.published import Published, published_columns, published_markdown

LENGTH_CONTROLLED = "length-controlled"
PREFERS_LONGER = "prefers longer"
#: a markdown column a benchmark adds after its headline columns: (header, cell text of one leaderboard row)
ExtraColumn = tuple[str, Callable[[pd.Series], str]]


def _length_cells(m: dict) -> dict:
    lb = m.get("length_bias") or {}
    lc = lb.get("length_controlled") or {}
    n_lc = sum((lb.get(f"chosen_{s}") or {}).get("n_items") or 0 for s in ("longer", "shorter")) if lb else None
    return {LENGTH_CONTROLLED: lc.get("accuracy"), f"{LENGTH_CONTROLLED} lo": lc.get("ci_low"), f"{LENGTH_CONTROLLED} hi": lc.get("ci_high"),
            f"{LENGTH_CONTROLLED} n": n_lc, PREFERS_LONGER: lb.get("prefers_longer_rate"), f"{PREFERS_LONGER} n": lb.get("n_decided_unequal")}


def board_frame(frame: pd.DataFrame, metrics: Sequence[dict], *, columns: Sequence[str], primary: str,
                ranks: pd.DataFrame | None = None, board: LeaderboardConfig | None = None,
                published: Published | None = None) -> pd.DataFrame:
    """The leaderboard frame: the benchmark's ``frame`` plus ``{col} n`` for each headline column (from the headline
    block where the frame has none), ``rank`` (from ``ranks``; rows sorted by it, then the primary column), the
    length-controlled accuracy (``lo``/``hi``/``n``) and the prefers-longer rate (``n``: decided pairs of unequal
    length), the published numbers, and no interval where a column has fewer than ``board.min_items_for_ci`` items."""
    board = board_settings(board)
    attrs = dict(frame.attrs)
    frame = frame.copy()
    if not len(frame):
        return frame
    by_rm = {m["rm"]: m for m in metrics}
    for col in columns:
        if f"{col} n" not in frame:
            frame[f"{col} n"] = [(((by_rm[rm].get("headline") or {}).get("values") or {}).get(col) or {}).get("n_items")
                                 for rm in frame["rm"]]
    length = pd.DataFrame([_length_cells(by_rm[rm]) for rm in frame["rm"]], index=frame.index)
    frame = pd.concat([frame, length.astype({c: "Int64" if c.endswith(" n") else "float64" for c in length.columns})], axis=1)
    for col in columns:
        frame[f"{col} n"] = pd.array(pd.to_numeric(frame[f"{col} n"], errors="coerce"), dtype="Int64")
    frame = no_small_cis(frame, [*columns, LENGTH_CONTROLLED], board.min_items_for_ci)
    no_ci = frame.attrs["no_ci"]
    if ranks is not None and not ranks.empty:
        rank_of = dict(zip(ranks["rm"], ranks["rank"]))
        frame.insert(1, "rank", pd.array([rank_of.get(rm) for rm in frame["rm"]], dtype="Int64"))
        frame = frame.sort_values(["rank", primary, "rm"], ascending=[True, False, True], na_position="last", kind="stable")
        attrs["ranks"] = ranks
    frame = frame.reset_index(drop=True)
    if published is not None:
        frame = published_columns(frame, published, columns)
        attrs["published"] = frame.attrs["published"]
    frame.attrs = {**attrs, "no_ci": no_ci, "min_items_for_ci": board.min_items_for_ci}
    return frame


def board_markdown(frame: pd.DataFrame, *, name: str, definition: str, columns: Sequence[str], primary: str,
                   scale: float = 1.0, extra: Sequence[ExtraColumn] = (), notes: Sequence[str] = ()) -> str:
    """A benchmark's leaderboard in markdown: rank, RM, each headline column (n in the header, or per cell where
    RMs differ), ``extra`` columns, the length columns; then the notes (what the rank means, the CI rule, the
    length columns, the benchmark's own ``notes``) and the published numbers beside ours."""
    min_ci = frame.attrs.get("min_items_for_ci")
    ranked = "rank" in frame.columns
    length = [c for c in (LENGTH_CONTROLLED, PREFERS_LONGER) if c in frame and frame[c].notna().any()]
    lines = [f"# Leaderboard: {name}", "", f"{definition[0].upper()}{definition[1:]}; 95% bootstrap CIs in brackets "
             f"({frame.attrs.get('ci_method') or 'percentile bootstrap'}).", ""]
    heads = [column_header(frame, c, min_ci) for c in columns] + [h for h, _ in extra] + [column_header(frame, c, min_ci) for c in length]
    lines.append(f"| {'rank' if ranked else '#'} | RM | " + " | ".join(heads) + " |")
    lines.append("|---:|---|" + "---:|" * len(columns) + "---|" * len(extra) + "---:|" * len(length))
    for i, r in frame.iterrows():
        rank = ("–" if is_missing(r["rank"]) else str(int(r["rank"]))) if ranked else str(i + 1)
        cells = [column_cell(r, frame, c, min_ci, scale) for c in columns] + [fn(r) for _, fn in extra]
        cells += [column_cell(r, frame, c, min_ci, scale) for c in length]  # on the headline columns' scale
        lines.append(f"| {rank} | {r['rm']} | " + " | ".join(cells) + " |")
    if not len(frame):
        return "\n".join(lines) + "\n"
    shown = []
    if ranked:
        from rmeval.metrics.paired import rank_note

        shown.append(rank_note(frame.attrs["ranks"], primary))
    else:
        shown.append(f"# = position by {primary}, with no paired tests behind it (the benchmark has none, or there are "
                     "fewer than two RMs): nothing here says whether neighbouring RMs differ.")
    no_ci = frame.attrs.get("no_ci") or {}
    if no_ci:
        cols = ", ".join(f"{c} ({'/'.join(f'{n:,}' for n in ns)} items)" for c, ns in no_ci.items())
        shown.append(f"Too few items for a CI: {cols}. A column with fewer than {min_ci} items (leaderboard.min_items_for_ci) "
                     "shows its value alone: a bootstrap over so few items moves in steps of 1/n and collapses to a "
                     "zero-width interval at 0 and 1.")
    meaning = {LENGTH_CONTROLLED: "the mean of the pairwise accuracies where the chosen response is longer and where it "
                                  "is shorter (n: pairs of unequal length)",
               PREFERS_LONGER: "how often the RM picks the longer response (n: decided pairs of unequal length)"}
    if length:
        shown.append("; ".join(f"{c}: {meaning[c]}" for c in length) + ". A length-driven RM has a high "
                     f"{PREFERS_LONGER} rate and a {LENGTH_CONTROLLED} accuracy near 0.5.")
    if LENGTH_CONTROLLED in frame and LENGTH_CONTROLLED not in length:
        shown.append(f"{LENGTH_CONTROLLED}: not defined here (it needs pairs where the chosen response is longer and "
                     "pairs where it is shorter)" + ("" if length else f"; {PREFERS_LONGER}: no decided pairs of unequal "
                                                    "length (or no length bias in the metrics files)") + ".")
    lines += ["", *[f"- {n}" for n in [*shown, *notes]]]
    pub = frame.attrs.get("published")
    if pub:
        entries = []
        for _, r in frame.iterrows():
            row = pub["rows"].get(r["rm"])
            for col in pub["columns"]:
                if row is not None and col in row.values:
                    entries.append({"rm": r["rm"], "label": col, "published": row.values[col], "ours": r[col],
                                    "lo": r[f"{col} lo"], "hi": r[f"{col} hi"], "inside": r[f"published {col} inside CI"],
                                    "name": row.name, "source": row.source, "path": pub["path"], "caveats": row.caveats})
        lines += published_markdown(entries, lambda label: scale)
        if not entries:
            lines += ["", f"- Published numbers ({pub['path']}): none for the RMs of this run."]
    return "\n".join(lines) + "\n"
