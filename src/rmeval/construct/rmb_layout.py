"""Built sets in the RMB release's JSON layout: ``write_rmb_layout`` writes pairs and groups as the release does
(``rmeval.data.rmb.load_rmb`` reads it back), ``build_release`` builds them from judged samples and writes them;
``pool_from_release`` turns a loaded release into an annotated pool (from the judge scores the release carries at
commit 94c5976), so the builder can be checked against the release (``rmeval.construct.fidelity``).
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from rmeval.construct.builder import POOL_COLUMNS, BuildRules, build_sets
from rmeval.data.rmb import FORMAT_DIRS, GOALS, HARMLESSNESS, HARMLESSNESS_NAMES, HELPFULNESS
from rmeval.data.schema import DataError

SET_DIRS = {fmt: folder for folder, fmt in FORMAT_DIRS.items()}  # format -> the release's folder


def harmlessness_code(scenario: str) -> str:
    """'S1 Violent Crimes' -> 'S1', 'multi Multiple Hazards' -> 'multi', 'S1' -> 'S1' (unknown names unchanged)."""
    scenario = str(scenario).strip()
    head = scenario.split(" ", 1)[0]
    if head in HARMLESSNESS_NAMES:
        return head
    for code, name in HARMLESSNESS_NAMES.items():  # a bare long name, e.g. 'Violent Crimes'
        if scenario == name:
            return code
    return scenario


def _safe_name(name: object, what: str) -> str:
    name = str(name)
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"write_rmb_layout: {what} {name!r} cannot be a file or folder name")
    return name


def _sub_path(goal: str, task: object, scenario: object) -> str:
    """'Helpfulness/Code/Documentation' or 'Harmlessness/S1' (no format folder, no suffix)."""
    if goal == HELPFULNESS:
        return f"{HELPFULNESS}/{_safe_name(task, 'task')}/{_safe_name(scenario, 'scenario')}"
    if goal == HARMLESSNESS:
        return f"{HARMLESSNESS}/{_safe_name(harmlessness_code(scenario), 'scenario')}"
    raise ValueError(f"write_rmb_layout: unknown goal {goal!r} (expected {', '.join(GOALS)})")


def _file_order(sub: str) -> tuple:
    parts = sub.split("/")
    if parts[0] == HARMLESSNESS:
        code = parts[1]
        return (1, 0, int(code[1:]), code) if code[:1] == "S" and code[1:].isdigit() else (1, 1, 0, code)
    return (0, 0, 0, "/".join(parts[1:]))


def _turns(conversation) -> list[dict]:
    out = []
    for turn in conversation:
        lang = turn.get("language") if hasattr(turn, "get") else None
        out.append({"content": str(turn["content"]), "language": lang or "English", "role": str(turn["role"])})
    return out


def _resp(side: dict) -> dict:
    score = float(side["score"])
    if math.isnan(score):
        raise ValueError(f"write_rmb_layout: response {side.get('text_id')} has no valid score")
    return {"llm_name": str(side["model"]), "answer": str(side["response"]), "score": score}


def write_rmb_layout(pairs: list[dict], groups: list[dict], out_dir: str | Path) -> dict[str, int]:
    """Write ``out_dir/{Pairwise_set,BoN_set}/{Helpfulness/<task>/<scenario>.json | Harmlessness/<code>.json}``.

    Records follow the release (commit 94c5976): ``pair_uid`` / ``bon_uid`` are strings numbered globally from 0
    (Helpfulness files first, contiguous within a file), turns carry ``language`` ("English" unless the pool says),
    responses carry ``llm_name``, ``answer`` and ``score``. The folder is written next to ``out_dir`` and renamed
    into place, replacing a previous build; a non-empty ``out_dir`` holding anything but ``Pairwise_set`` and
    ``BoN_set`` is refused. Returns the record count per file (paths relative to ``out_dir``).
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"write_rmb_layout: {out_dir} exists and is not a folder")
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in SET_DIRS.values())
        if foreign:
            raise FileExistsError(f"write_rmb_layout: {out_dir} holds {foreign[:3]}: not an RMB layout, refusing to replace it")
    by_file: dict[tuple[str, str], list[dict]] = {}
    for fmt, records in (("pairwise", pairs), ("bon", groups)):
        for rec in records:
            by_file.setdefault((fmt, _sub_path(rec["goal"], rec["task"], rec["scenario"])), []).append(rec)

    payload: dict[str, list[dict]] = {}
    for fmt, fmt_dir in SET_DIRS.items():
        uid = 0
        for sub in sorted((s for f, s in by_file if f == fmt), key=_file_order):
            category = f"{fmt_dir}/{sub}"
            out = []
            for rec in by_file[(fmt, sub)]:
                conv = _turns(rec["conversation"])
                if fmt == "pairwise":
                    out.append({"pair_uid": str(uid), "conversation_input": conv, "chosen": _resp(rec["chosen"]),
                                "reject": _resp(rec["rejected"]), "category_path": category})
                else:
                    out.append({"conversation_input": conv, "bon_best": _resp(rec["best"]),
                                "loser_list": [_resp(r) for r in rec["losers"]], "bon_uid": str(uid),
                                "category_path": category})
                uid += 1
            payload[f"{category}.json"] = out

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        for rel, records in payload.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {rel: len(records) for rel, records in payload.items()}


