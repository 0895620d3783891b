"""Best-of-N groups of one prompt, formed from its kept pairs (the rules are in ``rmeval.construct.builder``)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from rmeval.ids import stable_hash

if TYPE_CHECKING:
    from rmeval.construct.builder import BuildRules


def keyed_rng(*key) -> np.random.Generator:
    """An RNG seeded by a stable hash of ``key`` (e.g. the rules' seed and a prompt_id)."""
    return np.random.default_rng(int(stable_hash(list(key)), 16))


def bon_groups(pid: str, chosen: list[tuple[dict, dict]], rules: BuildRules) -> list[tuple[dict, list[dict]]]:
    """BoN groups of one prompt, formed from its kept pairs only."""
    rng = keyed_rng("bon", rules.seed, pid)
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
