"""The smoke benchmark: a tiny release in the RMB layout that rmeval writes itself.

Both goals, both formats, one- and three-turn conversations, judge scores, a pair with identical responses.
Chosen/best responses are longer and carry higher judge scores, so the length baseline has signal and the
random baseline does not. Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# (goal, task, scenario) -> file stem; a subset of RMB's categories.
SCENARIOS = [
    ("Helpfulness", "Code", "Documentation"),
    ("Helpfulness", "Code", "Data Management"),
    ("Helpfulness", "Chat", "Casual Conversation"),
    ("Harmlessness", None, "S1"),
    ("Harmlessness", None, "S6"),
]
MODELS = ["policy-a", "policy-b", "policy-c", "policy-d", "policy-e"]
WORDS = (
    "please explain the code step by step and list what each part does so that a new user can follow it "
    "safely without harm we should answer clearly with an example and a short summary at the end"
).split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _conversation(rng: random.Random, turns: int) -> list[dict]:
    conv = []
    for t in range(turns):
        role = "user" if t % 2 == 0 else "assistant"
        conv.append({"role": role, "content": _sentence(rng, rng.randint(5, 12)), "language": "English"})
    return conv


def _response(rng: random.Random, model: str, quality: float) -> dict:
    return {"llm_name": model, "answer": _sentence(rng, int(4 + 10 * quality)), "score": quality}


def write_smoke_fixture(root: str | Path, seed: int = 0, items_per_scenario: int = 4) -> dict:
    """Write ``root/{Pairwise_set,BoN_set}/...json``; returns the record count per file."""
    root = Path(root)
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    pair_uid = bon_uid = 0
    for goal, task, scen in SCENARIOS:
        sub = f"{goal}/{task}/{scen}.json" if task else f"{goal}/{scen}.json"
        pairs, groups = [], []
        for i in range(items_per_scenario):
            conv = _conversation(rng, 3 if i % 2 else 1)
            models = rng.sample(MODELS, 4)
            best = _response(rng, models[0], rng.choice([4.0, 4.5, 5.0]))
            worse = [_response(rng, m, best["score"] - rng.choice([0.5, 1.0, 1.5, 2.0])) for m in models[1:]]
            reject = worse[0]
            if i == 0 and goal == "Helpfulness" and scen == "Documentation":
                reject = dict(worse[0], answer=best["answer"])  # RMB has 11 such pairs: never correct
            pairs.append({"pair_uid": str(pair_uid), "conversation_input": conv, "chosen": best, "reject": reject,
                          "category_path": f"Pairwise_set/{sub[:-5]}"})
            pair_uid += 1
            if i < max(1, items_per_scenario // 2):
                groups.append({"bon_uid": str(bon_uid), "conversation_input": conv, "bon_best": best,
                               "loser_list": worse[: 2 + (i % 2)], "category_path": f"BoN_set/{sub[:-5]}"})
                bon_uid += 1
        for kind, records in (("Pairwise_set", pairs), ("BoN_set", groups)):
            path = root / kind / sub
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
            counts[f"{kind}/{sub}"] = len(records)
    return counts
