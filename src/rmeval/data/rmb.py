"""Load an RMB-layout release (``RMB_dataset/{Pairwise_set,BoN_set}/{Helpfulness,Harmlessness}/...json``).

The loader turns the release into the canonical ``items`` and ``texts`` tables (see ``rmeval.data.schema``).
It accepts records with or without the judge's per-response ``score`` (present at commit 94c5976 of the public
repository, removed later). Every malformed record stops the load with one line naming the file, the record
index and the field.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from rmeval.data.records import Record, read_records
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id
from rmeval.ids import text_id as make_text_id
from rmeval.progress import progress_iter

log = logging.getLogger(__name__)

FORMAT_DIRS = {"Pairwise_set": "pairwise", "BoN_set": "bon"}
GOALS = ("Helpfulness", "Harmlessness")
HELPFULNESS, HARMLESSNESS = GOALS

# Harmlessness scenario codes follow the Llama Guard 2 hazard taxonomy (docs/benchmarks.md).
HARMLESSNESS_NAMES = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex-Related Crimes",
    "S4": "Child Sexual Exploitation",
    "S5": "Specialized Advice",
    "S6": "Privacy",
    "S7": "Intellectual Property",
    "S8": "Indiscriminate Weapons",
    "S9": "Hate",
    "S10": "Suicide & Self-Harm",
    "S11": "Sexual Content",
    "multi": "Multiple Hazards",
}


def release_manifest() -> dict[str, int]:
    """Record count per file of the full public release (commit 94c5976)."""
    text = resources.files("rmeval.data").joinpath("rmb_manifest.json").read_text(encoding="utf-8")
    return json.loads(text)["files"]


@dataclass
class LoadReport:
    """What the loader saw: counts, missing files and the oddities a user should know about."""

    root: str
    files: dict[str, int] = field(default_factory=dict)
    missing_files: list[dict] = field(default_factory=list)
    unexpected_files: list[str] = field(default_factory=list)
    has_judge_scores: bool = False
    identical_pairs: int = 0
    identical_bon_groups: int = 0  # BoN groups with a loser byte-identical to the best: never right for a scorer
    whitespace_only_responses: int = 0
    count_mismatches: list[dict] = field(default_factory=list)
    judge_score_conflicts: int = 0  # texts that carry different judge scores in different records
    category_mismatches: list[dict] = field(default_factory=list)  # records filed under another folder

    def to_dict(self) -> dict:
        return {
            "root": self.root,
            "n_files": len(self.files),
            "files": self.files,
            "missing_files": self.missing_files,
            "unexpected_files": self.unexpected_files,
            "has_judge_scores": self.has_judge_scores,
            "identical_pairs": self.identical_pairs,
            "identical_bon_groups": self.identical_bon_groups,
            "whitespace_only_responses": self.whitespace_only_responses,
            "count_mismatches": self.count_mismatches,
            "judge_score_conflicts": self.judge_score_conflicts,
            "category_mismatches": self.category_mismatches,
        }


def scenario_of(rel_path: str) -> tuple[str, str, str, str]:
    """(format, goal, task, scenario) from a path relative to the release root, e.g.
    ``Pairwise_set/Helpfulness/Code/Documentation.json`` or ``BoN_set/Harmlessness/S1.json``."""
    parts = Path(rel_path).with_suffix("").parts
    if len(parts) < 3 or parts[0] not in FORMAT_DIRS or parts[1] not in GOALS:
        raise DataError(f"{rel_path}: not in the RMB layout {{Pairwise_set,BoN_set}}/{{Helpfulness,Harmlessness}}/...")
    fmt, goal = FORMAT_DIRS[parts[0]], parts[1]
    if goal == "Harmlessness":
        code = parts[-1]
        name = HARMLESSNESS_NAMES.get(code, code)
        scenario = f"{code} {name}" if code in HARMLESSNESS_NAMES else code
        # Harmlessness has no task level: each hazard category is its own task.
        return fmt, goal, scenario, scenario
    if len(parts) != 4:
        raise DataError(f"{rel_path}: helpfulness files must sit at <format>/Helpfulness/<task>/<scenario>.json")
    return fmt, goal, parts[2], parts[3]


class _Record(Record):
    """An RMB record: RMB's response objects ({llm_name, answer, score}) and ``conversation_input``."""

    def __init__(self, rel_path: str, index: int, record: object, uid_key: str):
        super().__init__(rel_path, index, record, uid_key=uid_key, uid_label="uid")

    def response(self, key: str, obj: object | None = None) -> dict:
        obj = self.record.get(key) if obj is None else obj
        if obj is None and key in self.record:
            self.fail(key, "null")
        if obj is None:
            self.fail(key, "missing")
        if not isinstance(obj, dict):
            self.fail(key, f"expected an object with llm_name and answer, got {type(obj).__name__}")
        model = self.get("llm_name", str, obj=obj, where=f"{key}.llm_name")
        answer = self.get("answer", str, obj=obj, where=f"{key}.answer")
        if answer == "":
            self.fail(f"{key}.answer", "empty answer")
        return {"model": model, "answer": answer, "score": self.score(obj.get("score"), f"{key}.score")}


