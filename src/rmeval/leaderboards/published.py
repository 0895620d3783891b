"""Published numbers beside ours: ``conf/published/<benchmark>.yaml`` (named by a benchmark's ``published`` setting),
read and checked, and shown in the leaderboards with the difference and whether they lie inside our CI."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rmeval.data.schema import DataError
from rmeval.errors import one_line
from rmeval.config.paths import published_path  # noqa: F401 (re-exported: the dry run resolves it without pandas)
from rmeval.leaderboards.cells import cell_text, digits_for, is_missing


@dataclass(frozen=True)
class PublishedRow:
    """One RM's published headline numbers: ``values`` by our column name, on our scale (0-1)."""

    rm: str  # our RM's name (conf/rm/<rm>.yaml)
    name: str  # the row's name in the source
    values: Mapping[str, float]
    source: str
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True)
class Published:
    """The published numbers of one benchmark (``conf/published/<benchmark>.yaml``), by RM."""

    path: str
    benchmark: str
    source: str
    rows: Mapping[str, PublishedRow]


def read_published(path: str | Path, benchmark: str, columns: Sequence[str], known_rms: Sequence[str] | None = None,
                   shown: str | None = None) -> Published:
    """Read and check a published-numbers file: ``benchmark`` (must be ``benchmark``), ``source`` and ``rows``, each
    row with ``rm`` (an RM of ``known_rms`` when given, once per file), ``name``, ``values`` ({column: number in
    [0, 1]}, columns among ``columns``), optional ``source`` and ``caveats`` (a list of strings). A problem fails with
    one line naming the file, the record and the field. ``shown``: the file's name in the tables (default: ``path``)."""
    import yaml

    from rmeval.data.records import Record

    where = str(path)
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise DataError(f"{where}: cannot read the published numbers ({one_line(err)}); fix the benchmark's `published` setting") from None
    except yaml.YAMLError as err:
        raise DataError(f"{where}: not valid YAML: {one_line(err)}") from None
    if not isinstance(doc, dict):
        raise DataError(f"{where}: field '<file>': expected a mapping with benchmark, source and rows, got {type(doc).__name__}")
    for key in doc:
        if key not in ("benchmark", "source", "rows"):
            raise DataError(f"{where}: field {key!r}: unknown key (expected benchmark, source, rows)")
    for key in ("benchmark", "source"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise DataError(f"{where}: field {key!r}: expected a non-empty string, got {doc.get(key)!r}")
    if doc["benchmark"] != benchmark:
        raise DataError(f"{where}: field 'benchmark': {doc['benchmark']!r} but it is the published file of benchmark {benchmark!r}")
    if not isinstance(doc.get("rows"), list):
        raise DataError(f"{where}: field 'rows': expected a list of rows, got {type(doc.get('rows')).__name__}")
    rows: dict[str, PublishedRow] = {}
    for index, raw in enumerate(doc["rows"]):
        rec = Record(where, index, raw, uid_key="rm", uid_label="rm")
        for key in raw:
            if key not in ("rm", "name", "values", "source", "caveats"):
                rec.fail(key, "unknown key (expected rm, name, values, source, caveats)")
        rm = rec.get("rm", str)
        if known_rms is not None and rm not in known_rms:
            rec.fail("rm", f"no RM {rm!r} in conf/rm/ (name the row by our RM's YAML name)")
        if rm in rows:
            rec.fail("rm", f"RM {rm!r} has two rows")
        values = rec.get("values", dict)
        if not values:
            rec.fail("values", "empty: give at least one column")
        checked = {}
        for col, value in values.items():
            if col not in columns:
                rec.fail(f"values.{col}", f"not a headline column of {benchmark} (expected one of {', '.join(columns)})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                rec.fail(f"values.{col}", f"expected a number in [0, 1] (our scale; a percentage divided by 100), got {value!r}")
            checked[col] = float(value)
        caveats = rec.get("caveats", list, optional=True) or []
        for k, c in enumerate(caveats):
            if not isinstance(c, str) or not c.strip():
                rec.fail(f"caveats[{k}]", f"expected a non-empty string, got {c!r}")
        rows[rm] = PublishedRow(rm=rm, name=rec.get("name", str), values=checked,
                                source=rec.get("source", str, optional=True) or doc["source"], caveats=tuple(caveats))
    return Published(path=shown or where, benchmark=benchmark, source=doc["source"], rows=rows)


def inside_ci(published: float | None, lo: float | None, hi: float | None) -> str | None:
    """Whether a published value lies inside our interval: ``yes`` (both ends count), ``no``, ``no CI`` where ours
    has none (too few items, or undefined); None without a published value."""
    if is_missing(published):
        return None
    if is_missing(lo) or is_missing(hi):
        return "no CI"
    return "yes" if lo <= published <= hi else "no"


def published_columns(frame: pd.DataFrame, published: Published, columns: Sequence[str]) -> pd.DataFrame:
    """``published {col}``, its ``diff`` (ours − published) and ``inside CI`` per column the file covers, and the row's
    name, source and caveats."""
    covered = [c for c in columns if any(c in r.values for r in published.rows.values())]
    rows = [published.rows.get(rm) for rm in frame["rm"]]
    for col in covered:
        pub = [r.values.get(col) if r else None for r in rows]
        ours = frame[col].tolist()
        frame[f"published {col}"] = pd.array(pub, dtype="Float64")
        frame[f"published {col} diff"] = pd.array([None if is_missing(p) or is_missing(o) else o - p for p, o in zip(pub, ours)], dtype="Float64")
        frame[f"published {col} inside CI"] = [inside_ci(p, lo, hi) for p, lo, hi in zip(pub, frame[f"{col} lo"], frame[f"{col} hi"])]
    frame["published name"] = [r.name if r else None for r in rows]
    frame["published source"] = [r.source if r else None for r in rows]
    frame["published caveats"] = ["; ".join(r.caveats) if r and r.caveats else None for r in rows]
    frame.attrs["published"] = {"path": published.path, "columns": covered, "rows": published.rows}
    return frame


def published_markdown(entries: Sequence[dict], scale_of: Callable[[str], float] = lambda label: 1.0) -> list[str]:
    """The section beside a leaderboard: one line per (RM, column) with a published number. ``entries``: rm, label,
    published, ours, lo, hi, inside, name, source, caveats, path."""
    if not entries:
        return []
    lines = ["", "## Published numbers beside ours", "",
             "| RM | column | published | ours [CI] | ours − published | published inside our CI |", "|---|---|---:|---:|---:|---|"]
    for e in entries:
        scale = scale_of(e["label"])
        d = digits_for(scale)
        diff = "–" if is_missing(e["ours"]) else f"{scale * (e['ours'] - e['published']):+.{d}f}"
        lines.append(f"| {e['rm']} | {e['label']} | {scale * e['published']:.{d}f} | {cell_text(e['ours'], e['lo'], e['hi'], scale, d)} "
                     f"| {diff} | {e['inside']} |")
    lines += ["", "- Published inside our CI: yes when our interval's ends enclose it (ends included), no otherwise, "
                  "`no CI` where ours has none. Published values are rounded as printed."]
    for path, source in dict.fromkeys((e["path"], e["source"]) for e in entries):
        rms = ", ".join(dict.fromkeys(f"{e['rm']} (\"{e['name']}\")" for e in entries if (e["path"], e["source"]) == (path, source)))
        lines.append(f"- Source ({path}): {source}; rows: {rms}.")
    for rm, caveats in dict.fromkeys((e["rm"], e["caveats"]) for e in entries if e["caveats"]):
        lines.append(f"- Caveat, {rm}: {'; '.join(caveats)}.")
    return lines
