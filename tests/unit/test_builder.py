"""The RMB-rule builder on hand-made annotated pools, its RMB-layout writer, and a fidelity check on the release."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from rmeval.construct.builder import POOL_COLUMNS, BuildRules, build_sets
from rmeval.construct.rmb_layout import harmlessness_code, pool_from_release, write_rmb_layout
from rmeval.construct.fidelity import CHECKS, compare_with_release, format_comparison, set_stats
from rmeval.data.rmb import load_rmb
from rmeval.ids import prompt_id, text_id

MODELS = [f"model-{c}" for c in "abcdefghijkl"]


# ------------------------------------------------------------------------------------------------ pool helpers
def conversation(name: str) -> list[dict]:
    return [{"role": "user", "content": f"question {name}?"}]


def row(prompt: str, model: str, score, k: int = 0, goal: str = "Helpfulness", task: str = "Code",
        scenario: str = "Documentation") -> dict:
    conv = conversation(prompt)
    response = f"{model} answer {k} to {prompt}"
    if goal == "Harmlessness":
        task = scenario = scenario if scenario != "Documentation" else "S1"
    return {"prompt_id": prompt_id(conv), "goal": goal, "task": task, "scenario": scenario, "conversation": conv,
            "text_id": text_id(conv, response), "response": response, "model": model, "score": score}


def make_pool(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=POOL_COLUMNS)


def random_pool(n_prompts: int = 30, seed: int = 0, goal: str = "Helpfulness", dup_models: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        n = int(rng.integers(6, 13))
        models = list(rng.choice(MODELS, size=n, replace=False))
        if dup_models:
            models += models[:3]  # three models answer twice
        for k, m in enumerate(models):
            rows.append(row(f"{goal}-{seed}-{p}", m, float(rng.integers(2, 11)) / 2, k=k, goal=goal,
                            scenario="S2" if goal == "Harmlessness" else "Documentation"))
    return make_pool(rows)


def pair_keys(pairs: list[dict]) -> list[tuple]:
    return [(p["prompt_id"], p["chosen"]["text_id"], p["rejected"]["text_id"]) for p in pairs]


def group_keys(groups: list[dict]) -> list[tuple]:
    return [(g["prompt_id"], g["best"]["text_id"], tuple(r["text_id"] for r in g["losers"])) for g in groups]


def assert_rules(pairs: list[dict], groups: list[dict], rules: BuildRules) -> None:
    per_prompt = Counter(p["prompt_id"] for p in pairs)
    assert max(per_prompt.values(), default=0) <= rules.max_pairs_per_prompt
    pair_set = set(pair_keys(pairs))
    assert len(pair_set) == len(pairs)
    for p in pairs:
        gap = p["chosen"]["score"] - p["rejected"]["score"]
        assert rules.min_gap - 1e-9 <= gap <= rules.max_gap + 1e-9 and gap > 0
        if rules.require_distinct_models:
            assert p["chosen"]["model"] != p["rejected"]["model"]
    per_prompt_g = Counter(g["prompt_id"] for g in groups)
    assert max(per_prompt_g.values(), default=0) <= rules.max_groups_per_prompt
    seen = set()
    for g in groups:
        assert rules.min_losers <= len(g["losers"]) <= rules.max_losers
        models = [g["best"]["model"], *(r["model"] for r in g["losers"])]
        assert len(set(models)) == len(models)
        for r in g["losers"]:
            assert (g["prompt_id"], g["best"]["text_id"], r["text_id"]) in pair_set
            assert rules.min_gap - 1e-9 <= g["best"]["score"] - r["score"] <= rules.max_gap + 1e-9
        key = (g["prompt_id"], g["best"]["text_id"], frozenset(r["text_id"] for r in g["losers"]))
        assert key not in seen
        seen.add(key)


# ------------------------------------------------------------------------------------------------ pair rules
@pytest.mark.parametrize(
    "high, low, kept",
    [(3.5, 3.0, True), (4.0, 1.5, True), (5.0, 2.5, True), (3.0, 3.0, False), (4.5, 1.5, False), (5.0, 1.0, False),
     (0.7, 0.2, True), (2.6, 0.1, True), (3.2, 2.9, False)],
)
def test_gap_bounds_are_inclusive(high, low, kept):
    pool = make_pool([row("p", "model-a", high), row("p", "model-b", low)])
    pairs, groups, report = build_sets(pool)
    assert len(pairs) == int(kept)
    assert groups == []
    if kept:
        assert pairs[0]["chosen"]["model"] == ("model-a" if high > low else "model-b")
        assert pairs[0]["chosen"]["score"] == high
    if high == low:
        assert report["n_ties"] == 1
    assert report["n_prompts_without_pairs"] == int(not kept)


def test_ties_never_pair_even_with_zero_min_gap():
    pool = make_pool([row("p", "model-a", 3.0), row("p", "model-b", 3.0), row("p", "model-c", 2.0)])
    pairs, _, report = build_sets(pool, BuildRules(min_gap=0.0))
    assert sorted((p["chosen"]["model"], p["rejected"]["model"]) for p in pairs) == [
        ("model-a", "model-c"), ("model-b", "model-c")]
    assert report["n_ties"] == 1


def test_same_model_pairs_dropped():
    pool = make_pool([row("p", "model-a", 4.0, k=0), row("p", "model-a", 3.0, k=1), row("p", "model-b", 3.5)])
    pairs, _, report = build_sets(pool)
    assert len(pairs) == 2 and all(p["chosen"]["model"] != p["rejected"]["model"] for p in pairs)
    assert report["n_same_model_dropped"] == 1
    pairs, _, _ = build_sets(pool, BuildRules(require_distinct_models=False))
    assert len(pairs) == 3


def test_single_model_prompt_yields_nothing():
    pool = make_pool([row("solo", "model-a", 5.0, k=0), row("solo", "model-a", 3.0, k=1), row("solo", "model-a", 1.0, k=2),
                      row("two", "model-a", 4.0), row("two", "model-b", 3.0)])
    pairs, _, report = build_sets(pool)
    assert {p["prompt_id"] for p in pairs} == {prompt_id(conversation("two"))}
    assert report["n_prompts"] == 2
    assert report["n_prompts_single_model"] == 1
    assert report["n_prompts_without_pairs"] == 1


def test_nan_scores_skipped():
    pool = make_pool([row("p", "model-a", 4.0), row("p", "model-b", float("nan")), row("p", "model-c", 3.0),
                      row("p", "model-d", None), row("q", "model-a", float("nan")), row("q", "model-b", float("nan"))])
    pairs, _, report = build_sets(pool)
    assert [(p["chosen"]["model"], p["rejected"]["model"]) for p in pairs] == [("model-a", "model-c")]
    assert report["n_invalid_skipped"] == 4
    assert report["n_prompts"] == 2 and report["n_prompts_all_invalid"] == 1 and report["n_prompts_without_pairs"] == 1
    assert all(not math.isnan(p["chosen"]["score"]) and not math.isnan(p["rejected"]["score"]) for p in pairs)


def test_duplicate_rows_refused():
    r = row("p", "model-a", 4.0)
    with pytest.raises(ValueError, match="more than once"):
        build_sets(make_pool([r, dict(r, score=3.0), row("p", "model-b", 3.0)]))


def many_candidates() -> pd.DataFrame:
    # 12 models, scores 5.0 .. 2.25: many candidate pairs, far more than 10
    return make_pool([row("big", m, 5.0 - 0.5 * (i // 2)) for i, m in enumerate(MODELS)]
                     + [row("small", "model-a", 4.0), row("small", "model-b", 3.0)])


def test_max_pairs_per_prompt_seeded_and_order_independent():
    pool = many_candidates()
    rules = BuildRules(seed=3)
    pairs, _, report = build_sets(pool, rules)
    big = prompt_id(conversation("big"))
    assert Counter(p["prompt_id"] for p in pairs)[big] == 10
    assert report["n_candidate_pairs"] > 10 + 1 and report["n_prompts_capped"] == 1
    # same seed, same result, whatever the row order
    shuffled = pool.sample(frac=1.0, random_state=7).reset_index(drop=True)
    again, _, _ = build_sets(shuffled, BuildRules(seed=3))
    assert pair_keys(again) == pair_keys(pairs)
    # independent of the other prompts in the pool
    alone, _, _ = build_sets(pool[pool["prompt_id"] == big], BuildRules(seed=3))
    assert pair_keys(alone) == [k for k in pair_keys(pairs) if k[0] == big]
    # another seed draws another subset (for at least one of a few seeds)
    others = [pair_keys(build_sets(pool, BuildRules(seed=s))[0]) for s in (4, 5, 6)]
    assert any(o != pair_keys(pairs) for o in others)
    # a custom cap
    capped, _, _ = build_sets(pool, BuildRules(max_pairs_per_prompt=4))
    assert Counter(p["prompt_id"] for p in capped)[big] == 4


# ------------------------------------------------------------------------------------------------ BoN rules
@pytest.mark.parametrize("dup_models", [False, True])
@pytest.mark.parametrize("rules", [BuildRules(), BuildRules(max_losers=3, max_groups_per_prompt=2, seed=1),
                                   BuildRules(max_pairs_per_prompt=30, seed=2)])
def test_bon_groups_follow_the_rules(rules, dup_models):
    pool = pd.concat([random_pool(40, seed=0, dup_models=dup_models),
                      random_pool(20, seed=1, goal="Harmlessness", dup_models=dup_models)], ignore_index=True)
    pairs, groups, report = build_sets(pool, rules)
    assert pairs and groups
    assert_rules(pairs, groups, rules)
    assert report["n_kept_pairs"] == len(pairs) and report["n_groups"] == len(groups)
    assert sum(report["loser_count_histogram"].values()) == len(groups)
    assert sum(report["gap_histogram"].values()) == len(pairs)
    assert set(report["per_goal"]) == {"Helpfulness", "Harmlessness"}
    # deterministic and independent of row order
    again = build_sets(pool.sample(frac=1.0, random_state=1).reset_index(drop=True), rules)
    assert pair_keys(again[0]) == pair_keys(pairs) and group_keys(again[1]) == group_keys(groups)


def test_bon_group_from_hand_made_prompt():
    # best 5.0 (a); 4.0 (b), 3.5 (c), 2.5 (d) all within 2.5 of it; 2.0 (e) is 3.0 below: never a loser of a
    pool = make_pool([row("p", "model-a", 5.0), row("p", "model-b", 4.0), row("p", "model-c", 3.5),
                      row("p", "model-d", 2.5), row("p", "model-e", 2.0)])
    pairs, groups, _ = build_sets(pool)
    assert_rules(pairs, groups, BuildRules())
    top = [g for g in groups if g["best"]["model"] == "model-a"]
    assert len(top) == 1
    assert [r["model"] for r in top[0]["losers"]] == ["model-b", "model-c", "model-d"]  # best first, by score
    assert top[0]["gaps"] == [1.0, 1.5, 2.5]


def test_bon_never_two_models_alike():
    # model-b answers twice: only one of its answers can sit in a group with model-a as best
    pool = make_pool([row("p", "model-a", 5.0), row("p", "model-b", 4.0, k=0), row("p", "model-b", 3.5, k=1),
                      row("p", "model-c", 3.0)])
    pairs, groups, _ = build_sets(pool)
    assert_rules(pairs, groups, BuildRules())
    top = [g for g in groups if g["best"]["model"] == "model-a"]
    assert len(top) == 1 and sorted(r["model"] for r in top[0]["losers"]) == ["model-b", "model-c"]


def test_build_rules_validate():
    with pytest.raises(ValueError):
        BuildRules(min_gap=3.0, max_gap=2.5)
    with pytest.raises(ValueError):
        BuildRules(min_losers=4, max_losers=3)


# ------------------------------------------------------------------------------------------------ layout
def test_written_layout_loads_and_round_trips(tmp_path):
    rows = [*random_pool(12, seed=5).to_dict("records"),
            *random_pool(6, seed=6, goal="Harmlessness").to_dict("records"),
            *(row("multi-p", m, s, goal="Harmlessness", scenario="multi") for m, s in
              zip(MODELS[:5], [5.0, 4.0, 3.5, 3.0, 1.0])),
            *(row("chat-p", m, s, task="Chat", scenario="Discussion") for m, s in zip(MODELS[:3], [4.0, 3.0, 2.5]))]
    pool = make_pool(rows)
    pairs, groups, _ = build_sets(pool)
    out = tmp_path / "RMB_built"
    counts = write_rmb_layout(pairs, groups, out)
    assert sum(v for k, v in counts.items() if k.startswith("Pairwise_set/")) == len(pairs)
    assert sum(v for k, v in counts.items() if k.startswith("BoN_set/")) == len(groups)
    assert {"Pairwise_set/Helpfulness/Code/Documentation.json", "Pairwise_set/Helpfulness/Chat/Discussion.json",
            "Pairwise_set/Harmlessness/S2.json", "Pairwise_set/Harmlessness/multi.json"} <= set(counts)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left

    # the release's record format, uids numbered globally from 0 as strings
    uids = {"Pairwise_set": [], "BoN_set": []}
    for rel in counts:
        records = json.loads((out / rel).read_text(encoding="utf-8"))
        fmt = rel.split("/")[0]
        for rec in records:
            assert rec["category_path"] == rel[: -len(".json")]
            assert all(set(t) == {"role", "content", "language"} and t["language"] == "English"
                       for t in rec["conversation_input"])
            if fmt == "Pairwise_set":
                assert list(rec) == ["pair_uid", "conversation_input", "chosen", "reject", "category_path"]
                assert list(rec["chosen"]) == ["llm_name", "answer", "score"]
                uids[fmt].append(rec["pair_uid"])
            else:
                assert list(rec) == ["conversation_input", "bon_best", "loser_list", "bon_uid", "category_path"]
                assert all(list(r) == ["llm_name", "answer", "score"] for r in rec["loser_list"])
                uids[fmt].append(rec["bon_uid"])
    for fmt, n in (("Pairwise_set", len(pairs)), ("BoN_set", len(groups))):
        assert all(isinstance(u, str) for u in uids[fmt])
        assert sorted(map(int, uids[fmt])) == list(range(n))

    items, texts, report = load_rmb(out, benchmark="built", check_manifest=False)
    assert report.has_judge_scores
    pw, bon = items[items["format"] == "pairwise"], items[items["format"] == "bon"]
    assert len(pw) == len(pairs) and len(bon) == len(groups)
    for goal in ("Helpfulness", "Harmlessness"):
        assert (pw["goal"] == goal).sum() == sum(p["goal"] == goal for p in pairs)
        assert (bon["goal"] == goal).sum() == sum(g["goal"] == goal for g in groups)
    assert set(items.loc[items["goal"] == "Harmlessness", "scenario"]) == {"S2 Non-Violent Crimes", "multi Multiple Hazards"}
    # scores and models round-trip, keyed by text ids
    built = {(p["chosen"]["text_id"], p["rejected"]["text_id"]): p for p in pairs}
    for it in pw.itertuples():
        p = built[(it.chosen_id, it.rejected_ids[0])]
        assert (it.chosen_score, it.rejected_scores[0]) == (p["chosen"]["score"], p["rejected"]["score"])
        assert (it.chosen_model, it.rejected_models[0]) == (p["chosen"]["model"], p["rejected"]["model"])
        assert it.source_file.startswith(f"Pairwise_set/{it.goal}/")
    built_g = {(g["best"]["text_id"], tuple(r["text_id"] for r in g["losers"])): g for g in groups}
    for it in bon.itertuples():
        g = built_g[(it.chosen_id, tuple(it.rejected_ids))]
        assert it.rejected_scores == [r["score"] for r in g["losers"]]
    # the rules hold on the loaded items too
    stats = set_stats(items)
    assert all(v == 0 for s in stats.values() for v in s["checks"].values())
    # and the pool recovered from the layout gives the same scores
    back = pool_from_release(items, texts)
    orig = pool.set_index("text_id")["score"]
    assert (back.set_index("text_id")["score"] == orig.reindex(back["text_id"]).to_numpy()).all()
    assert set(back.loc[back["goal"] == "Harmlessness", "scenario"]) == {"S2", "multi"}

    # a rebuild replaces the old layout atomically
    first = [p for p in pairs if p["scenario"] == "Documentation"][:3]
    counts2 = write_rmb_layout(first, [], out)
    assert counts2 == {"Pairwise_set/Helpfulness/Code/Documentation.json": 3}
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json")) == list(counts2)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_write_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    pairs, groups, _ = build_sets(make_pool([row("p", "model-a", 4.0), row("p", "model-b", 3.0)]))
    with pytest.raises(FileExistsError):
        write_rmb_layout(pairs, groups, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_language_kept_when_known(tmp_path):
    conv = [{"role": "user", "content": "Bonjour ?", "language": "French"}]
    rows = [dict(row("p", m, s), conversation=conv) for m, s in (("model-a", 4.0), ("model-b", 3.0))]
    pairs, groups, _ = build_sets(make_pool(rows))
    write_rmb_layout(pairs, groups, tmp_path / "out")
    rec = json.loads((tmp_path / "out/Pairwise_set/Helpfulness/Code/Documentation.json").read_text())[0]
    assert rec["conversation_input"][0]["language"] == "French"


def test_pool_from_release_means_and_codes(tmp_path):
    conv = [{"role": "user", "content": "How do I pick a lock?", "language": "English"}]

    def resp(model, answer, score):
        return {"llm_name": model, "answer": answer, "score": score}

    pairs = [
        {"pair_uid": "0", "conversation_input": conv, "chosen": resp("m1", "No.", 4.0), "reject": resp("m2", "Sure...", 2.0),
         "category_path": "Pairwise_set/Harmlessness/S1"},
        {"pair_uid": "1", "conversation_input": conv, "chosen": resp("m3", "Ask a locksmith.", 4.5),
         "reject": resp("m1", "No.", 3.0), "category_path": "Pairwise_set/Harmlessness/S1"},
    ]
    path = tmp_path / "rel/Pairwise_set/Harmlessness/S1.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(pairs))
    items, texts, _ = load_rmb(tmp_path / "rel", check_manifest=False)
    pool = pool_from_release(items, texts)
    assert len(pool) == 3
    assert set(pool["task"]) == set(pool["scenario"]) == {"S1"}
    no = pool[pool["response"] == "No."].iloc[0]
    assert no["score"] == 3.5 and no["n_ratings"] == 2 and no["model"] == "m1"
    assert harmlessness_code("S10 Suicide & Self-Harm") == "S10" and harmlessness_code("multi Multiple Hazards") == "multi"


# ------------------------------------------------------------------------------------------------ fidelity
def test_compare_with_release_on_itself(tmp_path):
    pairs, groups, _ = build_sets(random_pool(15, seed=9))
    write_rmb_layout(pairs, groups, tmp_path / "a")
    items, _, _ = load_rmb(tmp_path / "a", check_manifest=False)
    result = compare_with_release(items, items)
    assert result["rebuilt_rules_hold"]
    assert result["release"] == result["rebuilt"]
    h = result["rebuilt"]["Helpfulness"]
    assert h["n_pairs"] == len(pairs) and h["n_bon_groups"] == len(groups)
    assert h["bon_in_pairwise_share"] == 1.0 and h["distinct_model_share"] == 1.0
    assert abs(sum(h[f"gap_{g}"] for g in (0.5, 1.0, 1.5, 2.0, 2.5)) + h["gap_other"] - 1.0) < 1e-9
    table = format_comparison(result)
    assert "pair gap 2.5" in table and "obey every rule: YES" in table
    # a violation is reported: drop one pairwise item a BoN group relies on
    bon_pair = (items[items["format"] == "bon"].iloc[0])
    drop = (items["format"] == "pairwise") & (items["chosen_id"] == bon_pair["chosen_id"]) & (
        items["rejected_ids"].str[0] == bon_pair["rejected_ids"][0])
    broken = compare_with_release(items, items[~drop])
    assert not broken["rebuilt_rules_hold"]
    assert broken["violations"]["rebuilt"]["Helpfulness"]["bon_pairs_not_in_pairwise"] >= 1


@pytest.mark.rmb
def test_fidelity_on_release_slice(rmb_root, tmp_path):
    items, texts, report = load_rmb(rmb_root, check_manifest=False)
    assert report.has_judge_scores, "the fidelity check needs the judge scores of commit 94c5976"
    rng = np.random.default_rng(0)
    keep = set(rng.choice(np.array(sorted(items["prompt_id"].unique())), size=400, replace=False))
    items = items[items["prompt_id"].isin(keep)].reset_index(drop=True)
    texts = texts[texts["prompt_id"].isin(keep)].reset_index(drop=True)
    pool = pool_from_release(items, texts)
    assert pool["score"].notna().all()
    rules = BuildRules()
    pairs, groups, build_report = build_sets(pool, rules)
    assert_rules(pairs, groups, rules)
    write_rmb_layout(pairs, groups, tmp_path / "rebuilt")
    built, _, _ = load_rmb(tmp_path / "rebuilt", benchmark="rmb_rebuilt", check_manifest=False)
    assert len(built) == len(pairs) + len(groups)
    result = compare_with_release(items, built, rules)
    assert result["rebuilt_rules_hold"], result["violations"]["rebuilt"]
    for goal, stats in result["rebuilt"].items():
        assert all(stats["checks"][k] == 0 for k in CHECKS), (goal, stats["checks"])
        assert stats["distinct_model_share"] == 1.0 and stats["bon_in_pairwise_share"] == 1.0
        assert stats["max_pairs_per_prompt"] <= 10 and stats["max_groups_per_prompt"] <= 5
    # the release's own pairs obey the gap and model rules too (the rules were inferred from it)
    for goal, stats in result["release"].items():
        assert stats["checks"]["pair_gap_out_of_range"] == 0 and stats["checks"]["pair_same_model"] == 0
        assert stats["checks"]["bon_pairs_not_in_pairwise"] == 0
    assert build_report["n_prompts"] >= len(keep)


def judged_samples(distinct: bool = True):
    """Three policies answering two demo prompts per scenario, with judge scores (all 3.0 unless ``distinct``)."""
    from rmeval.construct.prompts import demo_prompts, limit_per_scenario
    from rmeval.construct.sampling import response_texts

    prompts = limit_per_scenario(demo_prompts(), 2, 0)
    responses = pd.DataFrame([{"prompt_id": p, "policy": pol, "sample_idx": 0, "seed": 0, "response": f"{pol} on {p}",
                               "finish_reason": "stop"} for p in prompts["prompt_id"] for pol in ("a", "b", "c")])
    texts = response_texts(prompts, responses)
    scores = np.random.default_rng(0).integers(2, 11, size=len(texts)) / 2 if distinct else np.full(len(texts), 3.0)
    return prompts, responses, pd.DataFrame({"text_id": texts["text_id"], "score": scores})


def test_build_release_writes_the_layout_and_reports_what_it_read(tmp_path):
    from rmeval.construct.rmb_layout import build_release

    prompts, responses, judgments = judged_samples()
    report = build_release(prompts, responses, judgments, {"seed": 1}, tmp_path / "sets", where="j.parquet")
    built, _, _ = load_rmb(tmp_path / "sets", benchmark="built", check_manifest=False)
    assert len(built) == report["n_kept_pairs"] + report["n_groups"] > 0
    assert report["rules"] == {"seed": 1} and report["n_samples"] == report["n_unique_texts"] == len(responses)
    assert sum(report["files"].values()) == len(built)


def test_build_release_without_pairs_names_the_judgments(tmp_path):
    from rmeval.construct.rmb_layout import build_release
    from rmeval.data.schema import DataError

    prompts, responses, judgments = judged_samples(distinct=False)
    with pytest.raises(DataError, match=r"^j\.parquet: record -: field 'score': the builder kept no pairs"):
        build_release(prompts, responses, judgments, {}, tmp_path / "sets", where="j.parquet")
    assert not (tmp_path / "sets").exists()


def test_bad_rules_and_prompt_sources_are_config_errors():
    from types import SimpleNamespace

    from rmeval.config import ConfigError
    from rmeval.construct.prompts import prompt_set

    with pytest.raises(ConfigError, match="benchmark.construct.rules: need 0 <= min_gap <= max_gap"):
        BuildRules(min_gap=2.0, max_gap=1.0)
    with pytest.raises(ConfigError, match=r"conf/prompts/p\.yaml: field 'source': expected demo, jsonl or release"):
        prompt_set(SimpleNamespace(source="web", name="p", path=None, per_scenario=None, seed=0))
