"""The RMB-rule builder: an annotated pool (judged responses) -> pairwise pairs and best-of-N groups.

Construction rules (BENCHMARKS.md, "RMB / Construction rules"; the defaults of ``BuildRules``):

- a pair (chosen, rejected) of one prompt is a *candidate* iff
  ``min_gap <= score(chosen) - score(rejected) <= max_gap`` (inclusive, compared with a small epsilon) and the two
  responses come from different models; equal scores (ties) never form a pair, whatever ``min_gap`` says;
- at most ``max_pairs_per_prompt`` candidates are kept per prompt, drawn by an RNG seeded by (seed, prompt_id), so
  the choice depends neither on the order of the prompts nor on the order of the rows;
- best-of-N groups are formed *from the kept pairs*: one best and ``min_losers..max_losers`` losers, each loser the
  rejected side of a kept pair whose chosen side is the best; best and losers all from distinct models. So every
  (best, loser) pair of a group is in the pairwise set and each loser is ``min_gap..max_gap`` below the best;
- one best may head several groups only with disjoint loser sets (never the same best and the same loser set);
  at most ``max_groups_per_prompt`` groups per prompt (first groups of different bests are preferred);
- rows with an invalid judgment (NaN score) are never used and are counted in the report; a prompt answered by
  a single model yields nothing and is counted too.

``write_rmb_layout`` writes the result in the release's JSON layout, which ``rmeval.data.rmb.load_rmb`` reads;
``pool_from_release`` turns a loaded release back into an annotated pool (from the judge scores the release
carries at commit 94c5976), so the builder can be checked against the release (``rmeval.construct.fidelity``).
"""

from __future__ import annotations

import json
import math
import shutil
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rmeval.data.rmb import HARMLESSNESS_NAMES
from rmeval.ids import stable_hash
from rmeval.ids import text_id as make_text_id

GAP_EPS = 1e-6  # judge scores are multiples of 0.5 (or means of them): far coarser than this
GOALS = ("Helpfulness", "Harmlessness")
# A prompt is a conversation judged for one goal and scenario: RMB holds one conversation under both goals, with
# goal-specific scores, so the same prompt_id in two contexts is two prompts for the builder.
PROMPT_KEY = ["goal", "task", "scenario", "prompt_id"]
POOL_COLUMNS = ["prompt_id", "goal", "task", "scenario", "conversation", "text_id", "response", "model", "score"]
FORMAT_DIRS = {"pairwise": "Pairwise_set", "bon": "BoN_set"}


@dataclass
class BuildRules:
    """RMB's construction rules; every parameter can be changed (e.g. from a Hydra config)."""

    min_gap: float = 0.5
    max_gap: float = 2.5
    max_pairs_per_prompt: int = 10
    min_losers: int = 2
    max_losers: int = 6
    max_groups_per_prompt: int = 5
    require_distinct_models: bool = True
    seed: int = 0

    def __post_init__(self):
        if not (0 <= self.min_gap <= self.max_gap):
            raise ValueError(f"BuildRules: need 0 <= min_gap <= max_gap, got min_gap={self.min_gap}, max_gap={self.max_gap}")
        if self.max_pairs_per_prompt < 0 or self.max_groups_per_prompt < 0:
            raise ValueError("BuildRules: max_pairs_per_prompt and max_groups_per_prompt must be >= 0")
        if not (1 <= self.min_losers <= self.max_losers):
            raise ValueError(f"BuildRules: need 1 <= min_losers <= max_losers, got {self.min_losers}..{self.max_losers}")

    def gap_ok(self, gap: float) -> bool:
        """A gap that may form a pair: inside [min_gap, max_gap] and never a tie."""
        return gap > GAP_EPS and self.min_gap - GAP_EPS <= gap <= self.max_gap + GAP_EPS


