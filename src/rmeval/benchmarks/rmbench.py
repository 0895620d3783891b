"""RM-Bench (Liu et al., ICLR 2025; THU-KEG/RM-Bench): subtlety and style.

Each prompt has three chosen and three rejected responses in three styles, in this order: concise, detailed
plain text, detailed markdown. Every (chosen style i, rejected style j) pair is one pairwise item, so a prompt
gives 9 items. Per domain the 3×3 accuracy matrix A[i][j] = P(r(chosen_i) > r(rejected_j)) gives

- hard = mean of the upper triangle (i < j: the chosen is plainer than the rejected),
- normal = mean of the diagonal (same style),
- easy = mean of the lower triangle (i > j),

and the domain's score is the mean of all nine cells. Domains: chat, code, math and safety (the release's
``safety-refuse`` and ``safety-response`` both count as Safety). The headline is the mean of Chat, Code, Math
and Safety ("Average"); Hard / Normal / Easy are averaged over the four domains the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from typing import TYPE_CHECKING

import numpy as np

from rmeval.benchmarks.base import BENCHMARKS, HubBenchmark, headline_cell
from rmeval.data.records import Record, read_records, record_files
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id
from rmeval.ids import stable_hash
from rmeval.ids import text_id as make_text_id

if TYPE_CHECKING:
    import pandas as pd

STYLES = ("concise", "detailed", "markdown")
DOMAINS = ("Chat", "Code", "Math", "Safety")
DOMAIN_OF = {"chat": "Chat", "code": "Code", "math": "Math", "safety": "Safety", "safety-refuse": "Safety", "safety-response": "Safety"}
LEVELS = {"Hard": lambda i, j: i < j, "Normal": lambda i, j: i == j, "Easy": lambda i, j: i > j}


def style_matrix(correct: pd.DataFrame) -> np.ndarray:
    """3×3 accuracy matrix from per-item rows with ``chosen_style``, ``rejected_style`` (0–2) and ``correct``."""
    mat = np.full((3, 3), np.nan)
    for (i, j), g in correct.groupby(["chosen_style", "rejected_style"]):
        mat[int(i), int(j)] = float(g["correct"].mean())
    return mat


def level_accuracies(mat: np.ndarray) -> dict[str, float]:
    """hard / normal / easy / total of one 3×3 matrix (RM-Bench's definitions)."""
    cells = {name: [mat[i, j] for i in range(3) for j in range(3) if rule(i, j)] for name, rule in LEVELS.items()}
    out = {name: float(np.mean(v)) for name, v in cells.items()}
    out["Total"] = float(np.mean(mat))
    return out


@BENCHMARKS.register()
class RMBenchBenchmark(HubBenchmark):
    headline_columns = ("Chat", "Code", "Math", "Safety", "Hard", "Normal", "Easy", "Average")
    primary = "Average"
    headline_definition = ("RM-Bench: per domain the mean of the 3×3 style matrix of P(r(chosen_i) > r(rejected_j)); "
                           "Hard / Normal / Easy = its upper triangle / diagonal / lower triangle; every column is "
                           "the mean over Chat, Code, Math, Safety; Average = mean of the four domains")
    supports_comparisons = True
    hub = ("THU-KEG/RM-Bench", "train")

    def missing_source_hint(self) -> str:
        return f"point benchmark.root at a local copy of RM-Bench (total_dataset.json), or unset it to read {self.dataset} from the hub"

    def read(self, root):
        import pandas as pd

        from rmeval.data.rewardbench import load_hub

        if root is None:
            name = f"hub:{self.dataset}[{self.split}]"
            sources = [(name, load_hub(self.dataset, self.split, self.config.revision))]
        else:
            sources = [(where, read_records(path, where)) for where, path in record_files(root)]
        items, texts, seen, counts = [], {}, {}, {}
        for where, records in sources:
            for index, raw in enumerate(records):
                rec = Record(where, index, raw)
                uid = rec.claim_uid(seen)
                raw_domain, domain = rec.named("domain", DOMAIN_OF, sorted(DOMAIN_OF))
                conv = rec.conversation("prompt")
                responses = {}
                for key in ("chosen", "rejected"):
                    values = rec.get(key, list)
                    if len(values) != 3:
                        rec.fail(key, f"expected 3 responses (concise, detailed, markdown), got {len(values)}")
                    responses[key] = [rec.text(v, f"{key}[{k}]") for k, v in enumerate(values)]
                pid = make_prompt_id(conv)
                ids = {}
                for key in ("chosen", "rejected"):
                    ids[key] = []
                    for resp in responses[key]:
                        tid = make_text_id(conv, resp)
                        ids[key].append(tid)
                        texts.setdefault(tid, {"text_id": tid, "prompt_id": pid, "conversation": conv, "response": resp,
                                               "source_model": None, "judge_score": None})
                counts[raw_domain] = counts.get(raw_domain, 0) + 1
                for i in range(3):
                    for j in range(3):
                        items.append({
                            "item_id": f"rmbench-{uid}-c{i}r{j}", "benchmark": self.name, "format": "pairwise",
                            "goal": domain, "task": domain, "scenario": raw_domain, "prompt_id": pid,
                            "chosen_id": ids["chosen"][i], "rejected_ids": [ids["rejected"][j]],
                            "chosen_model": None, "rejected_models": [None], "chosen_score": None,
                            "rejected_scores": [None], "source_file": where, "source_index": index,
                            "chosen_style": i, "rejected_style": j,
                        })
        if not items:
            raise DataError(f"{root or self.dataset}: no RM-Bench records")
        frame = finalize_items(pd.DataFrame(items))
        report = {"root": str(root or sources[0][0]), "prompts_per_domain": counts, "n_prompts": len(seen),
                  "missing_domains": [d for d in DOMAINS if d not in set(frame["goal"])], "missing_files": []}
        return frame, finalize_texts(pd.DataFrame(list(texts.values()))), report

    def outcome_metrics(self, items, outcomes, m):
        outcomes = outcomes.copy()
        style = items.set_index("item_id")[["chosen_style", "rejected_style"]]
        outcomes["chosen_style"] = style.loc[outcomes["item_id"], "chosen_style"].to_numpy()
        outcomes["rejected_style"] = style.loc[outcomes["item_id"], "rejected_style"].to_numpy()
        outcomes["prompt_id"] = items.set_index("item_id").loc[outcomes["item_id"], "prompt_id"].to_numpy()
        domains = {}
        for domain in DOMAINS:
            part = outcomes[outcomes["goal"] == domain]
            if len(part):
                mat = style_matrix(part)
                domains[domain] = {"matrix": mat.tolist(), **level_accuracies(mat), "n_prompts": int(part["prompt_id"].nunique()),
                                   "n_items": int(len(part)), "n_ties": int(part["tie"].sum())}
        values = self._aggregate(domains)
        reps = self._bootstrap(outcomes, m)
        alpha = (1.0 - m["ci_level"]) / 2.0
        ci = {k: [float(np.nanquantile(v, alpha)), float(np.nanquantile(v, 1 - alpha))] if np.isfinite(v).any() else [None, None]
              for k, v in reps.items()}
        return {"n_items": int(len(items)), "domains": domains, "aggregate": values, "ci": ci,
                "ci_method": {"method": "percentile bootstrap over prompts within each domain", "level": m["ci_level"],
                              "n_boot": m["n_boot"], "seed": m["seed"]}}

    @staticmethod
    def _aggregate(domains: Mapping[str, dict]) -> dict[str, float | None]:
        out = {d: (domains[d]["Total"] if d in domains else None) for d in DOMAINS}
        present = [d for d in DOMAINS if d in domains]
        for level in ("Hard", "Normal", "Easy"):
            out[level] = float(np.mean([domains[d][level] for d in present])) if len(present) == len(DOMAINS) else None
        out["Average"] = float(np.mean([domains[d]["Total"] for d in present])) if len(present) == len(DOMAINS) else None
        return out

    def _bootstrap(self, outcomes: pd.DataFrame, m: dict) -> dict[str, np.ndarray]:
        """Resample prompts (all 9 items of a prompt together) within each domain; recompute every column."""
        import pandas as pd

        cells = {}
        for domain in DOMAINS:
            part = outcomes[outcomes["goal"] == domain]
            if not len(part):
                continue
            per_prompt = part.pivot_table(index="prompt_id", columns=["chosen_style", "rejected_style"], values="correct", aggfunc="mean")
            per_prompt = per_prompt.reindex(columns=pd.MultiIndex.from_product([range(3), range(3)]))
            arr = per_prompt.to_numpy(dtype=float).reshape(-1, 3, 3)
            rng = np.random.default_rng([m["seed"], int(stable_hash(["rmbench-ci", domain]), 16) % 2**32])
            idx = rng.integers(0, len(arr), size=(m["n_boot"], len(arr)))
            cells[domain] = np.nanmean(arr[idx], axis=1)  # (n_boot, 3, 3)
        reps = {}
        for domain, mats in cells.items():
            reps[domain] = mats.reshape(len(mats), -1).mean(axis=1)
        if len(cells) == len(DOMAINS):
            for level, rule in LEVELS.items():
                mask = np.array([[rule(i, j) for j in range(3)] for i in range(3)])
                reps[level] = np.mean([mats[:, mask].mean(axis=1) for mats in cells.values()], axis=0)
            reps["Average"] = np.mean([reps[d] for d in DOMAINS], axis=0)
        return reps

    def significance_columns(self, items):
        """Each domain's mean over its 9 cells, Hard/Normal/Easy (the triangles, averaged over the domains) and the
        Average, as weighted means of per-item accuracies (every prompt has all 9 items)."""
        from rmeval.metrics.paired import Column

        style = dict(zip(items["item_id"], zip(items["chosen_style"], items["rejected_style"])))

        def domain_level(domain, rule):
            def select(o):
                cells = [style[i] for i in o["item_id"]]
                return (o["goal"].to_numpy() == domain) & np.array([rule(i, j) for i, j in cells], dtype=bool)
            return select

        def everything(i, j):
            return True

        cols = [Column(d, ((domain_level(d, everything), 1.0),), f"{d}: mean of the 3x3 style matrix") for d in DOMAINS]
        cols += [Column(level, tuple((domain_level(d, rule), 1.0) for d in DOMAINS), f"{level}: mean over the domains")
                 for level, rule in LEVELS.items()]
        cols.append(Column("Average", tuple((domain_level(d, everything), 1.0) for d in DOMAINS), "mean of the four domains"))
        return cols

    def headline(self, metrics):
        out = {}
        for col in self.headline_columns:
            lo, hi = (metrics["ci"].get(col) or [None, None])
            n = metrics["domains"][col]["n_items"] if col in metrics["domains"] else (metrics["n_items"] if col not in DOMAINS else 0)
            out[col] = headline_cell(metrics["aggregate"].get(col), lo, hi, n, 0.5)
        return out
