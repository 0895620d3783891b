"""JudgeBench (Tan et al., ICLR 2025; ScalerLab/JudgeBench): judges on response pairs with an objectively correct answer.

Each record is one pair of responses by one model (``gpt``: GPT-4o-2024-05-13, 350 pairs; ``claude``:
Claude-3.5-Sonnet-20240620, 270 pairs) to a question with a verifiable answer; ``label`` (``A>B`` / ``B>A``) says
which of the stored ``response_A`` / ``response_B`` is correct. The labelled winner becomes the item's chosen
response, the other its rejected one. Categories come from ``source``: Knowledge (``mmlu-pro-*``), Reasoning
(``livebench-reasoning``), Math (``livebench-math``), Coding (``livecodebench``).

Scoring follows the official ``utils/metrics.py`` (``compute_final_metrics``, repository commit e2c52c2):

- a scalar RM scores each response once (the "single game"); a pair is correct iff r(correct) > r(incorrect),
  strictly. The official reward-model judges break an exact tie towards B (``'A>B' if score_A > score_B else
  'B>A'``); here a tie counts as wrong, as on every other benchmark of rmeval, and ties are counted in the metrics;
- a pairwise judge runs both orders (its YAML's ``both_orders: true``); each order votes +1 when it picks the
  labelled winner, -1 when it picks the other, 0 for a tie or an unparseable verdict, and the pair is correct iff
  the sum is > 0 (``order_rule = "net"``; one right and one tie counts correct, one right and one wrong does not);
- a column is the share of its pairs that are correct, and Overall is taken over all pairs (``run_judge.py``
  calls the same function with every pair included), so it is pair-weighted, not the mean of the categories.

The first order shows ``response_A`` as A, as the official runner does (``positions: release``); ``positions:
seeded`` draws the positions from ``position_seed`` like every other benchmark. Sources: a local copy of the
repository's ``data/`` folder (or one of its files), else ``datasets.load_dataset("ScalerLab/JudgeBench",
split=...)`` at the pinned ``revision``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from rmeval.benchmarks.base import BENCHMARKS, HubBenchmark, HubBenchmarkConfig, headline_cell, judge_notes
from rmeval.data.records import Record, read_records
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id
from rmeval.ids import text_id as make_text_id

#: the release's file per split (the repository's ``data/`` folder)
SPLIT_FILES = {
    "gpt": "dataset=judgebench,response_model=gpt-4o-2024-05-13.jsonl",
    "claude": "dataset=judgebench,response_model=claude-3-5-sonnet-20240620.jsonl",
}
CATEGORIES = ("Knowledge", "Reasoning", "Math", "Coding")
KNOWLEDGE_PREFIX = "mmlu-pro-"
SOURCES = {"livebench-reasoning": "Reasoning", "livebench-math": "Math", "livecodebench": "Coding"}
LABELS = {"A>B": "A", "B>A": "B"}  # label -> the stored position of the correct response


class Positions(Enum):
    release = "release"  # the first order shows response_A as A (the official runner's order)
    seeded = "seeded"  # drawn from position_seed per item, like every other benchmark


@dataclass
class JudgeBenchConfig(HubBenchmarkConfig):
    split: str | None = field(default=None, metadata={"pattern": "|".join(SPLIT_FILES), "expected": " or ".join(SPLIT_FILES)})
    positions: Positions = Positions.release


def category_of(source: str) -> str | None:
    """JudgeBench's category of a ``source`` value (None: not one of the four)."""
    if source.startswith(KNOWLEDGE_PREFIX) and len(source) > len(KNOWLEDGE_PREFIX):
        return "Knowledge"
    return SOURCES.get(source)


def split_file(root: str, split: str) -> tuple[str, Path]:
    """(name shown in errors, path) of the split's file: ``root`` itself when it is a file, else the release's file
    name in ``root`` or in ``root/data`` (the repository's layout)."""
    path = Path(root)
    if path.is_file():
        return str(path), path
    if not path.is_dir():
        raise DataError(f"{root}: not found; set benchmark.root (JUDGEBENCH_ROOT) to JudgeBench's data/ folder or one of its .jsonl files")
    name = SPLIT_FILES.get(split)
    if name is None:
        raise DataError(f"{root}: record ?: field 'split': unknown split {split!r} (expected {' or '.join(SPLIT_FILES)})")
    for candidate in (path / name, path / "data" / name):
        if candidate.is_file():
            return str(candidate), candidate
    raise DataError(f"{root}: record ?: field '<file>': {name} (the {split} split) is not in this folder nor in its data/")