def gap_key(gap: float) -> str:
    """Histogram bin of a score gap: '0.5', '1.0', ... (means of scores may give '0.75')."""
    return f"{round(gap * 2) / 2:.1f}" if abs(gap * 2 - round(gap * 2)) < GAP_EPS * 2 else f"{gap:.2f}"


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng(int(stable_hash(list(key)), 16))


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


# --------------------------------------------------------------------------------------------------- building
def _check_pool(pool: pd.DataFrame) -> pd.DataFrame:
    pool = pool.copy()
    if "text_id" not in pool.columns and {"conversation", "response"} <= set(pool.columns):
        pool["text_id"] = [make_text_id(c, r) for c, r in zip(pool["conversation"], pool["response"])]
    missing = [c for c in POOL_COLUMNS if c not in pool.columns]
    if missing:
        raise ValueError(f"annotated pool: missing columns {', '.join(missing)} (expected {', '.join(POOL_COLUMNS)})")
    bad_goal = sorted(set(pool["goal"]) - set(GOALS))
    if bad_goal:
        raise ValueError(f"annotated pool: unknown goal(s) {bad_goal} (expected {', '.join(GOALS)})")
    dup = pool.duplicated([*PROMPT_KEY, "text_id"])
    if dup.any():
        row = pool[dup].iloc[0]
        raise ValueError(
            f"annotated pool: text {row['text_id']} of prompt {row['prompt_id']} ({row['goal']}/{row['task']}/"
            f"{row['scenario']}) appears more than once; merge repeated judgments first (e.g. the mean score, as "
            "pool_from_release does)"
        )
    pool["score"] = pd.to_numeric(pool["score"], errors="coerce").astype("float64")
    return pool


def _side(row: dict) -> dict:
    return {"text_id": row["text_id"], "model": row["model"], "response": row["response"], "score": row["score"]}


def _prompt_groups(pid: str, chosen: list[tuple[dict, dict]], rules: BuildRules) -> list[tuple[dict, list[dict]]]:
    """BoN groups of one prompt, formed from its kept pairs only."""
    rng = _rng("bon", rules.seed, pid)
    losers_of: dict[str, list[dict]] = defaultdict(list)
    best_row: dict[str, dict] = {}
    for a, b in chosen:
        losers_of[a["text_id"]].append(b)
        best_row[a["text_id"]] = a
    rounds: list[list[tuple[dict, list[dict]]]] = []
    seen: set[tuple[str, frozenset]] = set()
    for best_id in sorted(losers_of):
        best = best_row[best_id]
        unused = sorted(losers_of[best_id], key=lambda r: r["text_id"])
        if rules.require_distinct_models:
            unused = [r for r in unused if r["model"] != best["model"]]
        k = 0
        while len(unused) >= rules.min_losers:
            if rules.require_distinct_models:  # one loser per model, the model's response drawn by the RNG
                by_model: dict[str, list[dict]] = defaultdict(list)
                for r in unused:
                    by_model[r["model"]].append(r)
                pick = [rows[int(rng.integers(len(rows)))] for _, rows in sorted(by_model.items())]
            else:
                pick = list(unused)
            if len(pick) < rules.min_losers:
                break
            if len(pick) > rules.max_losers:
                keep = np.sort(rng.choice(len(pick), size=rules.max_losers, replace=False))
                pick = [pick[i] for i in keep]
            pick = sorted(pick, key=lambda r: (-r["score"], r["text_id"]))
            key = (best_id, frozenset(r["text_id"] for r in pick))
            if key not in seen:  # disjoint loser sets make this impossible; kept as a guard
                seen.add(key)
                while len(rounds) <= k:
                    rounds.append([])
                rounds[k].append((best, pick))
            picked = {r["text_id"] for r in pick}
            unused = [r for r in unused if r["text_id"] not in picked]
            k += 1
    ordered: list[tuple[dict, list[dict]]] = []
    for groups in rounds:  # first groups of every best before any best's second group
        ordered.extend(groups[i] for i in rng.permutation(len(groups)))
    kept = ordered[: rules.max_groups_per_prompt]
    return sorted(kept, key=lambda g: (-g[0]["score"], g[0]["text_id"], sorted(r["text_id"] for r in g[1])))


