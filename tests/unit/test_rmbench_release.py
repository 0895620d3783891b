"""RM-Bench from its GitHub release layout (data/<domain>_filtered.json, the domain in the file name, ``subset``
instead of ``domain``, ids repeating across files) and from total_dataset.json: the same items either way; a missing
domain file named in the data report, every metrics file and the leaderboard, with the means over the domains
present; one-line errors; the real release files where RMBENCH_ROOT points at them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from rmeval.benchmarks import build_benchmark
from rmeval.data.schema import DataError

M = {"n_boot": 200, "ci_level": 0.95, "seed": 0, "bootstrap": "cluster"}
RELEASE = {"chat": "alpacaeval", "code": "bigcode/humanevalpack", "safety-refuse": "xstest-should-refuse",
           "safety-response": "xstest-should-respond"}


def release_record(uid: int, domain: str, chosen: tuple, rejected: tuple) -> dict:
    """A record as the release's files hold it: no ``domain`` field, a ``subset``; response lengths as given."""
    return {"id": uid, "prompt": f"{domain} prompt {uid}", "chosen": ["c" * n for n in chosen],
            "rejected": ["r" * n for n in rejected], "subset": RELEASE[domain]}


def release_folder(root: Path) -> dict[str, list]:
    """chat (ids 1, 2), code (ids 1, 2: the same ids, as in the release), safety-refuse (3), safety-response (4);
    no math file; a total_dataset.json beside them that the release layout ignores."""
    files = {
        "chat": [release_record(1, "chat", (2, 5, 8), (1, 4, 7)), release_record(2, "chat", (2, 5, 8), (10, 11, 12))],
        "code": [release_record(1, "code", (2, 5, 8), (1, 4, 7)), release_record(2, "code", (2, 5, 8), (1, 4, 7))],
        "safety-refuse": [release_record(3, "safety-refuse", (2, 5, 8), (1, 4, 7))],
        "safety-response": [release_record(4, "safety-response", (9, 9, 9), (1, 1, 1))],
    }
    root.mkdir(parents=True, exist_ok=True)
    for domain, records in files.items():
        (root / f"{domain}_filtered.json").write_text(json.dumps(records), encoding="utf-8")
    return files


def total_dataset(files: dict[str, list], path: Path) -> Path:
    """The same records in one file with the hub's ``domain`` field (total_dataset.json's schema)."""
    path.write_text(json.dumps([{**r, "domain": d} for d, recs in files.items() for r in recs]), encoding="utf-8")
    return path


def rmbench():
    return build_benchmark({"_target_": "rmeval.benchmarks.rmbench.RMBenchBenchmark", "name": "rmbench", "version": "2"})


def length_scores(texts: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"text_id": texts["text_id"], "score": texts["response"].str.len().astype(float),
                         "n_tokens": 1, "truncated": False})


def test_release_folder_golden_and_missing_math(tmp_path):
    """Length RM. Matrix A = [[1,0,0],[1,1,0],[1,1,1]] (chosen 2,5,8 vs rejected 1,4,7): chat = (A + 0)/2 (its second
    prompt's rejected are all longer), code = A, safety = (A + ones)/2 (refuse: A; response: 9 > 1 everywhere).
    Chat 1/3, Code 2/3, Safety (6/9 + 1)/2 = 5/6; no Math: Average = mean of the three = (1/3 + 2/3 + 5/6)/3;
    Hard = mean over the three of the upper triangles = (0 + 0 + 1/2)/3."""
    from rmeval.metrics import rm_metrics

    files = release_folder(tmp_path / "data")
    total_dataset(files, tmp_path / "data" / "total_dataset.json")
    bench = rmbench()
    items, texts, report = bench.load(str(tmp_path / "data"))
    assert report["prompts_per_domain"] == {"chat": 2, "code": 2, "safety-refuse": 1, "safety-response": 1}
    assert report["missing_files"] == [{"file": "math_filtered.json", "domain": "Math", "scenario": "math"}]
    assert report["missing_domains"] == ["Math"] and report["ignored_files"] == ["total_dataset.json"]
    assert len(items) == 6 * 9 and items["item_id"].is_unique  # chat and code share ids 1 and 2
    assert {"rmbench-chat-1-c0r0", "rmbench-code-1-c0r0"} <= set(items["item_id"])

    result = rm_metrics(bench, items, report, "length", M, scores=length_scores(texts))
    head = {k: v["accuracy"] for k, v in result["headline"]["values"].items()}
    assert head["Chat"] == pytest.approx(1 / 3) and head["Code"] == pytest.approx(2 / 3) and head["Safety"] == pytest.approx(5 / 6)
    assert head["Math"] is None and result["headline"]["values"]["Math"]["n_items"] == 0
    assert head["Average"] == pytest.approx((1 / 3 + 2 / 3 + 5 / 6) / 3)
    assert head["Hard"] == pytest.approx(0.5 / 3) and head["Easy"] == pytest.approx((0.5 + 1 + 1) / 3)
    assert result["average_over"] == ["Chat", "Code", "Safety"] and result["domains_missing"] == ["Math"]
    # every metrics file names the missing file (data block and provenance)
    assert result["data"]["missing_files"][0]["file"] == "math_filtered.json"
    assert result["provenance"]["missing_files"][0]["file"] == "math_filtered.json"
    lo, hi = result["ci"]["Average"]
    assert lo <= head["Average"] <= hi

    notes = bench.notes([result])
    assert any("math_filtered.json (Math)" in n for n in notes)
    assert any("means over the 3 domains present (Chat, Code, Safety)" in n for n in notes)
    # the paired tests' columns: the domains present, and the same values
    from rmeval.metrics import item_outcomes

    out = item_outcomes(items, dict(zip(texts["text_id"], texts["response"].str.len().astype(float))))
    cols = {c.name: c for c in bench.significance_columns(items)}
    assert list(cols) == ["Chat", "Code", "Safety", "Hard", "Normal", "Easy", "Average"]
    for name, col in cols.items():
        assert col.value(out) == pytest.approx(head[name], abs=1e-12), name


