"""The leaderboard pages' data, read from the run's own summaries so the site shows exactly what the files say.

- ``leaderboard_table``: a leaderboard CSV, generically: every column the file has, in its order; a column ``X``
  with ``X lo`` and ``X hi`` beside it is shown with its CI (its ``X n`` left to the markdown's items line), and
  whatever other columns a leaderboard gains, published numbers included, appear as they are;
- ``markdown_text``: the markdown leaderboard's prose (what is counted, the bootstrap, the missing files, the
  notes) without its tables;
- ``significance_rows``: the paired tests, for the significance matrix;
- ``figure_entries``: a benchmark's figures with their captions (``workflow/report/*.rst``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rmeval.data.schema import DataError

CI_SUFFIXES = (" lo", " hi")
N_SUFFIX = " n"
#: the significance CSV's columns the matrix needs, and those it shows when present
SIGNIFICANCE_NEEDS = ("column", "rm_a", "rm_b", "diff")
SIGNIFICANCE_SHOWS = ("n_items", "value_a", "value_b", "diff_lo", "diff_hi", "p_boot", "p_boot_holm", "p_mcnemar_holm")


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def leaderboard_table(path: str | Path) -> dict:
    """``{"columns": [{"name", "ci"}...], "rows": [{column: value}...]}`` of a leaderboard CSV, its rows in the file's
    order (the rank). ``ci``: the column has ``lo``/``hi`` columns, shown in its cells; its ``n`` column is not shown."""
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: cannot read the leaderboard: {err}") from None
    if "rm" not in frame.columns:
        raise DataError(f"{path}: record 0: field 'rm': no such column (a leaderboard CSV has one row per RM)")
    names = [str(c) for c in frame.columns]
    merged = set()
    columns = []
    for name in names:
        if all(f"{name}{s}" in names for s in CI_SUFFIXES):
            merged.update(f"{name}{s}" for s in (*CI_SUFFIXES, N_SUFFIX) if f"{name}{s}" in names)
    for name in names:
        if name in merged:
            continue
        ci = all(f"{name}{s}" in names for s in CI_SUFFIXES)
        columns.append({"name": name, "ci": ci})
    rows = [{k: _cell(v) for k, v in row.items()} for row in frame.to_dict("records")]
    return {"columns": columns, "rows": rows}


_EMPHASIS = re.compile(r"\*\*|__|`")


def markdown_text(path: str | Path) -> dict:
    """``{"title", "paragraphs", "notes"}`` of a markdown leaderboard: its heading, the prose before and between its
    tables, and its bullet notes, as plain text (emphasis marks dropped; the page shows them as text)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    title, paragraphs, notes, para = "", [], [], []

    def close() -> None:
        if para:
            paragraphs.append(" ".join(para))
            para.clear()

    for line in lines:
        text = _EMPHASIS.sub("", line).strip()
        if line.startswith("# ") and not title:
            title = text[2:].strip()
        elif line.lstrip().startswith("|"):
            close()
        elif line.startswith("#"):  # a sub-heading: a paragraph of its own
            close()
            paragraphs.append(text.lstrip("#").strip())
        elif text.startswith("- "):
            close()
            notes.append(text[2:].strip())
        elif not text:
            close()
        elif notes and line.startswith("  "):  # a bullet's continuation line
            notes[-1] += " " + text
        else:
            para.append(text)
    close()
    return {"title": title, "paragraphs": paragraphs, "notes": notes}


def significance_rows(path: str | Path) -> list[dict]:
    """The paired tests of a significance CSV (one row per column and pair of RMs), the fields the matrix shows."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return []
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: cannot read the paired tests: {err}") from None
    for need in SIGNIFICANCE_NEEDS:
        if need not in frame.columns:
            raise DataError(f"{path}: record 0: field {need!r}: no such column")
    keep = [c for c in (*SIGNIFICANCE_NEEDS, *SIGNIFICANCE_SHOWS) if c in frame.columns]
    return [{k: _cell(v) for k, v in row.items()} for row in frame[keep].to_dict("records")]


def caption_text(rst: str) -> str:
    """A caption file's text as plain prose: rst literals (````x````) and roles shown as their text, lines joined."""
    text = re.sub(r":\w+:`([^`]*)`", r"\1", rst)
    text = text.replace("``", "")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def figure_entries(pngs: Sequence[str | Path], captions: Mapping[str, str], scope: str = "benchmark") -> list[dict]:
    """``[{"file", "title", "caption"}]`` for a benchmark's (or the run's cross-benchmark) figure PNGs, in the
    registry's order. ``captions``: caption file name (``leaderboard.rst``) -> its text. A PNG that no registered
    figure makes is shown with its file name and no caption."""
    from rmeval.plots import figures

    known = {f.stem: f for f in figures(scope=scope)}
    rank = {stem: i for i, stem in enumerate(known)}
    out = []
    for png in sorted(map(Path, pngs), key=lambda p: (rank.get(p.stem, len(rank)), p.stem)):
        fig = known.get(png.stem)
        caption = captions.get(fig.caption, "") if fig else ""
        title = (fig.name if fig else png.stem).replace("_", " ")
        out.append({"file": png.name, "source": str(png), "title": title[:1].upper() + title[1:],
                    "caption": caption_text(caption)})
    return out
