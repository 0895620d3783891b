"""PPE, Preference Proxy Evaluations (Frick et al., "How to Evaluate Reward Models for RLHF", ICLR 2025,
arXiv 2410.14872; code lmarena/PPE): two benchmarks, Human Preference (this module) and Correctness
(``rmeval.benchmarks.ppe_correctness``, which shares this module's reader helpers).

**PPE Human Preference** (:class:`PPEPreference`; hub ``lmarena-ai/PPE-Human-Preference-V1``, split ``test``,
16,038 Chatbot Arena battles). A record is one battle: ``question_id``, ``prompt``, ``response_1`` (by ``model_a``),
``response_2`` (by ``model_b``), the human verdict ``winner`` (``model_a`` / ``model_b`` / a tie), ``language`` and
the Arena's prompt tags ``hard_prompt``, ``easy_prompt``, ``if_prompt``, ``math_prompt``, ``is_code``.

- *Accuracy* (the paper's human-preference accuracy): the share of battles where the RM scores the human's winner
  strictly higher. Battles with a tie verdict have no preferred response and are left out (counted in the data
  report), as PPE's judge evaluation does; an RM tie counts as wrong (the project's rule; counted).
- *Per-category accuracy* (the paper's per-domain breakdown): the same accuracy over the battles carrying a tag;
  the tags are the release's own flags, so a battle belongs to every category it is tagged with (one battle can
  count in Hard Prompts, Math and Coding at once). Per-language accuracy is in ``by_scenario``.
- Not implemented: PPE's model-ranking metrics (Spearman / Kendall between the RM-induced and the human
  Bradley-Terry rankings of the Arena models, separability, confidence agreement, Brier score), and the
  "similar responses" domain (its ``sim`` threshold is not part of the release).

Confidence intervals: the project's cluster bootstrap (prompts resampled within each language, one joint resample
for all columns).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rmeval.benchmarks.base import BENCHMARKS, HubBenchmark, headline_cell
from rmeval.data.records import Record, read_records, record_files
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id
from rmeval.ids import text_id as make_text_id

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------- human preference
PREFERENCE_GOAL = "Human Preference"
WINNERS = {"model_a": 0, "model_b": 1}  # the winner's response: response_1 (model_a) or response_2 (model_b)
TIE_VERDICTS = ("tie", "tie (bothbad)")
#: headline category -> the release's boolean tag
CATEGORY_FLAGS = {"Hard Prompts": "hard_prompt", "Easy Prompts": "easy_prompt", "Instruction Following": "if_prompt",
                  "Math": "math_prompt", "Coding": "is_code"}


def pair_item(bench: str, item_id: str, goal: str, scenario: str, pid: str, chosen: str, rejected: str,
              models: tuple[str | None, str | None], where: str, index: int, **extra) -> dict:
    """One pairwise item in the canonical items schema (``rmeval.data.schema``), extra columns appended."""
    return {"item_id": item_id, "benchmark": bench, "format": "pairwise", "goal": goal, "task": goal, "scenario": scenario,
            "prompt_id": pid, "chosen_id": chosen, "rejected_ids": [rejected], "chosen_model": models[0],
            "rejected_models": [models[1]], "chosen_score": None, "rejected_scores": [None], "source_file": where,
            "source_index": index, **extra}


def add_text(texts: dict, conv: list[dict], pid: str, response: str, model: str | None) -> str:
    """The text id of (conversation, response), added to ``texts`` once however many items use it."""
    tid = make_text_id(conv, response)
    texts.setdefault(tid, {"text_id": tid, "prompt_id": pid, "conversation": conv, "response": response,
                           "source_model": model, "judge_score": None})
    return tid


def read_sources(root: str | None, hubs: Sequence[tuple[str, str, str | None]]) -> list[tuple[str, Path | None, list]]:
    """[(name shown in errors, path or None, records)]: every data file under ``root``, else each hub
    (dataset, split, revision) through ``datasets``."""
    from rmeval.data.rewardbench import load_hub

    if root is None:
        return [(f"hub:{d}[{s}]" + (f"@{r}" if r else ""), None, load_hub(d, s, r)) for d, s, r in hubs]
    return [(where, path, read_records(path, where)) for where, path in record_files(root)]


def _flag(rec: Record, key: str) -> bool:
    return bool(rec.get(key, bool))


def ci_block(m: dict, what: str) -> dict:
    """The ``ci`` block of a metrics result: which bootstrap, over what, at which level."""
    return {"method": f"{m['bootstrap']} bootstrap over {what}", "bootstrap": m["bootstrap"], "level": m["ci_level"],
            "n_boot": m["n_boot"], "seed": m["seed"], "interval": "percentile"}


@BENCHMARKS.register()
class PPEPreference(HubBenchmark):
    hub = ("lmarena-ai/PPE-Human-Preference-V1", "test")
    headline_columns = ("Hard Prompts", "Easy Prompts", "Instruction Following", "Math", "Coding", "Overall")
    primary = "Overall"
    headline_definition = ("PPE Human Preference: accuracy on Chatbot Arena battles (the human's winner scored strictly "
                           "higher; tie verdicts left out, RM ties wrong); a category = the battles carrying its tag")

    def missing_source_hint(self) -> str:
        return (f"point benchmark.root (PPE_PREFERENCE_ROOT) at a local copy of {self.dataset} in the hub schema, or "
                "unset it to read the hub")

    def read(self, root):
        import pandas as pd

        sources = read_sources(root, [(self.dataset, self.split, self.config.revision)])
        items, texts, seen = [], {}, {}
        verdicts = {"model_a": 0, "model_b": 0, **{t: 0 for t in TIE_VERDICTS}}
        languages, identical = {}, 0
        for where, _, records in sources:
            for index, raw in enumerate(records):
                rec = Record(where, index, raw, uid_key="question_id", uid_label="question_id")
                uid = rec.claim_uid(seen, "question_id")
                conv = rec.conversation("prompt")
                responses = [rec.text(rec.get(f"response_{k}", str), f"response_{k}") for k in (1, 2)]
                models = (rec.get("model_a", str, optional=True), rec.get("model_b", str, optional=True))
                winner = rec.get("winner", str).strip()
                if winner not in WINNERS and winner not in TIE_VERDICTS:
                    rec.fail("winner", f"unknown verdict {winner!r} (expected one of {', '.join([*WINNERS, *TIE_VERDICTS])})")
                language = rec.get("language", str).strip() or "unknown"
                categories = [name for name, key in CATEGORY_FLAGS.items() if _flag(rec, key)]
                verdicts[winner] += 1
                if winner in TIE_VERDICTS:
                    continue
                languages[language] = languages.get(language, 0) + 1
                win = WINNERS[winner]
                pid = make_prompt_id(conv)
                ids = [add_text(texts, conv, pid, r, m) for r, m in zip(responses, models)]
                identical += ids[0] == ids[1]
                items.append(pair_item(self.name, f"ppe-hp-{uid}", PREFERENCE_GOAL, language, pid, ids[win], ids[1 - win],
                                        (models[win], models[1 - win]), where, index, categories=categories))
        if not items:
            raise DataError(f"{root or self.dataset}: no PPE human-preference battle with a winner")
        frame = finalize_items(pd.DataFrame(items))
        per_category = {name: int(sum(name in c for c in frame["categories"])) for name in CATEGORY_FLAGS}
        report = {"root": str(root or sources[0][0]), "files": {w: len(r) for w, _, r in sources}, "missing_files": [],
                  "n_records": sum(verdicts.values()), "verdicts": verdicts, "n_pairs": int(len(frame)),
                  "n_tie_verdicts_excluded": sum(verdicts[t] for t in TIE_VERDICTS), "categories": per_category,
                  "languages": dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0]))), "identical_pairs": identical}
        if report["n_tie_verdicts_excluded"]:
            log.info("%s: %d battles with a tie verdict left out (no preferred response)", self.name, report["n_tie_verdicts_excluded"])
        return frame, finalize_texts(pd.DataFrame(list(texts.values()))), report

    def significance_columns(self, items):
        """Overall and one column per category present, as weighted means of per-item accuracies."""
        from rmeval.metrics.paired import Column, all_items

        members = {name: set(items["item_id"][[name in c for c in items["categories"]]]) for name in CATEGORY_FLAGS}
        cols = [Column(name, ((_member_of(ids), 1.0),), f"accuracy on battles tagged {CATEGORY_FLAGS[name]}")
                for name, ids in members.items() if ids]
        return [*cols, Column("Overall", ((all_items(), 1.0),), "accuracy over all battles with a winner")]

    def outcome_metrics(self, items, outcomes, m):
        from rmeval.metrics import group_table, interval, with_prompt_ids
        from rmeval.metrics.paired import resample_weights

        outcomes = with_prompt_ids(items, outcomes)
        codes, weights = resample_weights(outcomes, m["n_boot"], m["seed"], m["bootstrap"], self.name)
        columns = {}
        for col in self.significance_columns(items):
            mask = col.masks(outcomes)[0][0]
            part = outcomes[mask]
            lo, hi = interval(col.replicates(outcomes, codes, weights), m["ci_level"])
            columns[col.name] = {"accuracy": col.value(outcomes), "ci_low": lo, "ci_high": hi, "n_items": int(mask.sum()),
                                 "n_correct": int(part["correct"].sum()), "n_ties": int(part["tie"].sum()),
                                 "n_invalid": int(part["invalid"].sum())}
        return {"n_items": int(len(items)), "ppe": {"columns": columns},
                "by_scenario": group_table(outcomes, ["goal", "format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], m["bootstrap"]),
                "ci": ci_block(m, "prompts (strata: language)")}

    def headline(self, metrics):
        cols = metrics["ppe"]["columns"]
        return {c: headline_cell(*(cols.get(c, {}).get(k) for k in ("accuracy", "ci_low", "ci_high")),
                                 cols.get(c, {}).get("n_items", 0), 0.5) for c in self.headline_columns}

    def notes(self, metrics):
        notes = super().notes(metrics)
        if metrics:
            notes.insert(0, "Categories are the release's prompt tags (hard_prompt, easy_prompt, if_prompt, math_prompt, "
                            "is_code); a battle counts in every category it is tagged with. Battles with a tie verdict are "
                            "not scored (see the data report).")
        return notes


def _member_of(ids: set):
    return lambda o: o["item_id"].isin(ids).to_numpy()


# ----------------------------------------------------------------- PPE Correctness (rmeval.benchmarks.ppe_correctness)
#: source key (YAML) -> (display name, hub dataset)
SOURCES = {
    "mmlu_pro": ("MMLU-Pro", "lmarena-ai/PPE-MMLU-Pro-Best-of-K"),
    "math": ("MATH", "lmarena-ai/PPE-MATH-Best-of-K"),
    "gpqa": ("GPQA", "lmarena-ai/PPE-GPQA-Best-of-K"),
    "ifeval": ("IFEval", "lmarena-ai/PPE-IFEval-Best-of-K"),
    "mbpp_plus": ("MBPP-Plus", "lmarena-ai/PPE-MBPP-Plus-Best-of-K"),
}
SET_FORMAT = "bok"  # one item per best-of-K set (every correct response in chosen_ids, every incorrect in rejected_ids)


def source_key(name: str) -> str | None:
    """The source a file or folder name stands for (``PPE-MMLU-Pro-Best-of-K``, ``mmlu_pro.jsonl``, ``MATH``), or None."""
    key = Path(name).name.lower().split(".")[0].replace("-", "_")
    key = key.removeprefix("ppe_").removesuffix("_best_of_k")
    return key if key in SOURCES else None