@BENCHMARKS.register()
class JudgeBenchBenchmark(HubBenchmark):
    Config = JudgeBenchConfig
    hub = ("ScalerLab/JudgeBench", "gpt")
    headline_columns = (*CATEGORIES, "Overall")
    primary = "Overall"
    headline_definition = ("JudgeBench: share of response pairs judged correctly (scalar RMs: r(correct) > r(incorrect), "
                           "a tie is wrong; pairwise judges: both orders, correct iff the verdicts net in the label's "
                           "favour); Overall = over all pairs")
    order_rule = "net"
    display_scale = 100.0

    def missing_source_hint(self) -> str:
        return (f"point benchmark.root (JUDGEBENCH_ROOT) at JudgeBench's data/ folder, or unset it to read "
                f"{self.dataset} [{self.split}] from the hub")

    # ------------------------------------------------------------------------------------- data
    def read(self, root):
        import pandas as pd

        from rmeval.data.rewardbench import load_hub

        if root is None:
            where = f"hub:{self.dataset}[{self.split}]"
            records, line_numbers = load_hub(self.dataset, self.split, self.config.revision), False
        else:
            where, path = split_file(root, self.split)
            records, line_numbers = read_records(path, where), path.suffix.lower() == ".jsonl"
        items, texts, seen = [], {}, {}
        per_category = dict.fromkeys(CATEGORIES, 0)
        labels = dict.fromkeys(LABELS, 0)
        identical = 0
        for index, raw in enumerate(records):
            rec = Record(where, index, raw, uid_key="pair_id", uid_label="pair_id", line=index + 1 if line_numbers else None)
            uid = rec.claim_uid(seen, "pair_id")
            source = rec.get("source", str)
            category = category_of(source.strip())
            if category is None:
                rec.fail("source", f"unknown source {source!r} (expected {KNOWLEDGE_PREFIX}<subject>, {', '.join(SOURCES)})")
            label = rec.get("label", str)
            if label.strip() not in LABELS:
                rec.fail("label", f"unknown label {label!r} (expected {' or '.join(LABELS)})")
            label = label.strip()
            question = rec.get("question", str)
            if not question.strip():
                rec.fail("question", "empty question")
            conv = [{"role": "user", "content": question}]
            responses = {pos: rec.text(rec.get(f"response_{pos}", str), f"response_{pos}") for pos in ("A", "B")}
            model = rec.get("response_model", str, optional=True)
            winner = LABELS[label]
            loser = "B" if winner == "A" else "A"
            pid = make_prompt_id(conv)
            ids = {}
            for pos, response in responses.items():
                ids[pos] = make_text_id(conv, response)
                texts.setdefault(ids[pos], {"text_id": ids[pos], "prompt_id": pid, "conversation": conv, "response": response,
                                            "source_model": model, "judge_score": None})
            identical += ids["A"] == ids["B"]
            per_category[category] += 1
            labels[label] += 1
            items.append({
                "item_id": f"judgebench-{uid}", "benchmark": self.name, "format": "pairwise", "goal": category,
                "task": category, "scenario": source.strip(), "prompt_id": pid, "chosen_id": ids[winner],
                "rejected_ids": [ids[loser]], "chosen_model": model, "rejected_models": [model], "chosen_score": None,
                "rejected_scores": [None], "source_file": where, "source_index": index, "pair_id": uid,
                "label": label, "release_position": winner,
            })
        if not items:
            raise DataError(f"{where}: record ?: field '<file>': no JudgeBench records")
        report = {"root": str(root or where), "file": where, "split": self.split, "n_pairs": len(items),
                  "pairs_per_category": per_category, "labels": labels, "missing_files": [], "identical_pairs": identical}
        return finalize_items(pd.DataFrame(items)), finalize_texts(pd.DataFrame(list(texts.values()))), report

    def load(self, root):
        """The shared steps, then (``positions: release``) the release's order: the first order shows response_A as A."""
        items, texts, report = super().load(root)
        if self.config.positions == Positions.release.value:
            items["chosen_positions"] = [[pos] for pos in items["release_position"]]
        report["positions"] = self.config.positions
        return items, texts, report

    # ------------------------------------------------------------------------------------- metrics
    def significance_columns(self, items):
        """Each category (its pairs) and Overall (every pair, so pair-weighted), as in the official metric."""
        from rmeval.metrics.paired import Column, all_items

        def category_is(name):
            return lambda o: o["goal"].to_numpy() == name

        cols = [Column(c, ((category_is(c), 1.0),), f"{c}: share of its pairs judged correctly") for c in CATEGORIES]
        return [*cols, Column("Overall", ((all_items(), 1.0),), "share of all pairs judged correctly (pair-weighted)")]

    def outcome_metrics(self, items, outcomes, m):
        """Counts, value and CI of every headline column from one joint resample (prompts within sources under the
        cluster bootstrap), so the intervals match the paired tests'; per-source table beside them."""
        from rmeval.metrics import ci_description, counts_summary, group_table, interval, with_prompt_ids
        from rmeval.metrics.paired import resample_weights

        outcomes = with_prompt_ids(items, outcomes)
        codes, weights = resample_weights(outcomes, m["n_boot"], m["seed"], m["bootstrap"], self.name)
        columns = {}
        for col in self.significance_columns(items):
            mask = col.masks(outcomes)[0][0]
            lo, hi = interval(col.replicates(outcomes, codes, weights), m["ci_level"]) if mask.any() else (None, None)
            columns[col.name] = {**counts_summary(outcomes[mask]), "ci_low": lo, "ci_high": hi}
        ci = ci_description(outcomes, m["bootstrap"], m["ci_level"], m["n_boot"], m["seed"])
        ci["overall"] = "one joint resample for the four categories and Overall"
        return {
            "n_items": int(len(items)),
            "columns": columns,
            "by_scenario": group_table(outcomes, ["goal", "format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], m["bootstrap"]),
            "ci": ci,
        }

    def headline(self, metrics):
        return {col: headline_cell(node["accuracy"], node["ci_low"], node["ci_high"], node["n_items"], 0.5)
                for col, node in metrics["columns"].items()}

    # ------------------------------------------------------------------------------------- leaderboard
    def notes(self, metrics: Sequence[dict]) -> list[str]:
        if not metrics:
            return []
        data = metrics[0].get("data") or {}
        notes = ["Numbers are percentages; chance is 50 in every column."]
        sample = data.get("sample") or {}
        if sample.get("per_scenario"):
            notes.append(f"Seeded stratified subsample: at most {sample['per_scenario']} pairs per source (seed {sample.get('seed')}).")
        if data.get("identical_pairs"):
            n = data["identical_pairs"]
            notes.append(f"{n} pair{'s have' if n != 1 else ' has'} byte-identical responses A and B: no scalar RM can get "
                         f"{'them' if n != 1 else 'it'} right.")
        return notes + judge_notes(metrics)