def build_sets(pool: pd.DataFrame, rules: BuildRules | None = None) -> tuple[list[dict], list[dict], dict]:
    """Build the pairwise and BoN sets from an annotated pool (columns ``POOL_COLUMNS``).

    Returns (pairs, groups, report). A pair is ``{prompt_id, goal, task, scenario, conversation, chosen, rejected,
    gap}``, a group ``{prompt_id, goal, task, scenario, conversation, best, losers, gaps}``, where each response is
    ``{text_id, model, response, score}``. Deterministic for ``rules.seed``; independent of row and prompt order.
    """
    rules = rules or BuildRules()
    pool = _check_pool(pool)
    invalid = pool["score"].isna()
    report: dict = {
        "rules": asdict(rules),
        "n_rows": len(pool),
        "n_invalid_skipped": int(invalid.sum()),
        "n_prompts": len(pool.drop_duplicates(PROMPT_KEY)),
        "n_prompts_all_invalid": 0,  # every judgment of the prompt invalid
        "n_prompts_single_model": 0,  # valid judgments from fewer than two models: nothing can be built
        "n_prompts_without_pairs": 0,  # all prompts that yield nothing (the two kinds above included)
        "n_prompts_capped": 0,  # prompts with more candidates than max_pairs_per_prompt
        "n_ties": 0,
        "n_same_model_dropped": 0,
        "n_gap_out_of_range": 0,
        "n_candidate_pairs": 0,
        "n_kept_pairs": 0,
        "n_groups": 0,
        "n_prompts_with_groups": 0,
        "candidate_gap_histogram": {},
        "gap_histogram": {},  # of the kept pairs
        "loser_count_histogram": {},
        "per_goal": {},
    }
    valid = pool[~invalid]
    n_valid_prompts = len(valid.drop_duplicates(PROMPT_KEY))
    report["n_prompts_all_invalid"] = report["n_prompts"] - n_valid_prompts
    report["n_prompts_without_pairs"] += report["n_prompts_all_invalid"]
    cand_hist: Counter = Counter()
    kept_hist: Counter = Counter()
    loser_hist: Counter = Counter()
    per_goal: dict = defaultdict(lambda: {"prompts": 0, "pairs": 0, "groups": 0})
    pairs: list[dict] = []
    groups: list[dict] = []
    cols = ["text_id", "model", "response", "score"]

    for (goal, task, scenario, pid), rows in valid.sort_values([*PROMPT_KEY, "text_id"], kind="stable").groupby(
            PROMPT_KEY, sort=True):
        meta = {"prompt_id": pid, "goal": goal, "task": task, "scenario": scenario,
                "conversation": rows["conversation"].iloc[0]}
        per_goal[meta["goal"]]["prompts"] += 1
        resp = rows[cols].to_dict("records")
        if len(resp) < 2 or (rules.require_distinct_models and rows["model"].nunique() < 2):
            report["n_prompts_single_model"] += 1
            report["n_prompts_without_pairs"] += 1
            continue
        candidates: list[tuple[dict, dict]] = []
        for i, a in enumerate(resp):
            for b in resp[i + 1:]:
                gap = a["score"] - b["score"]
                if abs(gap) <= GAP_EPS:
                    report["n_ties"] += 1
                    continue
                hi, lo = (a, b) if gap > 0 else (b, a)
                gap = abs(gap)
                if not rules.gap_ok(gap):
                    report["n_gap_out_of_range"] += 1
                elif rules.require_distinct_models and hi["model"] == lo["model"]:
                    report["n_same_model_dropped"] += 1
                else:
                    candidates.append((hi, lo))
        candidates.sort(key=lambda p: (p[0]["text_id"], p[1]["text_id"]))
        report["n_candidate_pairs"] += len(candidates)
        cand_hist.update(gap_key(a["score"] - b["score"]) for a, b in candidates)
        chosen = candidates
        if len(candidates) > rules.max_pairs_per_prompt:
            report["n_prompts_capped"] += 1
            keep = np.sort(_rng("pairs", rules.seed, pid).choice(len(candidates), size=rules.max_pairs_per_prompt,
                                                                 replace=False))
            chosen = [candidates[i] for i in keep]
        if not chosen:
            report["n_prompts_without_pairs"] += 1
            continue
        for a, b in chosen:
            gap = a["score"] - b["score"]
            kept_hist[gap_key(gap)] += 1
            pairs.append({**meta, "chosen": _side(a), "rejected": _side(b), "gap": gap})
        per_goal[meta["goal"]]["pairs"] += len(chosen)
        prompt_groups = _prompt_groups(pid, chosen, rules)
        for best, losers in prompt_groups:
            loser_hist[str(len(losers))] += 1
            groups.append({**meta, "best": _side(best), "losers": [_side(r) for r in losers],
                           "gaps": [best["score"] - r["score"] for r in losers]})
        per_goal[meta["goal"]]["groups"] += len(prompt_groups)
        report["n_prompts_with_groups"] += bool(prompt_groups)

    order = {g: i for i, g in enumerate(GOALS)}
    pairs.sort(key=lambda p: (order[p["goal"]], str(p["task"]), str(p["scenario"]), p["prompt_id"],
                              p["chosen"]["text_id"], p["rejected"]["text_id"]))
    groups.sort(key=lambda g: (order[g["goal"]], str(g["task"]), str(g["scenario"]), g["prompt_id"],
                               -g["best"]["score"], g["best"]["text_id"]))
    report["n_kept_pairs"] = len(pairs)
    report["n_groups"] = len(groups)

    def _sorted(h: Counter) -> dict:
        return {k: int(h[k]) for k in sorted(h, key=float)}

    report["candidate_gap_histogram"] = _sorted(cand_hist)
    report["gap_histogram"] = _sorted(kept_hist)
    report["loser_count_histogram"] = _sorted(loser_hist)
    report["per_goal"] = {g: dict(per_goal[g]) for g in GOALS if g in per_goal}
    return pairs, groups, report