def test_leaderboard_says_the_average_is_incomplete(tmp_path):
    from rmeval.metrics import rm_metrics

    release_folder(tmp_path)
    bench = rmbench()
    items, texts, report = bench.load(str(tmp_path))
    result = rm_metrics(bench, items, report, "length", M, scores=length_scores(texts))
    frame, md = bench.leaderboard([result])
    assert frame["complete"].tolist() == [False]
    assert "math_filtered.json (Math)" in md and "| 1 | length |" in md
    assert "| – |" in md  # the Math cell is empty, never a number


def test_total_dataset_gives_the_same_items_as_the_release_folder(tmp_path):
    files = release_folder(tmp_path / "data")
    folder_items, folder_texts, _ = rmbench().load(str(tmp_path / "data"))
    total_items, total_texts, report = rmbench().load(str(total_dataset(files, tmp_path / "total_dataset.json")))
    assert report["missing_files"] == [] and report["missing_domains"] == ["Math"]  # no file to name: the domain is named
    keep = ["item_id", "goal", "scenario", "prompt_id", "chosen_id", "chosen_style", "rejected_style"]
    assert folder_items[keep].equals(total_items[keep])
    assert set(folder_texts["text_id"]) == set(total_texts["text_id"])


def test_a_single_release_file_takes_its_domain_from_its_name(tmp_path):
    files = release_folder(tmp_path)
    items, _, report = rmbench().load(str(tmp_path / "code_filtered.json"))
    assert set(items["goal"]) == {"Code"} and report["prompts_per_domain"] == {"code": len(files["code"])}


@pytest.mark.parametrize("file,change,expected", [
    ("chat_filtered.json", {"domain": "code"}, r"chat_filtered.json: record 0 \(id=1\): field 'domain': 'code' disagrees with its file"),
    ("code_filtered.json", {"id": 2}, r"code_filtered.json: record 1 \(id=2\): field 'id': duplicate id '2' in domain code \(first seen in code_filtered.json record 0\)"),
    ("chat_filtered.json", {"chosen": ["a", "b"]}, r"chat_filtered.json: record 0 \(id=1\): field 'chosen': expected 3 responses"),
    ("safety-refuse_filtered.json", {"rejected": ["a", "", "c"]}, r"safety-refuse_filtered.json: record 0 \(id=3\): field 'rejected\[1\]': empty response"),
    ("chat_filtered.json", {"prompt": None}, r"chat_filtered.json: record 0 \(id=1\): field 'prompt': null"),
])
def test_bad_release_records_fail_with_one_line(tmp_path, file, change, expected):
    release_folder(tmp_path)
    path = tmp_path / file
    records = json.loads(path.read_text())
    records[0] = {**records[0], **change}
    path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(DataError, match=expected) as err:
        rmbench().load(str(tmp_path))
    assert "\n" not in str(err.value)


def test_an_unknown_domain_file_is_named(tmp_path):
    release_folder(tmp_path)
    (tmp_path / "poetry_filtered.json").write_text("[]", encoding="utf-8")
    with pytest.raises(DataError, match=r"poetry_filtered.json: record \?: field '<file name>': unknown RM-Bench domain file"):
        rmbench().load(str(tmp_path))


# ------------------------------------------------------------------------------------------- the release files
def test_release_files():
    """The copy in RMBENCH_ROOT (THU-KEG/RM-Bench data/ at 73c52d7 without math_filtered.json): 129 / 228 / 284 / 157
    prompts (chat, code, safety-refuse, safety-response), 9 pairs each, math reported missing."""
    root = os.environ.get("RMBENCH_ROOT")
    if not root or not (Path(root) / "chat_filtered.json").is_file():
        pytest.skip("RMBENCH_ROOT not set or not RM-Bench's data/ folder: the release is not available here")
    from rmeval.config import compose_benchmark

    bench = build_benchmark(compose_benchmark("rmbench", [f"benchmark.root={root}"]))
    items, _, report = bench.load(bench.source().path)
    counts = {"chat": 129, "code": 228, "safety-refuse": 284, "safety-response": 157}
    assert report["prompts_per_domain"] == counts and report["n_prompts"] == sum(counts.values())
    assert items.groupby("scenario").size().to_dict() == {k: 9 * v for k, v in counts.items()}
    assert items.groupby(["source_file", "source_index"]).size().eq(9).all() and items["item_id"].is_unique
    assert items["prompt_id"].nunique() == 796  # two safety-refuse prompts appear twice, with different responses
    if not (Path(root) / "math_filtered.json").exists():
        assert [m["file"] for m in report["missing_files"]] == ["math_filtered.json"] and report["missing_domains"] == ["Math"]
