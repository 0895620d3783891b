"""Your own preference data as a benchmark: JSONL or parquet records, pairwise or best-of-N.

One record per line (``.jsonl``) or per row (``.parquet``); a ``.json`` file may hold a list of them:

- ``prompt``: a string (one user turn) or a conversation ``[{role, content}, ...]`` ending with the user's turn;
- ``chosen``: the preferred response (a string);
- ``rejected``: a string (a pairwise item) or a list of strings (a best-of-N group: the chosen must beat all;
  a list of one is a pairwise item, as parquet files often store it);
- optional ``id`` (unique; default: the record's line number), ``group`` (a string: the per-group tables of the
  metrics, e.g. a domain), ``goal`` and ``task`` (coarser groupings; default ``all`` / the group),
  ``chosen_model`` and ``rejected_model`` / ``rejected_models``;
- optional judge scores ``chosen_score`` and ``rejected_score`` / ``rejected_scores`` (finite numbers; with
  ``judge_scores: true`` in the YAML every record must carry them, which enables the downstream best-of-N stage).

Headline: accuracy on pairwise items, on best-of-N groups and on all items (ties count as wrong), with CIs.
"""

from __future__ import annotations

from dataclasses import dataclass

from rmeval.benchmarks.base import BENCHMARKS, BenchmarkConfig, LOCAL, Benchmark, Source, headline_cell
from rmeval.data.records import Record, read_records, record_files
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id
from rmeval.ids import text_id as make_text_id

ALL = "all"


@dataclass
class CustomBenchmarkConfig(BenchmarkConfig):
    path: str | None = None  # .jsonl / .json / .parquet file, or a folder of them (rmeval.benchmarks.custom)
    score_range: list[float] | None = None  # judge scores must lie in [low, high]; null: any finite number


