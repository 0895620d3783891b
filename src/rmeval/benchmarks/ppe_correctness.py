"""PPE Correctness (Frick et al., "How to Evaluate Reward Models for RLHF", ICLR 2025, arXiv 2410.14872; code lmarena/PPE;
the Human Preference half is ``rmeval.benchmarks.ppe``, whose reader helpers this module shares).

Hub ``lmarena-ai/PPE-<source>-Best-of-K``, split ``train``, one dataset per source: MMLU-Pro, MATH, GPQA, IFEval,
MBPP-Plus. A record is one best-of-K set: ``question_id``, ``model_name`` (the policy that sampled), ``prompt``,
``response_1`` … ``response_K`` (K = 32 in the release), ``scores`` (the verifier's correct / incorrect label of each
response) and ``sampled_conflict_pairs`` (0-based index pairs of one correct and one incorrect response, drawn by PPE).

- *Pairwise accuracy* (the paper's correctness accuracy): the share of (correct, incorrect) pairs where the RM
  scores the correct response strictly higher; the pairs are the release's ``sampled_conflict_pairs`` (``pairs:
  sampled``, PPE's definition), or every correct x incorrect pair of a set (``pairs: all``). Every pair is one
  pairwise item, so this column has per-item outcomes and paired tests. The metrics JSON also gives the
  accuracy over every correct x incorrect pair (``all_pairs``) whichever is chosen.
- *Best-of-K* (the paper's best-of-K curves): for each K the expected correctness of the RM's top pick among K
  responses drawn uniformly without replacement from the set, computed exactly over all K-subsets (PPE estimates
  the same expectation by sampling). Several responses tied at the top are picked with equal probability, i.e.
  their correctness is averaged. The curve runs K = 1 … the largest set (a smaller set contributes its K = size
  value beyond its size); K = 1 is the policy's own accuracy (no RM involved, the column's chance level). The
  headline "Best-of-K" is the curve at each set's full size (the RM's pick among all K = 32 responses).
- *ROC-AUC* (the paper's AUC): the RM score as a classifier of correct vs incorrect over all responses of a source
  pooled across prompts (so it also asks whether scores are comparable across prompts); a tie counts one half
  (Mann-Whitney). A response whose score is NaN (e.g. an unparsed rating) ranks below every other, as PPE treats
  a scoring error as -inf; their count is reported.
- Every column is per source; the overall columns are the unweighted means over the sources present (like PPE's
  per-benchmark average). PPE's lower-quantile aggregation across domains is the correlation stage's
  (``rmeval.metrics.paired.lower_quantile_scores``). Not implemented: row-wise Pearson, Brier score and the
  best-of-K summaries other than the full curve (max over K, loss against the oracle).
- A set without both a correct and an incorrect response carries no pair and cannot separate RMs; it is left out
  of every metric and counted per source in the data report (a missing source is named there too).
- Best-of-K and ROC-AUC have no per-item right/wrong outcome: paired tests and ranks are for the accuracy
  columns only (``significance_columns``). A pairwise judge is asked about the (correct, incorrect) pairs only
  (``judged_items``) and gets the accuracy columns; its Best-of-K and ROC-AUC stay empty (they need a scalar score
  per response: a rating judge, ``RatingJudgeRM``, gives one).

Confidence intervals: the project's cluster bootstrap (prompts resampled within each source); best-of-K and the
pooled AUC are recomputed under each replicate's prompt weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rmeval.benchmarks.base import BENCHMARKS, HUB, Benchmark, BenchmarkConfig, BenchmarkError, Source, headline_cell
from rmeval.benchmarks.ppe import SET_FORMAT, SOURCES, add_text, ci_block, pair_item, read_sources, source_key  # noqa: F401
from rmeval.config.fields import ConfigError
from rmeval.data.records import Record
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

@dataclass
class PPECorrectnessConfig(BenchmarkConfig):
    # which of mmlu_pro, math, gpqa, ifeval, mbpp_plus to load (PPE's order is kept)
    sources: list[str] = field(default_factory=lambda: list(SOURCES), metadata={"nonempty": True, "unique": True})
    split: str = "train"
    # source -> the hub commit of lmarena-ai/PPE-<source>-Best-of-K to read; absent: the default branch (warned)
    revisions: dict[str, str] = field(default_factory=dict)
    # the pairs of the accuracy: the release's sampled_conflict_pairs (PPE's), or every correct x incorrect pair
    pairs: str = field(default="sampled", metadata={"pattern": "sampled|all", "expected": "sampled or all"})


@BENCHMARKS.register()
class PPECorrectness(Benchmark):
    Config = PPECorrectnessConfig
    supports_comparisons = True  # on the pairs only (judged_items); Best-of-K and ROC-AUC need scalar scores
    primary = "Accuracy"
    headline_definition = ("PPE Correctness: per source, pairwise accuracy on (correct, incorrect) response pairs (strict >, "
                           "ties wrong); Accuracy / Best-of-K / ROC-AUC = means over the sources of the pairwise accuracy, "
                           "the correctness of the RM's top pick among all K responses (ties averaged) and the pooled ROC-AUC "
                           "of the score as a correctness classifier")

    def __init__(self, config=None, **given):
        super().__init__(config, **given)
        unknown = [s for s in self.config.sources if s not in SOURCES]
        if unknown:
            raise ConfigError(f"benchmark {self.name}: field 'sources': unknown source {unknown[0]!r} (expected some of {', '.join(SOURCES)})")
        extra = sorted(set(self.config.revisions or {}) - set(SOURCES))
        if extra:
            raise ConfigError(f"benchmark {self.name}: field 'revisions': unknown source {extra[0]!r} (expected some of {', '.join(SOURCES)})")

    @property
    def source_names(self) -> list[str]:
        """Display names of the configured sources, in PPE's order."""
        return [SOURCES[k][0] for k in SOURCES if k in self.config.sources]

    @property
    def headline_columns(self) -> tuple[str, ...]:
        return (*self.source_names, "Accuracy", "Best-of-K", "ROC-AUC")

    def _hubs(self) -> list[tuple[str, str, str | None]]:
        revisions = dict(self.config.revisions or {})
        return [(SOURCES[k][1], self.config.split, revisions.get(k)) for k in SOURCES if k in self.config.sources]

    def source(self) -> Source:
        if self.root:
            return super().source()
        return Source(HUB, spec={"datasets": [d for d, _, _ in self._hubs()], "split": self.config.split,
                                 "revisions": {k: v for k, v in (self.config.revisions or {}).items()}})

    def missing_source_hint(self) -> str:
        return (f"point benchmark.root (PPE_CORRECTNESS_ROOT) at a folder with one file or folder per source named like "
                "the hub datasets (e.g. PPE-MATH-Best-of-K/ or math.jsonl), or unset it to read the hub")

    # ----------------------------------------------------------------------------------- reading
    def read(self, root):
        import pandas as pd

        wanted = {SOURCES[k][1]: k for k in self.config.sources}
        sources = []
        for where, path, records in read_sources(root, self._hubs()):
            if path is None:  # the hub: the dataset names the source
                key = wanted[where.split(":", 1)[1].split("[", 1)[0]]
            else:
                rel = Path(where)
                key = source_key(path.name if Path(root).is_file() or len(rel.parts) == 1 else rel.parts[0])
                if key is None:
                    raise DataError(f"{where}: record ?: field '<file>': the file or its top folder must name a PPE source "
                                    f"({', '.join(SOURCES)}, or the hub dataset name, e.g. PPE-MATH-Best-of-K)")
                if key not in self.config.sources:
                    log.info("%s: %s is not among benchmark.sources; skipped", self.name, where)
                    continue
            sources.append((where, key, records))
        items, texts, seen = [], {}, {}
        stats = {k: {"sets": 0, "sets_without_conflict": 0, "pairs": 0, "duplicate_pairs_dropped": 0, "responses": 0,
                     "empty_responses": 0, "identical_pairs": 0} for k in self.config.sources}
        for where, key, records in sources:
            name = SOURCES[key][0]
            for index, raw in enumerate(records):
                self._read_set(Record(where, index, raw, uid_key="question_id", uid_label="question_id"), key, name,
                               items, texts, seen, stats[key])
        if not items:
            raise DataError(f"{root or 'hub'}: no PPE correctness set with both a correct and an incorrect response")
        frame = finalize_items(pd.DataFrame(items))
        present = [k for k in self.config.sources if stats[k]["sets"]]
        report = {"root": str(root or ", ".join(w for w, _, _ in sources)), "files": {w: len(r) for w, _, r in sources},
                  "missing_files": [], "missing_sources": [SOURCES[k][0] for k in self.config.sources if k not in present],
                  "pairs": self.config.pairs, "sources": {SOURCES[k][0]: stats[k] for k in self.config.sources},
                  "identical_pairs": sum(s["identical_pairs"] for s in stats.values())}
        if root is None:
            report["hub"] = [{"dataset": d, "split": s, "revision": r} for d, s, r in self._hubs()]
            unpinned = [d for d, _, r in self._hubs() if r is None]
            if unpinned:
                report["hub_warning"] = f"revision not pinned for {', '.join(unpinned)}: the default branch was read; set revisions.<source> in the YAML"
                log.warning("%s: %s", self.name, report["hub_warning"])
        if report["missing_sources"]:
            log.warning("%s: sources absent from this run: %s", self.name, ", ".join(report["missing_sources"]))
        return frame, finalize_texts(pd.DataFrame(list(texts.values()))), report

    def _read_set(self, rec: Record, key: str, name: str, items: list, texts: dict, seen: dict, stats: dict) -> None:
        """One best-of-K record: its conflict pairs as pairwise items and the whole set as one ``bok`` item."""
        qid = rec.uid_str("question_id")
        model = rec.get("model_name", str, optional=True)
        uid = f"{qid}:{model}" if model else qid
        if (key, uid) in seen:
            rec.fail("question_id", f"duplicate set {uid!r} of {name} (first seen in {seen[(key, uid)]})")
        seen[(key, uid)] = f"{rec.where} record {rec.index}"
        conv = rec.conversation("prompt")
        labels = rec.get("scores", list)
        if len(labels) < 2:
            rec.fail("scores", f"a best-of-K set needs at least 2 responses, got {len(labels)}")
        correct = []
        for k, v in enumerate(labels):
            if isinstance(v, bool) or (isinstance(v, (int, float)) and v in (0, 1)):
                correct.append(bool(v))
            else:
                rec.fail(f"scores[{k}]", f"expected a correctness label (true/false or 0/1), got {v!r}")
        responses = [rec.text(rec.get(f"response_{k + 1}", str), f"response_{k + 1}", allow_empty=True) for k in range(len(labels))]
        if self.config.pairs == "sampled":
            pairs = self._sampled_pairs(rec, correct, stats)
        else:
            pairs = [(i, j) for i in range(len(correct)) if correct[i] for j in range(len(correct)) if not correct[j]]
        stats["sets"] += 1
        if all(correct) or not any(correct):
            stats["sets_without_conflict"] += 1
            return
        stats["responses"] += len(responses)
        stats["empty_responses"] += sum(r == "" for r in responses)
        pid = make_prompt_id(conv)
        ids = [add_text(texts, conv, pid, r, model) for r in responses]
        base = f"ppe-{key}-{uid}"
        for i, j in pairs:
            stats["pairs"] += 1
            stats["identical_pairs"] += ids[i] == ids[j]
            items.append(pair_item(self.name, f"{base}-{i}-{j}", name, name, pid, ids[i], ids[j], (model, model),
                                    rec.where, rec.index, chosen_ids=[ids[i]]))
        good = [t for t, ok in zip(ids, correct) if ok]
        bad = [t for t, ok in zip(ids, correct) if not ok]
        items.append({"item_id": f"{base}-set", "benchmark": self.name, "format": SET_FORMAT, "goal": name, "task": name,
                      "scenario": name, "prompt_id": pid, "chosen_id": good[0], "rejected_ids": bad, "chosen_model": model,
                      "rejected_models": [model] * len(bad), "chosen_score": None, "rejected_scores": [None] * len(bad),
                      "source_file": rec.where, "source_index": rec.index, "chosen_ids": good})

    @staticmethod
    def _sampled_pairs(rec: Record, correct: list[bool], stats: dict) -> list[tuple[int, int]]:
        """The release's conflict pairs as (correct index, incorrect index); a repeated pair is dropped and counted."""
        raw = rec.get("sampled_conflict_pairs", list)
        out, seen = [], set()
        for k, pair in enumerate(raw):
            where = f"sampled_conflict_pairs[{k}]"
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
                rec.fail(where, f"expected a pair of response indices [i, j], got {pair!r}")
            if not all(0 <= v < len(correct) for v in pair):
                rec.fail(where, f"index out of range 0..{len(correct) - 1}: {pair}")
            i, j = pair
            if correct[i] == correct[j]:
                rec.fail(where, f"responses {i} and {j} are both {'correct' if correct[i] else 'incorrect'} (a conflict pair has one of each)")
            pair = (i, j) if correct[i] else (j, i)
            if pair in seen:
                stats["duplicate_pairs_dropped"] += 1
                continue
            seen.add(pair)
            out.append(pair)
        return out

    # ----------------------------------------------------------------------------------- metrics
    def significance_columns(self, items):
        """Pairwise accuracy per source and their mean (the Accuracy column), from per-pair outcomes; best-of-K and
        ROC-AUC have no per-item outcome and take no part in the paired tests."""
        from rmeval.metrics.paired import Column

        present = [s for s in self.source_names if ((items["goal"] == s) & (items["format"] == "pairwise")).any()]
        if not present:
            return []
        cols = [Column(s, ((_pairs_of(s), 1.0),), f"{s} pairwise accuracy") for s in present]
        return [*cols, Column("Accuracy", tuple((_pairs_of(s), 1.0) for s in present), "mean of the sources' pairwise accuracies")]

    def judged_items(self, items):
        """A pairwise judge is asked about the (correct, incorrect) pairs only: best-of-K and ROC-AUC need a scalar
        score per response, so they stay undefined for a judge (its leaderboard row says so)."""
        return items[items["format"] == "pairwise"]

    def _accuracy(self, items, outcomes, m) -> dict:
        """Pairwise accuracy per source and their mean (the Accuracy column) with cluster-bootstrap CIs."""
        from rmeval.metrics import interval, with_prompt_ids
        from rmeval.metrics.paired import resample_weights

        pairs = items[items["format"] == "pairwise"].reset_index(drop=True)
        outcomes = with_prompt_ids(pairs, outcomes.set_index("item_id").loc[pairs["item_id"]].reset_index())
        codes, weights = resample_weights(outcomes, m["n_boot"], m["seed"], m["bootstrap"], f"{self.name} pairs")
        accuracy = {}
        for col in self.significance_columns(items):
            mask = np.any([mk for mk, _ in col.masks(outcomes)], axis=0)
            lo, hi = interval(col.replicates(outcomes, codes, weights), m["ci_level"])
            part = outcomes[mask]
            accuracy[col.name] = {"accuracy": col.value(outcomes), "ci_low": lo, "ci_high": hi, "n_items": int(mask.sum()),
                                  "n_correct": int(part["correct"].sum()), "n_ties": int(part["tie"].sum()),
                                  "n_invalid": int(part["invalid"].sum())}
        return accuracy

    def score_metrics(self, items, scores, m):
        from rmeval.metrics import item_outcomes

        lookup = dict(zip(scores["text_id"], scores["score"].astype(float)))
        pairs = items[items["format"] == "pairwise"].reset_index(drop=True)
        accuracy = self._accuracy(items, item_outcomes(pairs, lookup), m)
        sets = self._set_metrics(items[items["format"] == SET_FORMAT].reset_index(drop=True), lookup, m)
        return {"n_items": int(len(pairs)), "n_sets": sets.pop("n_sets"), "ppe": {"accuracy": accuracy, **sets},
                "ci": ci_block(m, "prompts (strata: source); best-of-K and ROC-AUC recomputed under the same prompt weights")}

    def outcome_metrics(self, items, outcomes, m):
        """A pairwise judge: pairwise accuracy per source from its verdicts; no best-of-K or ROC-AUC (no scores)."""
        none = {"value": None, "ci_low": None, "ci_high": None}
        n_pairs = int((items["format"] == "pairwise").sum())
        return {"n_items": n_pairs, "n_sets": 0,
                "ppe": {"accuracy": self._accuracy(items, outcomes, m), "best_of_k": {}, "roc_auc": {}, "all_pairs": {},
                        "overall": {"Best-of-K": {**none, "chance": None}, "ROC-AUC": dict(none)}, "judge_only_pairs": True},
                "ci": ci_block(m, "prompts (strata: source)")}

    def _set_metrics(self, sets: pd.DataFrame, lookup: dict, m: dict) -> dict:
        """Best-of-K curves, pooled ROC-AUC and all-pairs accuracy per source, with cluster-bootstrap CIs."""
        from rmeval.metrics import ScoreMissingError, interval
        from rmeval.metrics.correctness import best_of_k_curve, comb_table, or_nan, pair_counts, ratio, roc_auc
        from rmeval.metrics.paired import resample_weights

        members = [list(c) + list(r) for c, r in zip(sets["chosen_ids"], sets["rejected_ids"])]
        labels = [[True] * len(c) + [False] * len(r) for c, r in zip(sets["chosen_ids"], sets["rejected_ids"])]
        try:
            set_scores = [np.array([lookup[t] for t in ids], dtype=np.float64) for ids in members]
        except KeyError as err:
            raise ScoreMissingError(f"benchmark {self.name}: field 'text_id': no score for {err.args[0]}") from None
        k_max = max(len(ids) for ids in members)
        table = comb_table(k_max)
        curves = np.empty((len(sets), k_max))
        all_pairs = np.zeros((len(sets), 3))  # right, ties, pairs
        for row, (s, y) in enumerate(zip(set_scores, labels)):
            curve = best_of_k_curve(s, y, table)
            curves[row, : len(curve)] = curve
            curves[row, len(curve):] = curve[-1]
            all_pairs[row] = pair_counts(s, np.asarray(y))
        end = np.array([curves[r, len(ids) - 1] for r, ids in enumerate(members)])
        codes, weights = resample_weights(sets, m["n_boot"], m["seed"], m["bootstrap"], f"{self.name} sets")
        n_boot = weights.shape[0]
        out = {"best_of_k": {}, "roc_auc": {}, "all_pairs": {}}
        reps = {"Best-of-K": [], "ROC-AUC": []}
        means = {"Best-of-K": [], "ROC-AUC": [], "chance": []}
        for source in self.source_names:
            mask = (sets["goal"] == source).to_numpy()
            if not mask.any():
                continue
            sw = weights[:, codes[mask]]  # (n_boot, sets of the source): each set's weight in each replicate
            n_sets = int(mask.sum())
            curve = curves[mask].mean(axis=0)
            curve_reps = ratio(sw @ curves[mask], sw.sum(axis=1, keepdims=True))
            end_reps = ratio(sw @ end[mask], sw.sum(axis=1))
            lo, hi = interval(end_reps, m["ci_level"])
            out["best_of_k"][source] = {
                "n_sets": n_sets, "value": float(end[mask].mean()), "ci_low": lo, "ci_high": hi,
                "k_max": int(max(len(members[r]) for r in np.flatnonzero(mask))),
                "curve": [{"k": k + 1, "value": float(curve[k]),
                           **dict(zip(("ci_low", "ci_high"), interval(curve_reps[:, k], m["ci_level"])))} for k in range(k_max)],
            }
            s_all = np.concatenate([set_scores[r] for r in np.flatnonzero(mask)])
            y_all = np.concatenate([labels[r] for r in np.flatnonzero(mask)])
            set_of = np.concatenate([[i] * len(members[r]) for i, r in enumerate(np.flatnonzero(mask))])
            auc = roc_auc(s_all, y_all)
            auc_reps = np.array([or_nan(roc_auc(s_all, y_all, sw[b, set_of])) for b in range(n_boot)])
            lo, hi = interval(auc_reps, m["ci_level"])
            out["roc_auc"][source] = {"value": auc, "ci_low": lo, "ci_high": hi, "n_responses": int(len(s_all)),
                                      "n_correct": int(y_all.sum()), "n_nan_scores": int(np.isnan(s_all).sum())}
            right, ties, total = all_pairs[mask].sum(axis=0)
            ap_reps = ratio(sw @ all_pairs[mask, 0], sw @ all_pairs[mask, 2])
            lo, hi = interval(ap_reps, m["ci_level"])
            out["all_pairs"][source] = {"accuracy": float(right / total), "ci_low": lo, "ci_high": hi, "n_pairs": int(total),
                                        "n_ties": int(ties)}
            reps["Best-of-K"].append(end_reps)
            reps["ROC-AUC"].append(auc_reps)
            means["Best-of-K"].append(out["best_of_k"][source]["value"])
            means["ROC-AUC"].append(auc)
            means["chance"].append(float(curve[0]))
        out["overall"] = {}
        for col in ("Best-of-K", "ROC-AUC"):
            present = [v for v in means[col] if v is not None]
            lo, hi = interval(np.mean(reps[col], axis=0), m["ci_level"]) if reps[col] else (None, None)
            out["overall"][col] = {"value": float(np.mean(present)) if present else None, "ci_low": lo, "ci_high": hi,
                                   "n_sources": len(present)}
        out["overall"]["Best-of-K"]["chance"] = float(np.mean(means["chance"])) if means["chance"] else None
        out["n_sets"] = int(len(sets))
        return out

    def headline(self, metrics):
        ppe = metrics["ppe"]
        out = {}
        for col in (*self.source_names, "Accuracy"):
            cell = ppe["accuracy"].get(col) or {}
            out[col] = headline_cell(cell.get("accuracy"), cell.get("ci_low"), cell.get("ci_high"), cell.get("n_items", 0), 0.5)
        n_sets = sum(v["n_sets"] for v in ppe["best_of_k"].values())
        bok = ppe["overall"]["Best-of-K"]
        out["Best-of-K"] = headline_cell(bok["value"], bok["ci_low"], bok["ci_high"], n_sets, bok.get("chance"))
        auc = ppe["overall"]["ROC-AUC"]
        out["ROC-AUC"] = headline_cell(auc["value"], auc["ci_low"], auc["ci_high"],
                                       sum(v["n_responses"] for v in ppe["roc_auc"].values()), 0.5)
        return out

    def notes(self, metrics):
        notes = super().notes(metrics)
        if not metrics:
            return notes
        report = metrics[0].get("data") or {}
        ppe = metrics[0]["ppe"]
        notes.insert(0, "Per-source columns and Accuracy: pairwise accuracy on (correct, incorrect) pairs; Best-of-K: the "
                        "correctness of the RM's top pick among all K responses of a set (ties at the top averaged; K = 1 "
                        "is the chance column); ROC-AUC: pooled over a source's responses. Items per column: pairs, "
                        "sets (Best-of-K) and responses (ROC-AUC). Paired tests and ranks use the accuracy columns.")
        missing = [s for s in self.source_names if s not in ppe["accuracy"]]
        if missing:
            notes.append(f"Absent from this run (left out of the means): {', '.join(missing)}.")
        if any(m["ppe"].get("judge_only_pairs") for m in metrics):
            notes.append("Pairwise judges are asked about the (correct, incorrect) pairs only: their Best-of-K and ROC-AUC "
                         "need a scalar score per response and are left empty.")
        nan = sum(v["n_nan_scores"] for m in metrics for v in m["ppe"]["roc_auc"].values())
        if nan:
            notes.append(f"{nan:,} NaN scores over all RMs ranked below every other response (PPE scores an error as -inf).")
        if report.get("missing_files"):
            notes.append(f"Missing files: {', '.join(report['missing_files'])}.")
        return notes


def _pairs_of(source: str):
    return lambda o: (o["goal"].to_numpy() == source) & (o["format"].to_numpy() == "pairwise")

