"""Load RewardBench v1 and RewardBench 2 from local files in the hub schemas.

Both loaders return ``(items, texts, report)`` like :func:`rmeval.data.rmb.load_rmb`: the canonical tables of
``rmeval.data.schema`` plus a report object with ``to_dict()``.

RewardBench v1 (``allenai/reward-bench``, split ``filtered``; the prior sets in the same schema)
    Columns ``prompt``, ``chosen``, ``rejected``, ``chosen_model``, ``rejected_model``, ``subset``, ``id``.
    One pairwise item per row, ``item_id = "rb1-<id>"``. goal = task = the section (Chat, Chat Hard, Safety,
    Reasoning, or Prior Sets for anthropic_helpful / anthropic_hhh / shp / summarize); scenario = the subset.
    ``prompt`` is a string (one user turn); a list of ``{role, content}`` turns ending with the user's is also
    accepted (the prior-sets release stores multi-turn prompts that way). ``chosen_model`` / ``rejected_model``
    may be absent or null (the prior sets lack them). Prior-set rows number their ids per subset, so their
    item_id is ``"rb1-<subset>-<id>"`` and their ids only need to be unique within a subset.

RewardBench 2 (``allenai/reward-bench-2``, split ``test``)
    Columns ``id``, ``prompt``, ``chosen`` (list of str), ``rejected`` (list of str), ``num_correct``,
    ``num_incorrect``, ``total_completions``, ``models``, ``subset``. ``item_id = "rb2-<id>"``;
    goal = task = scenario = the subset (Factuality, Precise IF, Math, Safety, Focus, Ties).

    * Non-Ties rows: one item with ``format = "bon"``, ``chosen_id`` = the single chosen completion,
      ``rejected_ids`` = the rejected ones (3 in the release).
    * Ties rows: one item per prompt with ``format = "ties"``. ``chosen_ids`` (list) holds every correct
      completion, ``chosen_id`` its first, ``rejected_ids`` the incorrect ones. The row id has the form
      ``ref:<n>`` (a reference prompt with one correct answer) or ``tied:<n>`` (the matching prompt with several
      correct answers); ``ties_kind`` ("ref" / "tied") and ``ties_group`` (n) carry it, so the Ties composite
      of ``rmeval.rewardbench_metrics`` can pair them.

    The RewardBench 2 items frame has three columns beyond the canonical ones: ``chosen_ids`` (list of text ids,
    ``[chosen_id]`` for non-Ties items), ``ties_kind`` and ``ties_group`` (null for non-Ties items).

Texts are deduplicated by ``rmeval.ids.text_id(conversation, response)``: the same answer to the same prompt is
stored (and scored) once however many rows use it.

A malformed record stops the load with one line naming the file, the record index and the field. With
``root=None`` the loaders try the hub through ``datasets`` (absent or offline here: a one-line DataError).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from rmeval.data.records import Record, one_line, plain, read_records, record_files
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id
from rmeval.ids import text_id as make_text_id

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------- constants
HUB_V1 = ("allenai/reward-bench", "filtered")
HUB_V2 = ("allenai/reward-bench-2", "test")

# RewardBench v1: section -> subsets, and each subset's row count in the filtered split (2,985 rows in all).
# These are row counts; the section weights (math-prm 984) live in rmeval.rewardbench_metrics.
V1_SECTIONS: dict[str, tuple[str, ...]] = {
    "Chat": ("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
    "Chat Hard": (
        "mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
        "llmbar-adver-GPTOut", "llmbar-adver-manual",
    ),
    "Safety": ("refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond", "donotanswer"),
    "Reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}
PRIOR_SECTION = "Prior Sets"
PRIOR_SUBSETS: tuple[str, ...] = ("anthropic_helpful", "anthropic_hhh", "shp", "summarize")
V1_ROW_COUNTS: dict[str, int] = {
    "alpacaeval-easy": 100, "alpacaeval-length": 95, "alpacaeval-hard": 95, "mt-bench-easy": 28, "mt-bench-med": 40,
    "mt-bench-hard": 37, "llmbar-natural": 100, "llmbar-adver-neighbor": 134, "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47, "llmbar-adver-manual": 46,
    "refusals-dangerous": 100, "refusals-offensive": 100, "xstest-should-refuse": 154, "xstest-should-respond": 250,
    "donotanswer": 136,
    "math-prm": 447, "hep-cpp": 164, "hep-go": 164, "hep-java": 164, "hep-js": 164, "hep-python": 164, "hep-rust": 164,
}
V1_SECTION_OF: dict[str, str] = {s: sec for sec, subs in V1_SECTIONS.items() for s in subs}
V1_SECTION_OF.update({s: PRIOR_SECTION for s in PRIOR_SUBSETS})

# RewardBench 2: domain -> prompt count in the release (1,865 in all).
V2_DOMAINS: dict[str, int] = {"Factuality": 475, "Precise IF": 160, "Math": 183, "Safety": 450, "Focus": 495, "Ties": 102}
V2_CANONICAL = {name.lower(): name for name in V2_DOMAINS}
TIES = "Ties"
TIES_ID = re.compile(r"^(ref|tied):(\d+)$")

V2_EXTRA_COLUMNS = ("chosen_ids", "ties_kind", "ties_group")


# ------------------------------------------------------------------------------------------- report
@dataclass
class RewardBenchLoadReport:
    """What the loader read: files, counts per subset, absent subsets and oddities a user should know about."""

    root: str
    version: int
    source: str = "file"  # file | hub
    files: dict[str, int] = field(default_factory=dict)
    subsets: dict[str, int] = field(default_factory=dict)
    missing_subsets: list[dict] = field(default_factory=list)
    count_mismatches: list[dict] = field(default_factory=list)
    identical_pairs: int = 0  # items whose chosen text equals one of its rejected texts
    whitespace_only_responses: int = 0
    nonstandard_groups: int = 0  # v2 non-Ties items without exactly 3 rejected completions
    ties: dict = field(default_factory=dict)  # v2: ref / tied prompt counts, pairs, unpaired ids

    def to_dict(self) -> dict:
        return {
            "root": self.root,
            "version": self.version,
            "source": self.source,
            "n_files": len(self.files),
            "files": self.files,
            "subsets": self.subsets,
            "missing_subsets": self.missing_subsets,
            "count_mismatches": self.count_mismatches,
            "identical_pairs": self.identical_pairs,
            "whitespace_only_responses": self.whitespace_only_responses,
            "nonstandard_groups": self.nonstandard_groups,
            "ties": self.ties,
        }


# ------------------------------------------------------------------------------------------- record access
class _Record(Record):
    """A RewardBench record: responses are plain strings; lists of them in v2."""

    def response(self, value: object, where: str, report: RewardBenchLoadReport) -> str:
        value = self.text(value, where)
        if not value.strip():
            report.whitespace_only_responses += 1
        return value

    def str_list(self, key: str, report: RewardBenchLoadReport) -> list[str]:
        values = self.get(key, list)
        if not values:
            self.fail(key, "empty list")
        return [self.response(v, f"{key}[{k}]", report) for k, v in enumerate(values)]

    def count(self, key: str, expected: int, what: str) -> None:
        value = self.get(key, int)
        if value != expected:
            self.fail(key, f"{value} does not match {what} ({expected})")


# ------------------------------------------------------------------------------------------- file reading
def _sources(root: str | Path | None, hub: tuple[str, str], revision: str | None = None) -> tuple[list[tuple[str, list]], str, str]:
    """[(name shown in errors, records)], the root as a string, and the source kind (file | hub)."""
    if root is None:
        records = load_hub(*hub, revision=revision)
        name = f"hub:{hub[0]}[{hub[1]}]" + (f"@{revision}" if revision else "")
        return [(name, records)], name, "hub"
    return [(name, read_records(path, name)) for name, path in record_files(root)], str(root), "file"


def load_hub(dataset_id: str, split: str, revision: str | None = None) -> list[dict]:
    """Records of a hub dataset split through ``datasets.load_dataset`` at ``revision``.

    ``dataset_id`` may also be a local folder in the hub's layout (``datasets`` reads it with the same call), which
    is how the tests exercise this path offline. Any failure (no network, unknown dataset or revision) is one
    DataError line telling the user to fetch the data elsewhere and point ``benchmark.root`` at it.
    """
    advice = "the hub is unreachable here; download the file elsewhere and point benchmark.root at it"
    try:
        import datasets  # noqa: PLC0415 - heavy; imported only for hub loads
    except Exception as err:  # noqa: BLE001 - ImportError or a broken install read the same
        raise DataError(f"{dataset_id} [{split}]: {advice} (the 'datasets' package cannot be imported: {type(err).__name__})") from None
    try:
        kwargs = {"revision": revision} if revision else {}
        data = datasets.load_dataset(dataset_id, split=split, **kwargs)
        return [plain(dict(row)) for row in data]
    except Exception as err:  # noqa: BLE001 - network, auth, missing split: all the same advice
        reason = one_line(f"{type(err).__name__}: {err}")[:300]
        raise DataError(f"{dataset_id} [{split}]: {advice} ({reason})") from None


# ------------------------------------------------------------------------------------------- shared helpers
def _add_text(texts: dict, conv: list[dict], pid: str, response: str, model: str | None) -> str:
    tid = make_text_id(conv, response)
    if tid not in texts:
        texts[tid] = {
            "text_id": tid, "prompt_id": pid, "conversation": conv, "response": response,
            "source_model": model, "judge_score": None,
        }
    return tid


def _optional_model(rec: _Record, key: str) -> str | None:
    return rec.get(key, str, optional=True)


def _compare_counts(report: RewardBenchLoadReport, expected: dict[str, int], group_of: dict[str, str], check: bool, label: str) -> None:
    """Name the subsets absent from the load (always) and, with ``check``, count differences from the release."""
    for subset, n in expected.items():
        if subset not in report.subsets:
            report.missing_subsets.append({"subset": subset, label: group_of[subset], "expected": n})
        elif check and report.subsets[subset] != n:
            report.count_mismatches.append({"subset": subset, "records": report.subsets[subset], "expected": n})
    if report.missing_subsets and len(report.missing_subsets) < len(expected):
        log.warning(
            "%s: %d of %d subsets absent: %s", report.root, len(report.missing_subsets), len(expected),
            ", ".join(m["subset"] for m in report.missing_subsets),
        )
    if report.count_mismatches:
        log.warning(
            "%s: record counts differ from the release: %s", report.root,
            "; ".join(f"{m['subset']} has {m['records']}, expected {m['expected']}" for m in report.count_mismatches),
        )


def _finalize(items: list[dict], texts: dict, extra: Iterable[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = finalize_items(pd.DataFrame(items))
    extra = list(extra)
    if extra and len(frame):
        by_id = {row["item_id"]: row for row in items}
        for col in extra:
            values = [by_id[i][col] for i in frame["item_id"]]
            frame[col] = pd.array(values, dtype="Int64") if col == "ties_group" else values
    elif extra:
        for col in extra:
            frame[col] = pd.Series(dtype="object")
    return frame, finalize_texts(pd.DataFrame(list(texts.values())))


# ------------------------------------------------------------------------------------------- v1
def load_rewardbench(
    root: str | Path | None, benchmark: str = "rewardbench", check_manifest: bool = False,
    hub: tuple[str, str] = HUB_V1, revision: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, RewardBenchLoadReport]:
    """RewardBench v1 from a file or a folder of files in the ``allenai/reward-bench`` schema.

    ``root=None`` reads ``allenai/reward-bench`` split ``filtered`` from the hub (fails with one line here).
    ``check_manifest`` compares each core subset's row count with the release's (2,985 rows).
    """
    sources, root_name, kind = _sources(root, hub, revision)
    report = RewardBenchLoadReport(root=root_name, version=1, source=kind)
    items: list[dict] = []
    texts: dict[str, dict] = {}
    seen: dict[tuple[str, str], str] = {}

    for where, records in sources:
        report.files[where] = len(records)
        for index, raw in enumerate(records):
            rec = _Record(where, index, raw)
            uid = rec.uid_str()
            subset = rec.get("subset", str)
            section = V1_SECTION_OF.get(subset)
            if section is None:
                rec.fail("subset", f"unknown subset {subset!r} (expected a RewardBench v1 subset or one of {', '.join(PRIOR_SUBSETS)})")
            key = (subset, uid) if section == PRIOR_SECTION else ("core", uid)
            if key in seen:
                rec.fail("id", f"duplicate id {uid!r} (first seen in {seen[key]})")
            seen[key] = f"{where} record {index}"
            conv = rec.conversation("prompt")
            chosen = rec.response(rec.get("chosen", str), "chosen", report)
            rejected = rec.response(rec.get("rejected", str), "rejected", report)
            chosen_model = _optional_model(rec, "chosen_model")
            rejected_model = _optional_model(rec, "rejected_model")
            if chosen == rejected:
                report.identical_pairs += 1
            pid = make_prompt_id(conv)
            cid = _add_text(texts, conv, pid, chosen, chosen_model)
            rid = _add_text(texts, conv, pid, rejected, rejected_model)
            report.subsets[subset] = report.subsets.get(subset, 0) + 1
            items.append({
                "item_id": f"rb1-{subset}-{uid}" if section == PRIOR_SECTION else f"rb1-{uid}",
                "benchmark": benchmark,
                "format": "pairwise",
                "goal": section,
                "task": section,
                "scenario": subset,
                "prompt_id": pid,
                "chosen_id": cid,
                "rejected_ids": [rid],
                "chosen_model": chosen_model,
                "rejected_models": [rejected_model],
                "chosen_score": None,
                "rejected_scores": [None],
                "source_file": where,
                "source_index": index,
            })

    _compare_counts(report, V1_ROW_COUNTS, V1_SECTION_OF, check_manifest, "section")
    if report.identical_pairs:
        log.warning("%s: %d pairs have identical chosen and rejected text (they can never be scored correct)", root_name, report.identical_pairs)
    items_df, texts_df = _finalize(items, texts)
    return items_df, texts_df, report


# ------------------------------------------------------------------------------------------- v2
def load_rewardbench2(
    root: str | Path | None, benchmark: str = "rewardbench2", check_manifest: bool = False,
    hub: tuple[str, str] = HUB_V2, revision: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, RewardBenchLoadReport]:
    """RewardBench 2 from a file or a folder of files in the ``allenai/reward-bench-2`` schema.

    ``root=None`` reads ``allenai/reward-bench-2`` split ``test`` from the hub (fails with one line here).
    ``check_manifest`` compares each domain's prompt count with the release's (1,865 prompts).
    """
    sources, root_name, kind = _sources(root, hub, revision)
    report = RewardBenchLoadReport(root=root_name, version=2, source=kind)
    items: list[dict] = []
    texts: dict[str, dict] = {}
    seen: dict[str, str] = {}
    ties_seen: dict[str, set[int]] = {"ref": set(), "tied": set()}

    for where, records in sources:
        report.files[where] = len(records)
        for index, raw in enumerate(records):
            rec = _Record(where, index, raw)
            uid = rec.claim_uid(seen)
            _, subset = rec.named("subset", V2_CANONICAL, V2_DOMAINS)
            conv = rec.conversation("prompt")
            chosen = rec.str_list("chosen", report)
            rejected = rec.str_list("rejected", report)
            rec.count("num_correct", len(chosen), "the number of chosen completions")
            rec.count("num_incorrect", len(rejected), "the number of rejected completions")
            rec.count("total_completions", len(chosen) + len(rejected), "chosen + rejected")
            models = rec.get("models", list, optional=True)
            if models is not None and any(m is not None and not isinstance(m, str) for m in models):
                rec.fail("models", "expected a list of str")
            if models is None or len(models) != len(chosen) + len(rejected):
                models = [None] * (len(chosen) + len(rejected))

            ties_kind = ties_group = None
            if subset == TIES:
                match = TIES_ID.match(uid)
                if match is None:
                    rec.fail("id", f"a Ties id must look like 'ref:<n>' or 'tied:<n>', got {uid!r}")
                ties_kind, ties_group = match.group(1), int(match.group(2))
                ties_seen[ties_kind].add(ties_group)
                fmt = "ties"
            else:
                if len(chosen) != 1:
                    rec.fail("chosen", f"a {subset} prompt has exactly one chosen completion, got {len(chosen)}")
                if len(rejected) != 3:
                    report.nonstandard_groups += 1
                fmt = "bon"

            pid = make_prompt_id(conv)
            chosen_ids = [_add_text(texts, conv, pid, r, m) for r, m in zip(chosen, models[: len(chosen)])]
            rejected_ids = [_add_text(texts, conv, pid, r, m) for r, m in zip(rejected, models[len(chosen):])]
            if set(chosen_ids) & set(rejected_ids):
                report.identical_pairs += 1
            report.subsets[subset] = report.subsets.get(subset, 0) + 1
            items.append({
                "item_id": f"rb2-{uid}",
                "benchmark": benchmark,
                "format": fmt,
                "goal": subset,
                "task": subset,
                "scenario": subset,
                "prompt_id": pid,
                "chosen_id": chosen_ids[0],
                "rejected_ids": rejected_ids,
                "chosen_model": models[0],
                "rejected_models": list(models[len(chosen):]),
                "chosen_score": None,
                "rejected_scores": [None] * len(rejected_ids),
                "source_file": where,
                "source_index": index,
                "chosen_ids": chosen_ids,
                "ties_kind": ties_kind,
                "ties_group": ties_group,
            })

    paired = ties_seen["ref"] & ties_seen["tied"]
    report.ties = {
        "ref_prompts": len(ties_seen["ref"]),
        "tied_prompts": len(ties_seen["tied"]),
        "pairs": len(paired),
        "unpaired": sorted(f"ref:{n}" for n in ties_seen["ref"] - paired) + sorted(f"tied:{n}" for n in ties_seen["tied"] - paired),
    }
    if report.ties["unpaired"]:
        log.warning("%s: Ties prompts without their ref/tied partner (left out of the margin terms): %s", root_name, ", ".join(report.ties["unpaired"]))
    if report.nonstandard_groups:
        log.warning("%s: %d non-Ties prompts do not have exactly 3 rejected completions", root_name, report.nonstandard_groups)
    _compare_counts(report, V2_DOMAINS, {d: d for d in V2_DOMAINS}, check_manifest, "domain")
    items_df, texts_df = _finalize(items, texts, V2_EXTRA_COLUMNS)
    return items_df, texts_df, report