@BENCHMARKS.register()
class CustomBenchmark(Benchmark):
    Config = CustomBenchmarkConfig
    headline_columns = ("Pairwise", "BoN", "Accuracy")
    primary = "Accuracy"
    headline_definition = ("accuracy (fraction of items an RM gets right; a tie counts as wrong); pairwise: "
                           "r(chosen) > r(rejected), BoN: r(chosen) > r(every rejected); Accuracy: all items")

    @property
    def root(self) -> str | None:
        """``path`` (or ``root``): the user's file or folder."""
        return self.config.path or self.config.root

    def source(self) -> Source:
        """The user's file or folder; ``package:<module>/<file>`` (a file shipped inside an installed package)
        resolves to its path."""
        root = self.root
        if root and str(root).startswith("package:"):
            from importlib import resources

            module, _, rel = str(root)[len("package:"):].partition("/")
            return Source(LOCAL, str(resources.files(module).joinpath(rel)))
        return super().source()

    def missing_source_hint(self) -> str:
        return f"set benchmark.path (or benchmark.root) of {self.name} to your .jsonl/.parquet file or a folder of them"

    def read(self, root):
        import pandas as pd

        if root is None:
            raise DataError(f"benchmark {self.name}: field 'path': not set; {self.missing_source_hint()}")
        items, texts = [], {}
        seen: dict[str, str] = {}
        n_scored = 0
        lo, hi = self.config.score_range or (float("-inf"), float("inf"))
        files = record_files(root, "benchmark.path")
        for where, path in files:
            for index, raw in enumerate(read_records(path, where)):
                rec = Record(where, index, raw, line=index + 1 if path.suffix.lower() == ".jsonl" else None)
                uid = rec.claim_uid(seen) if rec.record.get("id") is not None else f"{where}:{index + 1}"
                conv = rec.conversation("prompt")
                chosen = rec.text(rec.get("chosen", str), "chosen")
                rejected_raw = rec.get("rejected", (str, list))
                if isinstance(rejected_raw, str):
                    rejected = [rec.text(rejected_raw, "rejected")]
                else:
                    rejected = [rec.text(r, f"rejected[{k}]") for k, r in enumerate(rejected_raw)]
                if not rejected:
                    rec.fail("rejected", "empty list (a best-of-N group needs at least one rejected response)")
                fmt = "pairwise" if len(rejected) == 1 else "bon"  # a one-loser group is a pair
                group = rec.get("group", str, optional=True) or ALL
                goal = rec.get("goal", str, optional=True) or ALL
                task = rec.get("task", str, optional=True) or group
                chosen_model = rec.get("chosen_model", str, optional=True)
                rej_models = rec.get("rejected_models", list, optional=True)
                if rej_models is None:
                    one = rec.get("rejected_model", str, optional=True)
                    rej_models = [one] * len(rejected)
                if len(rej_models) != len(rejected):
                    rec.fail("rejected_models", f"{len(rej_models)} names for {len(rejected)} rejected responses")
                c_score = rec.score(rec.record.get("chosen_score"), "chosen_score", lo, hi)
                r_raw = rec.record.get("rejected_scores", rec.record.get("rejected_score"))
                key = "rejected_scores" if "rejected_scores" in rec.record else "rejected_score"
                if r_raw is None:
                    r_scores = [None] * len(rejected)
                else:
                    r_list = r_raw if isinstance(r_raw, list) else [r_raw]
                    if len(r_list) != len(rejected):
                        rec.fail(key, f"{len(r_list)} scores for {len(rejected)} rejected responses")
                    r_scores = [rec.score(v, f"{key}[{k}]" if isinstance(r_raw, list) else key, lo, hi) for k, v in enumerate(r_list)]
                scored = c_score is not None and all(s is not None for s in r_scores)
                if self.has_judge_scores and not scored:
                    rec.fail("chosen_score" if c_score is None else key, "missing: benchmark.judge_scores=true needs a judge score for every response")
                n_scored += scored
                pid = make_prompt_id(conv)
                ids = []
                for resp, model, score in [(chosen, chosen_model, c_score), *zip(rejected, rej_models, r_scores)]:
                    tid = make_text_id(conv, resp)
                    ids.append(tid)
                    if tid not in texts:
                        texts[tid] = {"text_id": tid, "prompt_id": pid, "conversation": conv, "response": resp,
                                      "source_model": model, "judge_score": score}
                items.append({
                    "item_id": f"{self.name}-{uid}", "benchmark": self.name, "format": fmt, "goal": goal, "task": task,
                    "scenario": group, "prompt_id": pid, "chosen_id": ids[0], "rejected_ids": ids[1:],
                    "chosen_model": chosen_model, "rejected_models": list(rej_models), "chosen_score": c_score,
                    "rejected_scores": r_scores, "source_file": where, "source_index": index,
                })
        report = {"root": str(root), "files": {w: sum(1 for it in items if it["source_file"] == w) for w, _ in files},
                  "missing_files": [], "has_judge_scores": bool(items) and n_scored == len(items),
                  "identical_pairs": _identical(items, "pairwise"), "identical_bon_groups": _identical(items, "bon")}
        return finalize_items(pd.DataFrame(items)), finalize_texts(pd.DataFrame(list(texts.values()))), report

    def outcome_metrics(self, items, outcomes, m):
        from rmeval.metrics import chance_accuracy, ci_description, group_table, summarize, with_prompt_ids

        outcomes = with_prompt_ids(items, outcomes)
        b = m["bootstrap"]
        result = {"n_items": int(len(items)), "formats": {}}
        for fmt in ("pairwise", "bon", "all"):
            part = outcomes if fmt == "all" else outcomes[outcomes["format"] == fmt]
            summary, _ = summarize(part, m["n_boot"], m["ci_level"], m["seed"], b)
            result["formats"][fmt] = {**summary, "chance": chance_accuracy(part)}
        result["by_group"] = group_table(outcomes, ["format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], b)
        result["by_scenario"] = group_table(outcomes, ["goal", "format", "scenario"], m["n_boot"], m["ci_level"], m["seed"], b)
        result["ci"] = ci_description(outcomes, b, m["ci_level"], m["n_boot"], m["seed"])
        return result

    def significance_columns(self, items):
        from rmeval.metrics.paired import Column, all_items, format_is

        cols = [Column(col, ((format_is(fmt), 1.0),), f"{fmt} accuracy") for col, fmt in (("Pairwise", "pairwise"), ("BoN", "bon"))
                if (items["format"] == fmt).any()]
        return [*cols, Column("Accuracy", ((all_items(), 1.0),), "accuracy over all items")]

    def headline(self, metrics):
        out = {}
        for col, fmt in zip(self.headline_columns, ("pairwise", "bon", "all")):
            node = metrics["formats"][fmt]
            out[col] = headline_cell(node["accuracy"], node["ci_low"], node["ci_high"], node["n_items"], node["chance"])
        return out


def _identical(items: list[dict], fmt: str) -> int:
    """Items of ``fmt`` whose chosen text is also one of its rejected ones (no scorer can get them right)."""
    return sum(1 for it in items if it["format"] == fmt and it["chosen_id"] in it["rejected_ids"])
