"""Prompt sets for construction: a released benchmark's conversations (deduplicated, goal and scenario kept), a
JSONL of conversations with labels, or the small demo set rmeval ships (both goals, every RMB helpfulness task and
every harmlessness category; the harmlessness prompts are plain requests a model should refuse or handle safely).
The sets are built into the RMB layout (``rmeval.construct.rmb_layout``), so a prompt's goal is one of RMB's.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from rmeval.config import ConfigError
from rmeval.data.records import Record, read_records
from rmeval.data.rmb import GOALS, HARMLESSNESS
from rmeval.ids import prompt_id

PROMPT_COLUMNS = ["prompt_id", "conversation", "goal", "task", "scenario", "source"]


def _records_to_frame(records: list, where: str, source: str) -> pd.DataFrame:
    """Prompt records (``conversation`` as turns, or a ``prompt`` string; ``goal``, ``scenario``, optional
    ``task``) to the prompts frame; duplicates of a conversation are kept once."""
    rows, seen = [], set()
    for i, raw in enumerate(records):
        rec = Record(where, i, raw, uid_key=None)
        conv = rec.conversation("conversation" if "conversation" in rec.record or "prompt" not in rec.record else "prompt")
        goal = rec.get("goal", str, optional=True)
        if goal not in GOALS:
            rec.fail("goal", f"expected {' or '.join(GOALS)}, got {goal!r}")
        scenario = rec.get("scenario", str, optional=True)
        if not scenario:
            rec.fail("scenario", "missing")
        pid = prompt_id(conv)
        if pid in seen:
            continue
        seen.add(pid)
        rows.append({"prompt_id": pid, "conversation": conv, "goal": goal, "task": rec.record.get("task") or scenario,
                     "scenario": scenario, "source": source})
    return pd.DataFrame(rows, columns=PROMPT_COLUMNS)


def demo_prompts() -> pd.DataFrame:
    text = resources.files("rmeval.construct").joinpath("demo_prompts.jsonl").read_text(encoding="utf-8")
    return _records_to_frame([json.loads(line) for line in text.splitlines() if line.strip()], "demo_prompts.jsonl", "demo")


def jsonl_prompts(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    return _records_to_frame(read_records(path, str(path)), str(path), "jsonl")


def release_prompts(items: pd.DataFrame, texts: pd.DataFrame) -> pd.DataFrame:
    """The unique conversations of a loaded release (e.g. RMB), with their goal/task/scenario (Harmlessness
    scenarios as their S-codes, the form the builder writes)."""
    conv = dict(zip(texts["prompt_id"], texts["conversation"]))
    first = items.drop_duplicates("prompt_id")
    records = []
    for row in first.itertuples(index=False):
        scenario = row.scenario.split(" ")[0] if row.goal == HARMLESSNESS else row.scenario
        task = scenario if row.goal == HARMLESSNESS else row.task
        records.append({"conversation": [dict(t) for t in conv[row.prompt_id]], "goal": row.goal, "task": task, "scenario": scenario})
    return _records_to_frame(records, "release", "release")


def limit_per_scenario(prompts: pd.DataFrame, per_scenario: int | None, seed: int) -> pd.DataFrame:
    """Seeded: at most ``per_scenario`` prompts per (goal, scenario)."""
    if not per_scenario:
        return prompts
    rng = np.random.default_rng(seed)
    parts = []
    for _, group in prompts.groupby(["goal", "scenario"], sort=True):
        take = np.sort(rng.choice(len(group), size=min(per_scenario, len(group)), replace=False))
        parts.append(group.iloc[take])
    return pd.concat(parts).reset_index(drop=True) if parts else prompts


def prompt_set(p) -> pd.DataFrame:
    """The prompt set a ``conf/prompts/<name>.yaml`` node describes: its ``source`` (demo, jsonl or release, read
    from ``path``), at most ``per_scenario`` prompts per scenario (seeded by ``seed``)."""
    if p.source == "demo":
        prompts = demo_prompts()
    elif p.source == "jsonl":
        prompts = jsonl_prompts(p.path)
    elif p.source == "release":
        from rmeval.data.rmb import load_rmb

        items, texts, _ = load_rmb(p.path, benchmark=p.name, check_manifest=False)
        prompts = release_prompts(items, texts)
    else:
        raise ConfigError(f"conf/prompts/{p.name}.yaml: field 'source': expected demo, jsonl or release, got {p.source!r}")
    return limit_per_scenario(prompts, p.per_scenario, p.seed)