def check_category_path(rec: Record, rel_path: str) -> str | None:
    """RMB's ``category_path`` against the file's place: a problem description, or None when they agree.

    The release writes e.g. ``Pairwise_set/Helpfulness/Code/Documentation`` (the path without ``.json``); an
    absent field is not a problem (older copies lack it)."""
    value = rec.record.get("category_path")
    if value is None:
        return None
    if not isinstance(value, str):
        return f"expected str, got {type(value).__name__}"
    want = Path(rel_path).with_suffix("").as_posix().strip("/")
    got = value.replace("\\", "/").strip().strip("/")
    if got.endswith(".json"):
        got = got[: -len(".json")]
    if got == want or got.endswith("/" + want) or want.endswith("/" + got):
        return None
    return f"{value!r} does not match the file's place {want!r}"


def load_rmb(root: str | Path, benchmark: str = "rmb", check_manifest: bool = True,
             strict_category_path: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, LoadReport]:
    """Read every ``*.json`` under ``root`` and return (items, texts, report).

    A record whose ``category_path`` disagrees with the file it sits in is counted in the report (and logged);
    with ``strict_category_path`` it stops the load instead."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: RMB release folder not found; set benchmark.root (or RMB_ROOT) to a local RMB_dataset folder")
    paths = sorted(p for p in root.rglob("*.json") if p.parent != root)
    rel_paths = [p.relative_to(root).as_posix() for p in paths]
    if not paths:
        raise DataError(f"{root}: no *.json files in the RMB layout (Pairwise_set/ and BoN_set/)")
    report = LoadReport(root=str(root))

    items: list[dict] = []
    texts: dict[str, dict] = {}
    seen_uids: dict[tuple[str, str], str] = {}
    n_scored = n_unscored = 0

    for path, rel in progress_iter(list(zip(paths, rel_paths)), f"load {benchmark}", "file", leave=False):
        fmt, goal, task, scenario = scenario_of(rel)
        records = read_records(path, rel, json_list=True)
        report.files[rel] = len(records)
        uid_key = "pair_uid" if fmt == "pairwise" else "bon_uid"
        for index, raw in enumerate(records):
            rec = _Record(rel, index, raw, uid_key)
            uid = str(rec.get(uid_key, (str, int)))
            problem = check_category_path(rec, rel)
            if problem is not None:
                if strict_category_path:
                    rec.fail("category_path", problem + " (benchmark.strict_category_path=true)")
                report.category_mismatches.append({"file": rel, "record": index, "uid": uid, "category_path": rec.record.get("category_path")})
            if (fmt, uid) in seen_uids:
                rec.fail(uid_key, f"duplicate {uid_key} {uid!r} (first seen in {seen_uids[(fmt, uid)]})")
            seen_uids[(fmt, uid)] = f"{rel} record {index}"
            conv = rec.conversation("conversation_input", strings=False)
            pid = make_prompt_id(conv)
            if fmt == "pairwise":
                best = rec.response("chosen")
                losers = [rec.response("reject")]
                if best["answer"] == losers[0]["answer"]:
                    report.identical_pairs += 1
            else:
                best = rec.response("bon_best")
                loser_list = rec.get("loser_list", list)
                if not loser_list:
                    rec.fail("loser_list", "empty list (a BoN group needs at least one loser)")
                losers = [rec.response(f"loser_list[{k}]", obj) for k, obj in enumerate(loser_list)]
                if any(loser["answer"] == best["answer"] for loser in losers):
                    report.identical_bon_groups += 1
            ids = []
            for resp in [best, *losers]:
                tid = make_text_id(conv, resp["answer"])
                ids.append(tid)
                if resp["score"] is None:
                    n_unscored += 1
                else:
                    n_scored += 1
                if not resp["answer"].strip():
                    report.whitespace_only_responses += 1
                if tid in texts:
                    known = texts[tid]["judge_score"]
                    if known is not None and resp["score"] is not None and known != resp["score"]:
                        report.judge_score_conflicts += 1
                else:
                    texts[tid] = {
                        "text_id": tid,
                        "prompt_id": pid,
                        "conversation": conv,
                        "response": resp["answer"],
                        "source_model": resp["model"],
                        "judge_score": resp["score"],
                    }
            items.append(
                {
                    "item_id": f"{'pair' if fmt == 'pairwise' else 'bon'}-{uid}",
                    "benchmark": benchmark,
                    "format": fmt,
                    "goal": goal,
                    "task": task,
                    "scenario": scenario,
                    "prompt_id": pid,
                    "chosen_id": ids[0],
                    "rejected_ids": ids[1:],
                    "chosen_model": best["model"],
                    "rejected_models": [r["model"] for r in losers],
                    "chosen_score": best["score"],
                    "rejected_scores": [r["score"] for r in losers],
                    "source_file": rel,
                    "source_index": index,
                }
            )

    if report.category_mismatches:
        first = report.category_mismatches[0]
        log.warning(
            "%d records have a category_path that does not match their file (first: %s record %d, category_path %r); "
            "they are loaded under their file's scenario (benchmark.strict_category_path=true stops instead)",
            len(report.category_mismatches), first["file"], first["record"], first["category_path"],
        )
    if report.identical_pairs or report.identical_bon_groups:
        log.warning("%d pairs and %d BoN groups have a loser byte-identical to the best response: a scorer can never "
                    "get them right (BoN chance credits such groups 0)", report.identical_pairs, report.identical_bon_groups)
    if report.judge_score_conflicts:
        log.warning(
            "%d responses appear in several records with different judge scores; texts.judge_score keeps the first, "
            "items keep each record's own", report.judge_score_conflicts,
        )
    if n_scored and n_unscored:
        log.warning("%d of %d responses carry a judge score; the rest have none", n_scored, n_scored + n_unscored)
    report.has_judge_scores = n_scored > 0 and n_unscored == 0
    if check_manifest:
        _compare_with_manifest(report)
    return finalize_items(pd.DataFrame(items)), finalize_texts(pd.DataFrame(list(texts.values()))), report


def _compare_with_manifest(report: LoadReport) -> None:
    """Name the release files that are absent (never skip silently) and those the release does not have."""
    manifest = release_manifest()
    for rel, count in manifest.items():
        if rel not in report.files:
            fmt, goal, task, scenario = scenario_of(rel)
            report.missing_files.append(
                {"file": rel, "format": fmt, "goal": goal, "task": task, "scenario": scenario, "records": count}
            )
    report.unexpected_files = sorted(set(report.files) - set(manifest))
    for rel, count in report.files.items():
        if rel in manifest and manifest[rel] != count:
            report.count_mismatches.append({"file": rel, "records": count, "expected": manifest[rel]})
    if report.count_mismatches:
        log.warning(
            "RMB release differs from commit 94c5976 in record counts: %s",
            "; ".join(f"{m['file']} has {m['records']}, expected {m['expected']}" for m in report.count_mismatches),
        )
    if report.missing_files and len(report.missing_files) < len(manifest):
        lost = sum(m["records"] for m in report.missing_files)
        names = "; ".join(f"{m['file']} ({m['records']} records)" for m in report.missing_files)
        log.warning("RMB release incomplete: %d of %d files missing (%d records): %s", len(report.missing_files), len(manifest), lost, names)