# ---------------------------------------------------------------------------------------------------- writing
def _safe_name(name: object, what: str) -> str:
    name = str(name)
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"write_rmb_layout: {what} {name!r} cannot be a file or folder name")
    return name


def _sub_path(goal: str, task: object, scenario: object) -> str:
    """'Helpfulness/Code/Documentation' or 'Harmlessness/S1' (no format folder, no suffix)."""
    if goal == "Helpfulness":
        return f"Helpfulness/{_safe_name(task, 'task')}/{_safe_name(scenario, 'scenario')}"
    if goal == "Harmlessness":
        return f"Harmlessness/{_safe_name(harmlessness_code(scenario), 'scenario')}"
    raise ValueError(f"write_rmb_layout: unknown goal {goal!r} (expected {', '.join(GOALS)})")


def _file_order(sub: str) -> tuple:
    parts = sub.split("/")
    if parts[0] == "Harmlessness":
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
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in FORMAT_DIRS.values())
        if foreign:
            raise FileExistsError(f"write_rmb_layout: {out_dir} holds {foreign[:3]}: not an RMB layout, refusing to replace it")
    by_file: dict[tuple[str, str], list[dict]] = {}
    for fmt, records in (("pairwise", pairs), ("bon", groups)):
        for rec in records:
            by_file.setdefault((fmt, _sub_path(rec["goal"], rec["task"], rec["scenario"])), []).append(rec)

    payload: dict[str, list[dict]] = {}
    for fmt, fmt_dir in FORMAT_DIRS.items():
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


# ------------------------------------------------------------------------------------------- from the release
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
        if it.goal == "Harmlessness":
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
