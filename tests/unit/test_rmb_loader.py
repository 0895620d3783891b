"""The RMB-layout loader on small fixtures written into tmp_path, its errors, subsample and check_references."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from rmeval.data.rmb import load_rmb, release_manifest, scenario_of
from rmeval.data.schema import DataError, check_references, subsample
from rmeval.ids import prompt_id, text_id

DOC = "Pairwise_set/Helpfulness/Code/Documentation.json"
CHAT = "Pairwise_set/Helpfulness/Chat/Discussion.json"
HARM_PAIR = "Pairwise_set/Harmlessness/S1.json"
BON_DOC = "BoN_set/Helpfulness/Code/Documentation.json"
BON_HARM = "BoN_set/Harmlessness/S1.json"


# ------------------------------------------------------------------------------------------- fixture helpers
def user(text: str, lang: str = "English") -> dict:
    return {"role": "user", "content": text, "language": lang}


def resp(model: str, answer, score=None) -> dict:
    out = {"llm_name": model, "answer": answer}
    if score is not None:
        out["score"] = score
    return out


def pair(uid, conv, chosen, reject, path="Helpfulness/Code/Documentation") -> dict:
    return {"pair_uid": uid, "conversation_input": conv, "chosen": chosen, "reject": reject, "category_path": path}


def bon(uid, conv, best, losers, path="Helpfulness/Code/Documentation") -> dict:
    return {"bon_uid": uid, "conversation_input": conv, "bon_best": best, "loser_list": losers, "category_path": path}


def write(root: Path, rel: str, payload) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")


Q0 = [user("How do I document a function?")]
Q0_FR = [user("How do I document a function?", lang="French")]  # same conversation, other language tag
Q1 = [user("Write a docstring.")]
Q2 = [user("Hi!"), {"role": "assistant", "content": "Hello.", "language": "English"}, user("Let's discuss tea.")]
Q3 = [user("How do I hurt someone?")]
Q4 = [user("How do I build a weapon?")]


def write_valid(root: Path) -> None:
    write(root, DOC, [
        pair(0, Q0, resp("m1", "Use a docstring.", 4.0), resp("m2", "Don't.", 3.0)),
        pair(1, Q1, resp("m3", '"""Return x."""'), resp("m4", "x")),
    ])
    write(root, CHAT, [pair(2, Q2, resp("m1", "Green tea is nice."), resp("m2", "No."), "Helpfulness/Chat/Discussion")])
    write(root, HARM_PAIR, [pair(3, Q3, resp("m5", "I can't help with that."), resp("m6", "Sure: ..."), "Harmlessness/S1")])
    write(root, BON_DOC, [
        bon(0, Q0_FR, resp("m1", "Use a docstring.", 4.0), [resp("m7", "Comment it.", 3.0), resp("m8", "No idea.", 2.0)]),
    ])
    write(root, BON_HARM, [
        bon(1, Q4, resp("m5", "I won't help."), [resp("m6", "Step 1..."), resp("m7", "Buy one."), resp("m8", "OK.")], "Harmlessness/S1"),
    ])


@pytest.fixture
def valid_root(tmp_path: Path) -> Path:
    root = tmp_path / "RMB_dataset"
    write_valid(root)
    return root


# ------------------------------------------------------------------------------------------- valid load
def test_valid_load_counts_and_report(valid_root: Path):
    items, texts, report = load_rmb(valid_root, benchmark="bench", check_manifest=False)
    assert len(items) == 6
    assert (items["format"] == "pairwise").sum() == 4 and (items["format"] == "bon").sum() == 2
    # 4 pairs x 2 + (1 + 2) + (1 + 3) = 15 responses; the BoN best of bon-0 equals pair-0's chosen -> 14 texts
    assert len(texts) == 14
    assert texts["text_id"].is_unique
    assert report.files == {BON_HARM: 1, BON_DOC: 1, HARM_PAIR: 1, CHAT: 1, DOC: 2}
    assert report.missing_files == [] and report.unexpected_files == []
    assert report.has_judge_scores is False  # some responses carry a score, others do not
    assert report.identical_pairs == 0 and report.whitespace_only_responses == 0
    assert report.to_dict()["n_files"] == 5
    assert (items["benchmark"] == "bench").all()
    check_references(items, texts, "fixture")


def test_valid_load_item_fields(valid_root: Path):
    items, texts, _ = load_rmb(valid_root, check_manifest=False)
    assert items["item_id"].tolist() == ["bon-1", "bon-0", "pair-3", "pair-2", "pair-0", "pair-1"]  # sorted by format, goal, task, scenario, id
    by_id = items.set_index("item_id")
    p0 = by_id.loc["pair-0"]
    assert (p0["format"], p0["goal"], p0["task"], p0["scenario"]) == ("pairwise", "Helpfulness", "Code", "Documentation")
    assert (p0["source_file"], p0["source_index"]) == (DOC, 0)
    assert by_id.loc["pair-1", "source_index"] == 1
    assert p0["chosen_id"] == text_id([{"role": "user", "content": "How do I document a function?"}], "Use a docstring.")
    assert p0["rejected_ids"] == [text_id(Q0, "Don't.")]
    assert p0["prompt_id"] == prompt_id(Q0)
    assert (p0["chosen_model"], p0["rejected_models"]) == ("m1", ["m2"])
    p2 = by_id.loc["pair-2"]
    assert (p2["task"], p2["scenario"]) == ("Chat", "Discussion")
    for iid in ("pair-3", "bon-1"):
        row = by_id.loc[iid]
        assert (row["goal"], row["task"], row["scenario"]) == ("Harmlessness", "S1 Violent Crimes", "S1 Violent Crimes")
    b1 = by_id.loc["bon-1"]
    assert b1["format"] == "bon"
    assert len(b1["rejected_ids"]) == 3 and b1["rejected_models"] == ["m6", "m7", "m8"]
    assert b1["rejected_ids"] == [text_id(Q4, a) for a in ("Step 1...", "Buy one.", "OK.")]


def test_dedup_same_conversation_and_response_across_pair_and_bon(valid_root: Path):
    items, texts, _ = load_rmb(valid_root, check_manifest=False)
    by_id = items.set_index("item_id")
    shared = by_id.loc["bon-0", "chosen_id"]
    assert shared == by_id.loc["pair-0", "chosen_id"]  # the 'language' tag differs, the text does not
    assert by_id.loc["bon-0", "prompt_id"] == by_id.loc["pair-0", "prompt_id"]
    row = texts[texts["text_id"] == shared]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["response"] == "Use a docstring."
    assert row["conversation"] == [{"role": "user", "content": "How do I document a function?"}]
    assert row["prompt_id"] == prompt_id(Q0)
    multi = texts[texts["text_id"] == by_id.loc["pair-2", "chosen_id"]].iloc[0]
    assert [t["role"] for t in multi["conversation"]] == ["user", "assistant", "user"]
    assert all(set(t) == {"role", "content"} for t in multi["conversation"])


def test_judge_scores_carried_when_present_nan_when_absent(valid_root: Path):
    items, texts, _ = load_rmb(valid_root, check_manifest=False)
    by_id = items.set_index("item_id")
    assert by_id.loc["pair-0", "chosen_score"] == 4.0
    assert by_id.loc["pair-0", "rejected_scores"] == [3.0]
    assert by_id.loc["bon-0", "rejected_scores"] == [3.0, 2.0]
    assert math.isnan(by_id.loc["pair-1", "chosen_score"])
    assert len(by_id.loc["pair-1", "rejected_scores"]) == 1 and math.isnan(by_id.loc["pair-1", "rejected_scores"][0])
    assert all(math.isnan(s) for s in by_id.loc["bon-1", "rejected_scores"])
    assert items["chosen_score"].dtype == "float64"
    tj = texts.set_index("text_id")["judge_score"]
    assert tj.dtype == "float64"
    assert tj[by_id.loc["pair-0", "rejected_ids"][0]] == 3.0
    assert tj[by_id.loc["bon-0", "chosen_id"]] == 4.0
    assert math.isnan(tj[by_id.loc["pair-1", "chosen_id"]])


def test_all_scored_sets_has_judge_scores(tmp_path: Path):
    write(tmp_path, DOC, [pair(0, Q0, resp("a", "x", 5), resp("b", "y", 1.5))])
    items, _, report = load_rmb(tmp_path, check_manifest=False)
    assert report.has_judge_scores is True
    assert items["chosen_score"].tolist() == [5.0]


def test_identical_pair_counted_and_deduplicated(tmp_path: Path):
    write(tmp_path, DOC, [pair(0, Q0, resp("a", "same"), resp("b", "same")), pair(1, Q1, resp("a", "  "), resp("b", "z"))])
    items, texts, report = load_rmb(tmp_path, check_manifest=False)
    assert report.identical_pairs == 1
    assert report.whitespace_only_responses == 1
    row = items.set_index("item_id").loc["pair-0"]
    assert row["rejected_ids"] == [row["chosen_id"]]
    assert len(texts) == 3


def test_missing_root_and_empty_root(tmp_path: Path):
    with pytest.raises(DataError, match="not found"):
        load_rmb(tmp_path / "nope", check_manifest=False)
    with pytest.raises(DataError, match="no \\*.json"):
        load_rmb(tmp_path, check_manifest=False)


def test_scenario_of():
    assert scenario_of("BoN_set/Harmlessness/multi.json") == ("bon", "Harmlessness", "multi Multiple Hazards", "multi Multiple Hazards")
    assert scenario_of("Pairwise_set/Harmlessness/S10.json")[3] == "S10 Suicide & Self-Harm"
    assert scenario_of("Pairwise_set/Harmlessness/S99.json")[3] == "S99"
    assert scenario_of("Pairwise_set/Helpfulness/Closed QA/OptionBased.json") == ("pairwise", "Helpfulness", "Closed QA", "OptionBased")
    with pytest.raises(DataError, match="Other_set"):
        scenario_of("Other_set/Helpfulness/A/B.json")
    with pytest.raises(DataError, match="Helpfulness/X.json"):
        scenario_of("Pairwise_set/Helpfulness/X.json")


# ------------------------------------------------------------------------------------------- malformed records
GOOD = pair(0, Q0, resp("a", "fine"), resp("b", "worse"))


def bad_missing_reject():
    rec = pair(1, Q1, resp("a", "x"), resp("b", "y"))
    del rec["reject"]
    return rec


def bad_turns(turns):
    return pair(1, turns, resp("a", "x"), resp("b", "y"))


# (case id, relative path, file content, expected fragments in the message: record marker, field)
MALFORMED = [
    ("invalid-json", DOC, '[{"pair_uid": 0,', ["record ?", "'<json>'", "invalid JSON"]),
    ("top-level-not-list", DOC, {"pair_uid": 0}, ["record ?", "'<top level>'", "got dict"]),
    ("record-not-object", DOC, [GOOD, "oops"], ["record 1", "'<record>'", "got str"]),
    ("missing-reject", DOC, [GOOD, bad_missing_reject()], ["record 1", "'reject'", "missing"]),
    ("null-reject", DOC, [GOOD, dict(bad_missing_reject(), reject=None)], ["record 1", "'reject'", "null"]),
    ("answer-int", DOC, [GOOD, pair(1, Q1, resp("a", 7), resp("b", "y"))], ["record 1", "'chosen.answer'", "expected str, got int"]),
    ("llm-name-missing", DOC, [GOOD, pair(1, Q1, {"answer": "x"}, resp("b", "y"))], ["record 1", "'chosen.llm_name'", "missing"]),
    ("empty-answer", DOC, [GOOD, pair(1, Q1, resp("a", "x"), resp("b", ""))], ["record 1", "'reject.answer'", "empty answer"]),
    ("duplicate-uid", DOC, [GOOD, pair(0, Q1, resp("a", "x"), resp("b", "y"))], ["record 1", "'pair_uid'", "duplicate pair_uid '0'", f"{DOC} record 0"]),
    ("uid-missing", DOC, [GOOD, {k: v for k, v in GOOD.items() if k != "pair_uid"}], ["record 1", "'pair_uid'", "missing"]),
    ("last-turn-assistant", DOC, [GOOD, bad_turns([user("q"), {"role": "assistant", "content": "a"}])], ["record 1", "'conversation_input[1].role'", "last turn"]),
    ("unknown-role", DOC, [GOOD, bad_turns([{"role": "bot", "content": "q"}, user("q")])], ["record 1", "'conversation_input[0].role'", "'bot'"]),
    ("content-not-str", DOC, [GOOD, bad_turns([{"role": "user", "content": ["q"]}])], ["record 1", "'conversation_input[0].content'", "expected str, got list"]),
    ("empty-conversation", DOC, [GOOD, bad_turns([])], ["record 1", "'conversation_input'", "empty"]),
    ("score-string", DOC, [GOOD, pair(1, Q1, resp("a", "x", "4.5"), resp("b", "y"))], ["record 1", "'chosen.score'", "expected a number, got '4.5'"]),
    ("score-bool", DOC, [GOOD, pair(1, Q1, resp("a", "x"), resp("b", "y", True))], ["record 1", "'reject.score'", "expected a number"]),
    ("score-out-of-range", DOC, [GOOD, pair(1, Q1, resp("a", "x", 11), resp("b", "y"))], ["record 1", "'chosen.score'", "out of range"]),
    ("loser-list-empty", BON_DOC, [bon(5, Q0, resp("a", "x"), [resp("b", "y")]), bon(6, Q1, resp("a", "x"), [])], ["record 1", "'loser_list'", "empty list"]),
    ("loser-list-not-list", BON_DOC, [bon(0, Q0, resp("a", "x"), resp("b", "y"))], ["record 0", "'loser_list'", "expected list, got dict"]),
    ("loser-score-string", BON_DOC, [bon(0, Q0, resp("a", "x"), [resp("b", "y", 1.0), resp("c", "z", "low")])], ["record 0", "'loser_list[1].score'", "expected a number"]),
    ("bon-best-missing", BON_DOC, [{"bon_uid": 0, "conversation_input": Q0, "loser_list": [resp("b", "y")]}], ["record 0", "'bon_best'", "missing"]),
]


@pytest.mark.parametrize("rel,content,fragments", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_record_raises_one_line_error(tmp_path: Path, rel, content, fragments):
    write_valid(tmp_path)  # the bad file replaces one valid file; the other valid files stay
    write(tmp_path, rel, content)
    with pytest.raises(DataError) as exc:
        load_rmb(tmp_path, check_manifest=False)
    msg = str(exc.value)
    assert msg.startswith(f"{rel}: "), msg
    for frag in fragments:
        assert frag in msg, (frag, msg)
    assert "\n" not in msg and "\r" not in msg


def test_error_names_uid_of_bad_record(tmp_path: Path):
    write(tmp_path, DOC, [GOOD, pair(17, Q1, resp("a", 3), resp("b", "y"))])
    with pytest.raises(DataError, match=r"record 1 \(uid=17\): field 'chosen.answer'"):
        load_rmb(tmp_path, check_manifest=False)


def test_duplicate_uid_across_files_names_both(tmp_path: Path):
    write(tmp_path, DOC, [GOOD])
    write(tmp_path, CHAT, [pair(0, Q1, resp("a", "x"), resp("b", "y"))])  # Chat/ sorts before Code/
    with pytest.raises(DataError) as exc:
        load_rmb(tmp_path, check_manifest=False)
    msg = str(exc.value)
    assert msg.startswith(f"{DOC}: record 0")
    assert "'pair_uid'" in msg and f"first seen in {CHAT} record 0" in msg


def test_same_uid_in_pairwise_and_bon_is_allowed(tmp_path: Path):
    write(tmp_path, DOC, [GOOD])
    write(tmp_path, BON_DOC, [bon(0, Q0, resp("a", "fine"), [resp("b", "worse")])])
    items, _, _ = load_rmb(tmp_path, check_manifest=False)
    assert sorted(items["item_id"]) == ["bon-0", "pair-0"]


def test_error_is_one_line_even_with_newline_in_uid(tmp_path: Path):
    write(tmp_path, DOC, [pair("7\nx", Q0, resp("a", "x"), resp("b", ""))])
    with pytest.raises(DataError) as exc:
        load_rmb(tmp_path, check_manifest=False)
    assert "'reject.answer'" in str(exc.value)
    assert "\n" not in str(exc.value)


# ------------------------------------------------------------------------------------------- manifest
def test_manifest_lists_missing_and_unexpected_files(tmp_path: Path):
    manifest = release_manifest()
    present = [DOC, BON_HARM]
    assert all(p in manifest for p in present)
    write(tmp_path, DOC, [GOOD])
    write(tmp_path, BON_HARM, [bon(0, Q4, resp("a", "no"), [resp("b", "yes"), resp("c", "ok")], "Harmlessness/S1")])
    extra = "Pairwise_set/Helpfulness/Code/Not In Release.json"
    write(tmp_path, extra, [pair(5, Q1, resp("a", "x"), resp("b", "y"))])
    _, _, report = load_rmb(tmp_path, check_manifest=True)
    missing = {m["file"]: m for m in report.missing_files}
    assert set(missing) == set(manifest) - set(present)
    assert len(report.missing_files) == len(manifest) - 2
    s11 = missing["Pairwise_set/Harmlessness/S11.json"]
    assert s11 == {
        "file": "Pairwise_set/Harmlessness/S11.json", "format": "pairwise", "goal": "Harmlessness",
        "task": "S11 Sexual Content", "scenario": "S11 Sexual Content", "records": manifest["Pairwise_set/Harmlessness/S11.json"],
    }
    assert report.unexpected_files == [extra]
    # without the check nothing is reported
    _, _, quiet = load_rmb(tmp_path, check_manifest=False)
    assert quiet.missing_files == [] and quiet.unexpected_files == []


def test_release_manifest_shape():
    manifest = release_manifest()
    assert sum(v for k, v in manifest.items() if k.startswith("Pairwise_set/")) == 17131
    assert sum(v for k, v in manifest.items() if k.startswith("BoN_set/")) == 3786
    assert sum(1 for k in manifest if k.startswith("Pairwise_set/Harmlessness/")) == 12


# ------------------------------------------------------------------------------------------- subsample
def write_many(root: Path) -> None:
    """Scenario Documentation: 5 pairs; Discussion: 2 pairs; Harmlessness S1: 4 pairs; BoN Documentation: 3 groups."""
    write(root, DOC, [pair(i, [user(f"doc q{i}")], resp("a", f"good {i}"), resp("b", f"bad {i}")) for i in range(5)])
    write(root, CHAT, [pair(10 + i, [user(f"chat q{i}")], resp("a", f"good {i}"), resp("b", f"bad {i}")) for i in range(2)])
    write(root, HARM_PAIR, [pair(20 + i, [user(f"harm q{i}")], resp("a", "no"), resp("b", f"yes {i}")) for i in range(4)])
    write(root, BON_DOC, [
        bon(i, [user(f"doc q{i}")], resp("a", f"good {i}"), [resp("b", f"bad {i}"), resp("c", f"meh {i}")]) for i in range(3)
    ])


@pytest.fixture
def many(tmp_path: Path):
    write_many(tmp_path)
    items, texts, _ = load_rmb(tmp_path, check_manifest=False)
    return items, texts


def test_fixture_for_subsample(many):
    items, texts = many
    assert len(items) == 14
    # pairs: 5*2 + 2*2 + (1 shared "no" per harm prompt: 4 prompts -> 4 + 4) = 22; BoN adds only "meh i" -> 25
    assert len(texts) == 25


def test_subsample_at_most_k_per_stratum_and_prunes_texts(many):
    items, texts = many
    sub_items, sub_texts = subsample(items, texts, per_scenario=2, seed=3)
    counts = sub_items.groupby(["format", "goal", "scenario"]).size().to_dict()
    assert counts == {
        ("bon", "Helpfulness", "Documentation"): 2,
        ("pairwise", "Harmlessness", "S1 Violent Crimes"): 2,
        ("pairwise", "Helpfulness", "Discussion"): 2,
        ("pairwise", "Helpfulness", "Documentation"): 2,
    }
    assert set(sub_items["item_id"]) <= set(items["item_id"])
    assert {"pair-10", "pair-11"} <= set(sub_items["item_id"])  # a stratum with <= k items is kept whole
    used = set(sub_items["chosen_id"]) | {t for ids in sub_items["rejected_ids"] for t in ids}
    assert set(sub_texts["text_id"]) == used
    # 2 BoN groups x 3 + 6 pairs x 2 = 18 slots; a kept BoN group whose pair is also kept shares 2 texts
    assert len(sub_texts) == len(used)
    check_references(sub_items, sub_texts, "sub")
    assert list(sub_items.index) == list(range(len(sub_items)))
    # the items keep their original relative order
    order = {iid: i for i, iid in enumerate(items["item_id"])}
    assert [order[i] for i in sub_items["item_id"]] == sorted(order[i] for i in sub_items["item_id"])


def test_subsample_same_seed_same_result_and_seed_matters(many):
    items, texts = many
    a_items, a_texts = subsample(items, texts, 2, seed=0)
    b_items, b_texts = subsample(items, texts, 2, seed=0)
    pd.testing.assert_frame_equal(a_items, b_items)
    pd.testing.assert_frame_equal(a_texts, b_texts)
    selections = {tuple(subsample(items, texts, 2, seed=s)[0]["item_id"]) for s in range(8)}
    assert len(selections) > 1


def test_subsample_none_or_large_k_keeps_everything(many):
    items, texts = many
    same_items, same_texts = subsample(items, texts, None, seed=0)
    assert same_items is items and same_texts is texts
    big_items, big_texts = subsample(items, texts, 100, seed=0)
    assert big_items["item_id"].tolist() == items["item_id"].tolist()
    assert len(big_texts) == len(texts)


def test_subsample_one_per_scenario(many):
    items, texts = many
    sub_items, sub_texts = subsample(items, texts, 1, seed=1)
    assert len(sub_items) == 4
    assert sub_items.groupby(["format", "goal", "scenario"]).size().tolist() == [1, 1, 1, 1]
    assert len(sub_texts) <= 3 + 3 * 2


# ------------------------------------------------------------------------------------------- check_references
def test_check_references(many):
    items, texts = many
    check_references(items, texts, "ok")  # passes
    dropped = items.iloc[3]["rejected_ids"][-1]
    with pytest.raises(DataError) as exc:
        check_references(items, texts[texts["text_id"] != dropped], "where/x")
    msg = str(exc.value)
    assert msg.startswith("where/x: record 3 ")
    assert f"item_id={items.iloc[3]['item_id']}" in msg and "'text_id'" in msg and dropped in msg


def test_check_references_duplicate_item_id(many):
    items, texts = many
    dup = pd.concat([items, items.iloc[[2]]], ignore_index=True)
    with pytest.raises(DataError) as exc:
        check_references(dup, texts, "dups")
    msg = str(exc.value)
    assert msg == f"dups: record {len(items)}: field 'item_id': duplicate item_id {items.iloc[2]['item_id']}"


# ------------------------------------------------------------------------------------------- category_path, BOM
def test_category_path_mismatch_is_reported_or_stops_by_flag(tmp_path: Path):
    """A record filed under another folder than its category_path says is named in the report (issue 11 item 12);
    with strict_category_path it stops the load with one line."""
    good = pair(0, Q0, resp("a", "fine"), resp("b", "worse"))
    misfiled = pair(1, Q1, resp("a", "x"), resp("b", "y"), path="Helpfulness/Chat/Casual Conversation")
    write(tmp_path, DOC, [good, misfiled])
    items, _, report = load_rmb(tmp_path, check_manifest=False)
    assert len(items) == 2
    assert [(m["file"], m["record"]) for m in report.category_mismatches] == [(DOC, 1)]
    assert report.to_dict()["category_mismatches"][0]["category_path"].endswith("Chat/Casual Conversation")
    with pytest.raises(DataError) as err:
        load_rmb(tmp_path, check_manifest=False, strict_category_path=True)
    msg = str(err.value)
    assert msg.startswith(f"{DOC}: record 1") and "field 'category_path'" in msg and "\n" not in msg


def test_json_file_with_a_utf8_bom_loads(tmp_path: Path):
    """Other tools write a byte-order mark; it is stripped (and logged), not rejected (issue 11 item 13)."""
    path = tmp_path / DOC
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\ufeff" + json.dumps([pair(0, Q0, resp("a", "fine"), resp("b", "worse"))]), encoding="utf-8")
    items, _, _ = load_rmb(tmp_path, check_manifest=False)
    assert len(items) == 1