def pool_from_release(items: pd.DataFrame, texts: pd.DataFrame) -> pd.DataFrame:
    """The annotated pool recovered from a loaded RMB release (``load_rmb`` output with judge scores).

    One row per (prompt_id, text_id) within a goal and scenario (RMB has one conversation under both goals, with
    goal-specific scores): the mean of the judge scores the records give it (``n_ratings`` of them;
    NaN when none carries one), the model named most often for it, the conversation and response from ``texts``.
    Harmlessness rows get ``task == scenario ==`` the S-code ('S1 Violent Crimes' -> 'S1').
    """
    rows = []
    for it in items.itertuples(index=False):
        ids = [it.chosen_id, *it.rejected_ids]
        models = [it.chosen_model, *it.rejected_models]
        scores = [it.chosen_score, *it.rejected_scores]
        if it.goal == HARMLESSNESS:
            task = scenario = harmlessness_code(it.scenario)
        else:
            task, scenario = it.task, it.scenario
        for tid, model, score in zip(ids, models, scores):
            rows.append((it.prompt_id, it.goal, task, scenario, tid, model,
                         np.nan if score is None else float(score)))
    slots = pd.DataFrame(rows, columns=["prompt_id", "goal", "task", "scenario", "text_id", "model", "score"])
    if slots.empty:
        return pd.DataFrame(columns=[*POOL_COLUMNS, "n_ratings"])
    key = ["goal", "task", "scenario", "prompt_id", "text_id"]
    agg = slots.groupby(key, sort=True).agg(score=("score", "mean"), n_ratings=("score", "size"))
    model_counts = slots.groupby([*key, "model"], sort=True).size().rename("n").reset_index()
    model_counts = model_counts.sort_values([*key, "n", "model"], ascending=[True] * len(key) + [False, True], kind="stable")
    agg = agg.join(model_counts.drop_duplicates(key).set_index(key)["model"]).reset_index()
    info = texts.set_index("text_id")[["conversation", "response"]]
    missing = set(agg["text_id"]) - set(info.index)
    if missing:
        raise ValueError(f"pool_from_release: {len(missing)} text_ids referenced by items are not in texts, e.g. {next(iter(missing))}")
    agg = agg.join(info, on="text_id")
    agg["n_ratings"] = agg["n_ratings"].astype("int64")
    return agg[[*POOL_COLUMNS, "n_ratings"]].reset_index(drop=True)


def build_release(prompts: pd.DataFrame, responses: pd.DataFrame, judgments: pd.DataFrame, rules: Mapping,
                  out_dir: str | Path, where: str = "judgments") -> dict:
    """Build the sets from sampled ``responses`` to ``prompts`` with their ``judgments`` (the policy is the model)
    by ``BuildRules(**rules)``, write them to ``out_dir`` (``write_rmb_layout``) and return the build report with
    the files written. ``where`` (the judgments' file) names the error when the rules keep no pair."""
    from rmeval.construct.sampling import response_texts

    texts = response_texts(prompts, responses)
    pool = texts.merge(judgments[["text_id", "score"]], on="text_id", how="left").rename(columns={"policy": "model"})
    pool = pool[POOL_COLUMNS]
    pairs, groups, report = build_sets(pool, BuildRules(**rules))
    if not pairs:
        valid = pool["score"].dropna()
        raise DataError(
            f"{where}: record -: field 'score': the builder kept no pairs from {len(pool)} responses "
            f"({len(valid)} validly judged, {valid.nunique()} distinct scores); a judge that cannot tell responses "
            "apart, or a single policy, yields no benchmark"
        )
    counts = write_rmb_layout(pairs, groups, out_dir)
    return {**report, "files": counts, "rules": dict(rules), "n_samples": int(len(responses)),
            "n_unique_texts": int(len(texts))}
