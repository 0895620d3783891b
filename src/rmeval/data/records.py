"""One reader for raw benchmark records: files (.json, .jsonl, .parquet) and field access that fails with one line.

Every loader (RMB, RewardBench v1/v2, RM-Bench, custom preference data, construction prompt sets) reads its files
with :func:`read_records` and its fields through :class:`Record`, so a malformed record always stops the load with
the same shape of message: ``<file>: record <index> (id=...): field '<field>': <problem>``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable
from pathlib import Path

from rmeval.data.schema import DataError

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".jsonl", ".json", ".parquet")
ROLES = ("user", "assistant", "system")
BOM = "\ufeff"
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a JSON escape of a UTF-16 surrogate (paired or lone)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # what json.loads leaves of an unpaired one


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def plain(value):
    """numpy scalars / arrays (from parquet through pandas or pyarrow) to plain Python values."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return plain(value.tolist())
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def read_text(path: Path, where: str) -> str:
    """A UTF-8 file's text; a leading byte-order mark (other tools write one) is stripped and logged."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{where}: record ?: field '<file>': not UTF-8 ({err.reason})") from None
    if text.startswith(BOM):
        log.info("%s: stripped a UTF-8 byte-order mark at the start of the file", where)
        text = text[len(BOM):]
    return text


def read_records(path: str | Path, where: str | None = None, *, json_list: bool = False) -> list:
    """Records of one .jsonl / .json / .parquet file.

    A .json file may hold a list of records, one object, ``{"rows": [...]}`` or JSON lines; with ``json_list``
    it must hold a list (the RMB layout). Errors name the file, the record (or line) and the field.
    """
    path = Path(path)
    where = where or str(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq

            return [plain(r) for r in pq.read_table(path).to_pylist()]
        except Exception as err:  # noqa: BLE001 - any unreadable parquet is a data error
            raise DataError(f"{where}: record ?: field '<file>': unreadable parquet ({type(err).__name__}: {one_line(err)})") from None
    text = read_text(path, where)
    surrogates = SURROGATE_ESCAPE.search(text) is not None
    if suffix == ".json":
        try:
            data = _loads(text, where, "?", surrogates)
        except json.JSONDecodeError as err:
            if json_list or err.msg != "Extra data":  # anything but "several JSON values": not JSON lines either
                raise DataError(f"{where}: record ?: field '<json>': invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
        else:
            if isinstance(data, list):
                return data
            if json_list:
                raise DataError(f"{where}: record ?: field '<top level>': expected a JSON list of records, got {type(data).__name__}")
            if isinstance(data, dict) and isinstance(data.get("rows"), list):
                return data["rows"]
            if isinstance(data, dict):
                return [data]
            raise DataError(f"{where}: record ?: field '<top level>': expected a JSON list of records, got {type(data).__name__}")
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(_loads(line, where, f"{len(records)} (line {lineno})", surrogates))
        except json.JSONDecodeError as err:
            raise DataError(f"{where}: record {len(records)}: field '<json>': invalid JSON at line {lineno} column {err.colno}: {err.msg}") from None
    return records


def _loads(text: str, where: str, record: str, surrogates: bool) -> object:
    """``json.loads`` that fails with one line on nesting deeper than Python's recursion allows and on a lone
    surrogate escape (``"\\ud800"``: valid JSON, but no UTF-8 string can hold it); ``surrogates``: whether the
    text has any surrogate escape at all (the check is skipped otherwise)."""
    try:
        data = json.loads(text)
        if surrogates:
            _check_surrogates(data)
    except RecursionError:
        raise DataError(f"{where}: record {record}: field '<json>': nested too deeply to read") from None
    except UnicodeError:
        raise DataError(f"{where}: record {record}: field '<json>': a lone surrogate escape (\\ud800-\\udfff without "
                        "its pair) is not text; fix the file's encoding") from None
    return data


def _check_surrogates(node: object) -> None:
    """Raise UnicodeError where a string (a key or a value) holds an unpaired surrogate."""
    if isinstance(node, str):
        if LONE_SURROGATE.search(node):
            raise UnicodeError("lone surrogate")
    elif isinstance(node, list):
        for value in node:
            _check_surrogates(value)
    elif isinstance(node, dict):
        for key, value in node.items():
            _check_surrogates(key)
            _check_surrogates(value)


def record_files(root: str | Path, what: str = "benchmark.root") -> list[tuple[str, Path]]:
    """[(name shown in errors, path)] of a data file or of every data file under a folder (hidden ones skipped)."""
    root = Path(root)
    if root.is_file():
        if root.suffix.lower() not in FILE_SUFFIXES:
            raise DataError(f"{root}: record ?: field '<file>': unsupported file type {root.suffix!r} (expected {', '.join(FILE_SUFFIXES)})")
        return [(str(root), root)]
    if root.is_dir():
        paths = sorted(
            p for p in root.rglob("*")
            if p.is_file() and p.suffix.lower() in FILE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        )
        if not paths:
            raise DataError(f"{root}: no {', '.join('*' + s for s in FILE_SUFFIXES)} files in this folder")
        return [(p.relative_to(root).as_posix(), p) for p in paths]
    raise DataError(f"{root}: not found; set {what} to a local file (.jsonl, .json or .parquet) or a folder of them")


class Record:
    """Field access on one raw record that fails with the file, the record index and the field named."""

    def __init__(self, where: str, index: int, record: object, uid_key: str | None = "id", line: int | None = None,
                 uid_label: str = "id"):
        self.where, self.index, self.uid, self.line, self.uid_label = where, index, None, line, uid_label
        if not isinstance(record, dict):
            self.fail("<record>", f"expected an object, got {type(record).__name__}")
        self.record = record
        uid = record.get(uid_key) if uid_key else None
        self.uid = uid if isinstance(uid, (str, int)) and not isinstance(uid, bool) else None

    def fail(self, field_name: str, problem: str):
        uid = f" ({self.uid_label}={self.uid!r})" if self.uid is not None else ""
        line = f" (line {self.line})" if self.line is not None else ""
        raise DataError(f"{self.where}: record {self.index}{line}{uid}: field '{field_name}': {one_line(problem)}")

    def get(self, key: str, typ: type | tuple, *, optional: bool = False, obj: dict | None = None, where: str | None = None):
        """``obj[key]`` (default: the record) checked against ``typ``; bools never pass as numbers."""
        obj = self.record if obj is None else obj
        where = where or key
        if key not in obj:
            if optional:
                return None
            self.fail(where, "missing")
        value = obj[key]
        if value is None:
            if optional:
                return None
            self.fail(where, "null")
        if not isinstance(value, typ) or (isinstance(value, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,))):
            want = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            self.fail(where, f"expected {want}, got {type(value).__name__}")
        return value

    def uid_str(self, key: str = "id") -> str:
        uid = str(self.get(key, (str, int))).strip()
        if not uid:
            self.fail(key, "empty id")
        return uid

    def claim_uid(self, seen: dict, key: str = "id") -> str:
        """This record's id, registered in ``seen`` (id -> where first seen); a duplicate fails naming both."""
        uid = self.uid_str(key)
        if uid in seen:
            self.fail(key, f"duplicate id {uid!r} (first seen in {seen[uid]})")
        seen[uid] = f"{self.where} record {self.index}"
        return uid

    def named(self, key: str, names: dict[str, str], expected: Iterable[str]) -> tuple[str, str]:
        """The string ``record[key]`` and what ``names`` maps it to (case and surrounding space ignored); a name
        not in ``names`` fails, listing ``expected``."""
        raw = self.get(key, str)
        value = names.get(raw.strip().lower())
        if value is None:
            self.fail(key, f"unknown {key} {raw!r} (expected one of {', '.join(expected)})")
        return raw, value

    def text(self, value: object, where: str, *, allow_empty: bool = False) -> str:
        """A response string: null, non-strings and (unless allowed) the empty string fail."""
        if value is None:
            self.fail(where, "null")
        if not isinstance(value, str):
            self.fail(where, f"expected str, got {type(value).__name__}")
        if value == "" and not allow_empty:
            self.fail(where, "empty response")
        return value

    def conversation(self, key: str = "prompt", *, strings: bool = True) -> list[dict]:
        """A prompt as ``[{role, content}]`` ending with the user's turn; a plain string (with ``strings``) is one
        user turn. Extra keys of a turn (e.g. RMB's ``language``) are dropped."""
        prompt = self.get(key, (str, list) if strings else list)
        if isinstance(prompt, str):
            if not prompt.strip():
                self.fail(key, "empty prompt")
            return [{"role": "user", "content": prompt}]
        if not prompt:
            self.fail(key, "empty conversation")
        turns = []
        for j, turn in enumerate(prompt):
            where = f"{key}[{j}]"
            if not isinstance(turn, dict):
                self.fail(where, f"expected an object with role and content, got {type(turn).__name__}")
            role = self.get("role", str, obj=turn, where=f"{where}.role")
            if role not in ROLES:
                self.fail(f"{where}.role", f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
            content = self.get("content", str, obj=turn, where=f"{where}.content")
            turns.append({"role": role, "content": content})
        if turns[-1]["role"] != "user":
            self.fail(f"{key}[{len(turns) - 1}].role", "the last turn must be the user's")
        return turns

    def score(self, value: object, where: str, low: float = 0.0, high: float = 10.0) -> float | None:
        """An optional judge score: a finite number in [low, high], or None (NaN and ±Infinity fail)."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            self.fail(where, f"expected a finite number, got {value!r}")
        if not low <= float(value) <= high:
            self.fail(where, f"out of range [{low:g}, {high:g}]: {value}")
        return float(value)
