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

Sources, in two layouts: the repository's ``data/`` folder (``chat``, ``code``, ``math``, ``safety-refuse``,
``safety-response`` ``_filtered.json``: the domain is the file name, records carry ``subset`` instead of
``domain``), or records with a ``domain`` field (its ``total_dataset.json``, a local copy in the hub's schema, or
the hub itself). Ids repeat across the domain files (chat and code share some), so an item's id carries its domain.
A domain file absent from the folder is named in the data report (``missing_files``), in every metrics file and
under the leaderboard. With a domain absent, its column is empty and Hard / Normal / Easy / Average are the means
over the domains present (like RewardBench's absent subsets, left out of numerator and denominator); the metrics
say which (``average_over``) and the leaderboard's ``complete`` column is false, so such an Average is never
mistaken for RM-Bench's four-domain number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rmeval.benchmarks.base import BENCHMARKS, HubBenchmark, headline_cell, headline_frame, judge_notes
from rmeval.data.records import Record, read_records, record_files
from rmeval.data.schema import DataError, finalize_items, finalize_texts
from rmeval.ids import prompt_id as make_prompt_id
from rmeval.ids import stable_hash
from rmeval.ids import text_id as make_text_id

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

STYLES = ("concise", "detailed", "markdown")
DOMAINS = ("Chat", "Code", "Math", "Safety")
DOMAIN_OF = {"chat": "Chat", "code": "Code", "math": "Math", "safety": "Safety", "safety-refuse": "Safety", "safety-response": "Safety"}
LEVELS = {"Hard": lambda i, j: i < j, "Normal": lambda i, j: i == j, "Easy": lambda i, j: i > j}
#: the release's domain files (THU-KEG/RM-Bench data/, commit 73c52d7)
RELEASE_FILES = ("chat_filtered.json", "code_filtered.json", "math_filtered.json", "safety-refuse_filtered.json",
                 "safety-response_filtered.json")
RELEASE_NAME = re.compile(r"(?P<domain>.+)_filtered\.jsonl?", re.IGNORECASE)
RELEASE_DOMAINS = tuple(RELEASE_NAME.fullmatch(name).group("domain") for name in RELEASE_FILES)


def release_files(root: str) -> tuple[list[tuple[str, Path, str | None]], dict]:
    """[(name shown in errors, path, the domain its file name gives or None)] of ``root`` and what the layout says:
    a folder holding ``<domain>_filtered.json`` files is the release layout (only those are read; the others, e.g.
    total_dataset.json, are listed as ignored) and the release files it lacks are ``missing_files``; any other file
    or folder holds records with a ``domain`` field."""
    files = record_files(root)
    named = [(where, path, RELEASE_NAME.fullmatch(path.name)) for where, path in files]
    release = [(where, path, m.group("domain").strip().lower()) for where, path, m in named if m]
    for where, _, domain in release:
        if domain not in RELEASE_DOMAINS:
            raise DataError(f"{where}: record ?: field '<file name>': unknown RM-Bench domain file (expected one of "
                            f"{', '.join(RELEASE_FILES)})")
    layout = {"layout": "records with a domain field", "missing_files": [], "ignored_files": []}
    if Path(root).is_file():  # one file: a release file gives its domain, any other file's records carry theirs
        return [(where, path, release[0][2] if release else None) for where, path in files], layout
    if not release:
        return [(where, path, None) for where, path in files], layout
    present = {domain for _, _, domain in release}
    layout["layout"] = "release folder (<domain>_filtered.json; the domain is the file name)"
    layout["ignored_files"] = sorted(where for where, _, m in named if not m)
    for name, domain in zip(RELEASE_FILES, RELEASE_DOMAINS):
        if domain not in present:
            layout["missing_files"].append({"file": name, "domain": DOMAIN_OF[domain], "scenario": domain})
    if layout["ignored_files"]:
        log.info("%s: release layout: read the *_filtered.json files, ignored %s", root, ", ".join(layout["ignored_files"]))
    if layout["missing_files"]:
        log.warning("%s: RM-Bench release incomplete: %s absent", root, ", ".join(m["file"] for m in layout["missing_files"]))
    return release, layout


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
                           "the mean over Chat, Code, Math, Safety; Average = mean of the four domains (of those "
                           "present where one is missing: see below)")
    supports_comparisons = True
    display_scale = 100.0
    hub = ("THU-KEG/RM-Bench", "train")

    def missing_source_hint(self) -> str:
        return (f"point benchmark.root (RMBENCH_ROOT) at RM-Bench's data/ folder or its total_dataset.json, or unset it to read "
                f"{self.dataset} from the hub")

    def read(self, root):
        import pandas as pd

        from rmeval.data.rewardbench import load_hub

        if root is None:
            name = f"hub:{self.dataset}[{self.split}]"
            sources = [(name, load_hub(self.dataset, self.split, self.config.revision), None)]
            layout = {"layout": "hub", "missing_files": [], "ignored_files": []}
        else:
            files, layout = release_files(root)
            sources = [(where, read_records(path, where), domain) for where, path, domain in files]
        items, texts, seen, counts = [], {}, {}, {}
        for where, records, file_domain in sources:
            for index, raw in enumerate(records):
                rec = Record(where, index, raw)
                if file_domain is None:
                    raw_domain, domain = rec.named("domain", DOMAIN_OF, sorted(DOMAIN_OF))
                else:
                    raw_domain, domain = file_domain, DOMAIN_OF[file_domain]
                    given = rec.get("domain", str, optional=True)
                    if given is not None and given.strip().lower() != file_domain:
                        rec.fail("domain", f"{given!r} disagrees with its file, which holds {file_domain!r} records")
                raw_domain = raw_domain.strip().lower()
                uid = rec.uid_str()
                if (raw_domain, uid) in seen:  # ids repeat across domains in the release, never within one
                    rec.fail("id", f"duplicate id {uid!r} in domain {raw_domain} (first seen in {seen[raw_domain, uid]})")
                seen[raw_domain, uid] = f"{where} record {index}"
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
                            "item_id": f"rmbench-{raw_domain}-{uid}-c{i}r{j}", "benchmark": self.name, "format": "pairwise",
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
                  "items_per_prompt": 9, "missing_domains": [d for d in DOMAINS if d not in set(frame["goal"])], **layout}
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
        present = [d for d in DOMAINS if d in domains]
        return {"n_items": int(len(items)), "domains": domains, "aggregate": values, "ci": ci,
                "average_over": present, "domains_missing": [d for d in DOMAINS if d not in domains],
                "ci_method": {"method": "percentile bootstrap over prompts within each domain", "level": m["ci_level"],
                              "n_boot": m["n_boot"], "seed": m["seed"]}}

    @staticmethod
    def _aggregate(domains: Mapping[str, dict]) -> dict[str, float | None]:
        """Each domain's Total; Hard / Normal / Easy / Average as means over the domains present (None: none is)."""
        out = {d: (domains[d]["Total"] if d in domains else None) for d in DOMAINS}
        present = [d for d in DOMAINS if d in domains]
        for level in ("Hard", "Normal", "Easy"):
            out[level] = float(np.mean([domains[d][level] for d in present])) if present else None
        out["Average"] = float(np.mean([domains[d]["Total"] for d in present])) if present else None
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
        if cells:  # the domains present, as in ``_aggregate``
            for level, rule in LEVELS.items():
                mask = np.array([[rule(i, j) for j in range(3)] for i in range(3)])
                reps[level] = np.mean([mats[:, mask].mean(axis=1) for mats in cells.values()], axis=0)
            reps["Average"] = np.mean([reps[d] for d in cells], axis=0)
        return reps

    def significance_columns(self, items):
        """Each domain's mean over its 9 cells, Hard/Normal/Easy (the triangles, averaged over the domains) and the
        Average, as weighted means of per-item accuracies (every prompt has all 9 items); a domain absent from the
        items has no column and is left out of the means, as in the headline."""
        from rmeval.metrics.paired import Column

        style = dict(zip(items["item_id"], zip(items["chosen_style"], items["rejected_style"])))
        present = [d for d in DOMAINS if (items["goal"] == d).any()]

        def domain_level(domain, rule):
            def select(o):
                cells = [style[i] for i in o["item_id"]]
                return (o["goal"].to_numpy() == domain) & np.array([rule(i, j) for i, j in cells], dtype=bool)
            return select

        def everything(i, j):
            return True

        cols = [Column(d, ((domain_level(d, everything), 1.0),), f"{d}: mean of the 3x3 style matrix") for d in present]
        cols += [Column(level, tuple((domain_level(d, rule), 1.0) for d in present), f"{level}: mean over the domains present")
                 for level, rule in LEVELS.items()]
        cols.append(Column("Average", tuple((domain_level(d, everything), 1.0) for d in present), "mean of the domains present"))
        return cols

    def leaderboard_frame(self, metrics: Sequence[dict]) -> pd.DataFrame:
        """The headline columns and ``complete``: all four domains present, so the Average is RM-Bench's own."""
        frame = headline_frame(metrics, self.headline_columns, self.primary)
        complete = {m["rm"]: not m.get("domains_missing") for m in metrics}
        frame["complete"] = [complete[rm] for rm in frame["rm"]]
        return frame

    def notes(self, metrics: Sequence[dict]) -> list[str]:
        """Percentages, missing domain files and domains (with what the means are then over), subsampling, judges."""
        if not metrics:
            return []
        first = metrics[0]
        data = first.get("data") or {}
        notes = ["Numbers are percentages."]
        files = data.get("missing_files") or []
        if files:
            notes.append("Missing from this copy of the release: " + "; ".join(f"{f['file']} ({f['domain']})" for f in files) + ".")
        missing = first.get("domains_missing") or []
        if missing:
            over = first.get("average_over") or []
            notes.append(f"No {', '.join(missing)} items: {'that column is' if len(missing) == 1 else 'those columns are'} empty, and "
                         f"Hard, Normal, Easy and Average are means over the {len(over)} domains present ({', '.join(over)}), "
                         "not RM-Bench's four-domain numbers (the CSV's complete column is false).")
        sample = data.get("sample") or {}
        if sample.get("per_scenario"):
            notes.append(f"Seeded stratified subsample: at most {sample['per_scenario']} items per scenario (seed {sample.get('seed')}).")
        return notes + judge_notes(metrics)

    def headline(self, metrics):
        out = {}
        for col in self.headline_columns:
            lo, hi = (metrics["ci"].get(col) or [None, None])
            n = metrics["domains"][col]["n_items"] if col in metrics["domains"] else (metrics["n_items"] if col not in DOMAINS else 0)
            out[col] = headline_cell(metrics["aggregate"].get(col), lo, hi, n, 0.5)
        return out
