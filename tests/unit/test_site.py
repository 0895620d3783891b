"""The results site's builder (rmeval.site) on hand-made items: outcomes and suspect flags, text dedup and chunks,
escaping, the generic leaderboard reading, and one benchmark's folder written end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from rmeval import site
from rmeval.benchmarks.base import Benchmark
from rmeval.data.schema import DataError
from rmeval.site.items import ALL_WRONG, IDENTICAL, JUDGE_CONFLICT, outcome_codes, split_chunks
from rmeval.site.pages import js_data, page_html
from rmeval.site.tables import caption_text, figure_entries, leaderboard_table, markdown_text, significance_rows

NAN = float("nan")
SCRIPT = "<script>alert(1)</script>\n<b>bold?</b> & done"


def conv(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def make_texts() -> pd.DataFrame:
    rows = [("t1", "P1", "q1", "a"), ("t2", "P1", "q1", "bb"), ("t3", "P1", "q1", SCRIPT),
            ("t4", "P2", "q2\nsecond line", "x"), ("t5", "P2", "q2\nsecond line", "yy")]
    return pd.DataFrame([{"text_id": t, "prompt_id": p, "conversation": conv(c), "response": r, "source_model": f"m-{t}",
                          "judge_score": NAN} for t, p, c, r in rows])


def item(item_id, fmt, prompt, chosen, rejected, chosen_score=NAN, rejected_scores=None, scenario="s1"):
    return {"item_id": item_id, "benchmark": "hand", "format": fmt, "goal": "g", "task": "t", "scenario": scenario,
            "prompt_id": prompt, "chosen_id": chosen, "rejected_ids": rejected, "chosen_model": "m", "rejected_models": ["m"] * len(rejected),
            "chosen_score": chosen_score, "rejected_scores": rejected_scores or [NAN] * len(rejected),
            "source_file": "hand.jsonl", "source_index": 0}


def make_items() -> pd.DataFrame:
    return pd.DataFrame([
        item("i1", "pairwise", "P1", "t1", ["t2"], 4.0, [3.0]),
        item("i2", "bon", "P1", "t1", ["t2", "t3"], 4.0, [3.0, 4.5]),  # a loser's judge score above the chosen one's
        item("i3", "pairwise", "P2", "t4", ["t4"], scenario="s2"),  # identical chosen and rejected text
        item("i4", "pairwise", "P2", "t5", ["t4"], scenario="s2"),
    ])


def scores(values: dict) -> pd.DataFrame:
    return pd.DataFrame({"text_id": list(values), "score": list(values.values())})


SCORES = {
    "random": scores({"t1": 0.9, "t2": 0.1, "t3": 0.2, "t4": 0.5, "t5": 0.7}),
    "rmA": scores({"t1": 1.0, "t2": 2.0, "t3": 0.0, "t4": 5.0, "t5": 5.0}),
    "rmB": scores({"t1": 3.0, "t2": 1.0, "t3": NAN, "t4": 0.0, "t5": 1.0}),
}


def verdict(item_id, loser, order, chosen_is_a, verdict_, raw="[[A]]"):
    a_id, b_id = ("c", "r") if chosen_is_a else ("r", "c")
    won = verdict_ in ("A", "B") and (verdict_ == "A") == chosen_is_a
    return {"item_id": item_id, "loser_index": loser, "a_id": a_id, "b_id": b_id, "chosen_is_a": chosen_is_a, "order": order,
            "verdict": verdict_, "chosen_won": won, "raw": raw, "error": None}


JUDGE = pd.DataFrame([
    verdict("i1", 0, "original", True, "A"), verdict("i1", 0, "swapped", False, "B"),  # won in both orders: right
    verdict("i2", 0, "original", True, "A"), verdict("i2", 0, "swapped", False, "B"),
    verdict("i2", 1, "original", True, "A"), verdict("i2", 1, "swapped", False, "A", raw=SCRIPT),  # lost one order: wrong
    verdict("i3", 0, "original", True, "invalid"), verdict("i3", 0, "swapped", False, "invalid"),
    verdict("i4", 0, "original", True, "tie"), verdict("i4", 0, "swapped", False, "tie"),
])


def bench() -> Benchmark:
    return Benchmark(_target_="rmeval.benchmarks.base.Benchmark", name="hand", version="1", description="hand-made")


def test_outcomes_follow_the_metrics_rules():
    codes = outcome_codes(bench(), make_items(), SCORES, {"judge": JUDGE})
    assert codes == {"random": "RRTR", "rmA": "WWTT", "rmB": "RITR", "judge": "RWIT"}


def test_suspect_flags_and_every_non_baseline_rm_wrong():
    items = make_items()
    codes = outcome_codes(bench(), items, SCORES, {"judge": JUDGE})
    index = site.item_index(items, codes, [0, 0, 0, 0], baselines=["random"])
    flags = index["flags"]
    assert [bool(f & IDENTICAL) for f in flags] == [False, False, True, False]
    assert [bool(f & JUDGE_CONFLICT) for f in flags] == [False, True, False, False]
    # i2: rmA wrong, rmB invalid, judge wrong; i3: ties and an invalid verdict. The baseline's right answers do not count.
    assert [bool(f & ALL_WRONG) for f in flags] == [False, True, True, False]
    assert index["conflicts"] == {"1": [4.0, 4.5]}
    assert index["judged_rms"] == ["rmA", "rmB", "judge"]
    # with the baseline counted as an RM like the others, i2 is no longer one that every RM gets wrong
    flags_all = site.item_index(items, codes, [0] * 4, baselines=[])["flags"]
    assert [bool(f & ALL_WRONG) for f in flags_all] == [False, False, True, False]


def test_formats_scored_as_a_group_get_no_item_outcome():
    items = make_items()
    items.loc[3, "format"] = "ties"
    codes = outcome_codes(bench(), items, SCORES, {})
    assert codes["rmB"] == "RIT-"
    assert not site.item_index(items, codes, [0] * 4, baselines=[])["flags"][3] & ALL_WRONG


def test_a_missing_score_names_the_file_and_the_text():
    partial = {"rmA": SCORES["rmA"][SCORES["rmA"]["text_id"] != "t3"]}
    with pytest.raises(DataError) as err:
        outcome_codes(bench(), make_items(), partial, {}, sources={"rmA": "results/scores/hand/rmA.parquet"})
    message = str(err.value)
    assert message.startswith("results/scores/hand/rmA.parquet: item i2: field 'text_id'") and "t3" in message
    assert "\n" not in message


def test_an_unknown_text_or_a_missing_column_fails_with_one_line():
    items = pd.concat([make_items(), pd.DataFrame([item("i9", "pairwise", "P1", "t1", ["t404"])])], ignore_index=True)
    with pytest.raises(DataError, match=r"^data/items.parquet: record 4 \(item_id=i9\): field 'text_id': t404 not in texts$"):
        split_chunks(items, make_texts(), {}, {}, where="data/items.parquet")
    with pytest.raises(DataError, match=r"^rmA.parquet: field 'score': no such column$"):
        outcome_codes(bench(), make_items(), {"rmA": SCORES["rmA"].rename(columns={"score": "value"})}, {}, sources={"rmA": "rmA.parquet"})


def every(chunks, kind: str) -> list[str]:
    return [key for record in chunks.records for key in record[kind]]


def test_every_text_and_conversation_is_written_once():
    items, texts = make_items(), make_texts()
    for target in (1, 10**9):  # a chunk per prompt, and everything in one chunk
        chunks = split_chunks(items, texts, {"rmA": SCORES["rmA"]}, {"judge": JUDGE}, target_bytes=target)
        assert sorted(every(chunks, "texts")) == sorted(texts["text_id"])  # each once
        assert sorted(every(chunks, "conversations")) == ["P1", "P2"]  # one per prompt, not per text
        assert sorted(every(chunks, "items")) == sorted(items["item_id"])
    assert len(chunks.records) == 1
    small = split_chunks(items, texts, {}, {}, target_bytes=1)
    assert small.of_item == [0, 0, 1, 1] and len(small.records) == 2  # a prompt's items stay together
    for k, record in enumerate(small.records):
        for it in record["items"].values():
            assert it["more"] == []  # its texts are in its own chunk
            assert all(t in record["texts"] for t in it["chosen"] + it["rejected"])


def test_an_item_whose_text_lies_in_another_chunk_lists_that_chunk():
    items = pd.concat([make_items(), pd.DataFrame([item("i5", "pairwise", "P3", "t1", ["t5"])])], ignore_index=True)
    chunks = split_chunks(items, make_texts(), {}, {}, target_bytes=1)
    assert chunks.of_item[-1] == 2 and chunks.records[2]["texts"] == {}
    assert chunks.records[2]["items"]["i5"]["more"] == [0, 1]


def test_chunk_records_carry_scores_verdicts_and_raw_text_unchanged():
    chunks = split_chunks(make_items(), make_texts(), SCORES, {"judge": JUDGE})
    record = chunks.records[0]
    assert record["texts"]["t3"]["response"] == SCRIPT  # kept as text: escaping is the page's business
    assert record["texts"]["t3"]["scores"] == {"random": 0.2, "rmA": 0.0, "rmB": "NaN"}
    assert record["conversations"]["P2"] == [{"role": "user", "content": "q2\nsecond line"}]
    verdicts = record["items"]["i2"]["verdicts"]["judge"]
    assert [(v["loser_index"], v["order"], v["verdict"]) for v in verdicts] == [
        (0, "original", "A"), (0, "swapped", "B"), (1, "original", "A"), (1, "swapped", "A")]
    assert verdicts[-1]["raw"] == SCRIPT
    assert record["items"]["i2"]["rejected_scores"] == [3.0, 4.5] and record["items"]["i3"]["chosen_score"] is None


def parse_js(text: str) -> tuple[str, object]:
    prefix = "rmeval.put("
    assert text.startswith(prefix) and text.endswith(");\n")
    key, _, blob = text[len(prefix):-3].partition(",")
    return json.loads(key), json.loads(blob)


def test_data_files_are_scripts_whose_json_round_trips():
    value = {"response": SCRIPT + "</script><!-- \u2028 \u2029 \"quoted\" 'single' \\ ünïcode"}
    text = js_data("chunk-0", value)
    assert "\u2028" not in text and "\u2029" not in text
    assert parse_js(text) == ("chunk-0", value)
    with pytest.raises(ValueError):  # a NaN never reaches a page as an invalid JSON token
        js_data("x", {"v": math.nan})


def test_pages_escape_names_and_load_only_local_scripts():
    page = page_html('a<b>"c"', "items", "../../", ["data/summary.js"], benchmark='x"><script>')
    assert "<b>" not in page and 'x"><script>' not in page and "&lt;b&gt;" in page
    assert "http" not in page  # nothing from the network
    code = Path(site.__file__).with_name("assets").joinpath("site.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "fetch("):
        assert sink not in code, sink


def test_leaderboard_table_shows_whatever_columns_the_csv_has(tmp_path):
    csv = tmp_path / "board.csv"
    pd.DataFrame({
        "rm": ["b", "a"], "Overall": [0.7, 0.6], "Overall lo": [0.65, 0.55], "Overall hi": [0.75, 0.66], "Overall n": [100, 100],
        "Overall published": [0.71, None], "inside CI": [True, None], "rank group": [1, 2],
    }).to_csv(csv, index=False)
    table = leaderboard_table(csv)
    assert [c["name"] for c in table["columns"]] == ["rm", "Overall", "Overall published", "inside CI", "rank group"]
    assert [c["ci"] for c in table["columns"]] == [False, True, False, False, False]
    assert [r["rm"] for r in table["rows"]] == ["b", "a"]  # the file's order is the rank
    assert table["rows"][1]["Overall published"] is None and table["rows"][0]["Overall lo"] == 0.65
    bad = tmp_path / "bad.csv"
    bad.write_text("name,Overall\nx,1\n")
    with pytest.raises(DataError, match="bad.csv: record 0: field 'rm'"):
        leaderboard_table(bad)


def test_markdown_prose_without_its_tables(tmp_path):
    md = tmp_path / "board.md"
    md.write_text("# Leaderboard: hand\n\nAccuracy with **95%** CIs.\nSecond line.\n\n| rank | RM |\n|---|---|\n| 1 | a |\n\n"
                  "Items per column: Overall 100.\n\n- Missing `S11`: 977 items.\n- Rank groups\n  continue here.\n", encoding="utf-8")
    text = markdown_text(md)
    assert text == {"title": "Leaderboard: hand", "paragraphs": ["Accuracy with 95% CIs. Second line.", "Items per column: Overall 100."],
                    "notes": ["Missing S11: 977 items.", "Rank groups continue here."]}


def test_significance_rows_and_captions(tmp_path):
    csv = tmp_path / "sig.csv"
    pd.DataFrame({"benchmark": ["h"], "column": ["Overall"], "rm_a": ["a"], "rm_b": ["b"], "diff": [0.1], "p_boot_holm": [0.01],
                  "seed": [0]}).to_csv(csv, index=False)
    assert significance_rows(csv) == [{"column": "Overall", "rm_a": "a", "rm_b": "b", "diff": 0.1, "p_boot_holm": 0.01}]
    pd.DataFrame({"column": ["Overall"]}).to_csv(csv, index=False)
    with pytest.raises(DataError, match="field 'rm_a'"):
        significance_rows(csv)
    assert caption_text("Paired ``diff``\nper :math:`x` pair.\n") == "Paired diff per x pair."
    entries = figure_entries(["plots/h/scenario_heatmap.png", "plots/h/leaderboard.png", "plots/h/extra.png"],
                             {"leaderboard.rst": "One bar per RM.", "scenario_heatmap.rst": "Cells."})
    assert [(e["file"], e["title"], e["caption"]) for e in entries] == [
        ("leaderboard.png", "Leaderboard", "One bar per RM."), ("scenario_heatmap.png", "Scenario heatmap", "Cells."),
        ("extra.png", "Extra", "")]


def test_baselines_are_the_model_free_rms():
    targets = {"random": "rmeval.rms.baselines.RandomRM", "length": "rmeval.rms.baselines.LengthRM",
               "tiny": "rmeval.rms.classifier.SequenceClassifierRM", "odd": None}
    assert site.baseline_rms(targets) == ["random", "length"]


def test_one_benchmark_folder_end_to_end(tmp_path):
    board = tmp_path / "board.csv"
    pd.DataFrame({"rm": ["rmB", "judge", "rmA", "random"], "Accuracy": [0.5, 0.25, 0.0, 0.75]}).to_csv(board, index=False)
    md = tmp_path / "board.md"
    md.write_text("# Leaderboard: hand\n\nAccuracy.\n", encoding="utf-8")
    png = tmp_path / "leaderboard.png"
    png.write_bytes(b"\x89PNG fake")
    out = tmp_path / "site" / "benchmarks" / "hand"
    manifest = site.build_benchmark(out, bench=bench(), items=make_items(), texts=make_texts(), scores=SCORES,
                                    comparisons={"judge": JUDGE}, sources={}, rms=["random", "rmA", "rmB", "judge"],
                                    baselines=["random"], leaderboard_csv=str(board), leaderboard_md=str(md),
                                    figures=[str(png)], captions={"leaderboard.rst": "Bars."}, chunk_bytes=1)
    assert manifest["suspect"] == {"all_wrong": 2, "identical": 1, "judge_conflict": 1}
    assert manifest["rms"] == ["random", "rmA", "rmB", "judge"] and manifest["data"]["chunks"] == 2
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == ["data/chunk-0.js", "data/chunk-1.js", "data/index.js", "data/summary.js", "img/leaderboard.png",
                     "items.html", "leaderboard.html", "manifest.json", "suspect.html"]
    _, index = parse_js((out / "data/index.js").read_text(encoding="utf-8"))
    assert index["outcomes"] == {"random": "RRTR", "rmA": "WWTT", "rmB": "RITR", "judge": "RWIT"}
    assert index["vocab"]["scenario"] == ["s1", "s2"] and index["scenario"] == [0, 0, 1, 1] and index["chunk"] == [0, 0, 1, 1]
    _, summary = parse_js((out / "data/summary.js").read_text(encoding="utf-8"))
    assert [r["kind"] for r in summary["rms"]] == ["scores", "scores", "scores", "comparisons"]
    assert summary["figures"] == [{"file": "leaderboard.png", "title": "Leaderboard", "caption": "Bars."}]
    texts_written = "".join((out / f"data/chunk-{k}.js").read_text(encoding="utf-8") for k in range(2))
    assert texts_written.count(json.dumps(SCRIPT, ensure_ascii=False)) == 2  # the text once, the judge's raw output once
    # the top page reads the folder's manifest
    board_all = tmp_path / "all.csv"
    pd.DataFrame({"rm": ["a"], "hand": [0.5], "hand lo": [0.4], "hand hi": [0.6]}).to_csv(board_all, index=False)
    site.build_index(tmp_path / "site/index.html", tmp_path / "site/assets", run="r", leaderboard_csv=str(board_all),
                     leaderboard_md=str(md), benchmark_dirs=[str(out)])
    assert sorted(p.name for p in (tmp_path / "site/assets").iterdir()) == ["img", "index.js", "nav.js", "site.css", "site.js"]
    _, nav = parse_js((tmp_path / "site/assets/nav.js").read_text(encoding="utf-8"))
    assert nav == {"run": "r", "benchmarks": [{"name": "hand", "dir": "hand"}]}
    with pytest.raises(DataError, match="must lie in"):
        site.build_index(tmp_path / "elsewhere/index.html", tmp_path / "elsewhere/assets", run="r", leaderboard_csv=str(board_all),
                         leaderboard_md=str(md), benchmark_dirs=[str(out)])
