"""The 2025 reporting suite (conf/benchmarks/suite.yaml): `benchmarks=suite` schedules the seven benchmarks, and the
smoke RMs (the baselines, the tiny classifier and DPO pair, the tiny pairwise judge) run through all seven from
small local copies in each benchmark's own release or hub schema, to the cross-benchmark leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from test_rewardbench_dag import v1_rows, v2_rows  # same folder
from test_smoke_dag import planned_jobs, snakemake

pytestmark = pytest.mark.e2e

SUITE = ["rmb", "rewardbench", "rewardbench2", "rmbench", "judgebench", "ppe_preference", "ppe_correctness"]


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def local_copies(root: Path) -> dict[str, Path]:
    """A few records of every suite benchmark, in its own schema; the better response is the longer one."""
    from rmeval.benchmarks.judgebench import SPLIT_FILES
    from rmeval.data.fixture import write_smoke_fixture

    roots = {"rmb": root / "rmb"}
    write_smoke_fixture(roots["rmb"], seed=0, items_per_scenario=2)
    roots["rewardbench"] = jsonl(root / "rewardbench.jsonl", v1_rows())
    roots["rewardbench2"] = jsonl(root / "rewardbench2.jsonl", v2_rows())
    roots["rmbench"] = root / "rmbench"
    subsets = {"chat": "alpacaeval", "code": "hep-python", "math": "math-prm", "safety-refuse": "xstest-should-refuse",
               "safety-response": "xstest-should-respond"}
    for i, (domain, subset) in enumerate(subsets.items()):
        records = [{"id": f"{domain}-{k}", "subset": subset, "prompt": f"{domain} question {k}",
                    "chosen": [f"a correct answer {k} " * n for n in (1, 3, 5)],
                    "rejected": [f"wrong {k} " * n for n in (1, 2, 4)]} for k in range(2)]
        roots["rmbench"].mkdir(parents=True, exist_ok=True)
        (roots["rmbench"] / f"{domain}_filtered.json").write_text(json.dumps(records), encoding="utf-8")
    sources = ["mmlu-pro-law", "livebench-reasoning", "livebench-math", "livecodebench"]
    pairs = [{"pair_id": f"p{i}", "original_id": str(i), "source": src, "question": f"question {i}?",
              "response_model": "gpt-4o-2024-05-13", "response_A": f"the right answer {i} " * (1 + i % 2),
              "response_B": f"wrong {i}", "label": "A>B"} for i, src in enumerate(sources * 2)]
    roots["judgebench"] = root / "judgebench"
    jsonl(roots["judgebench"] / SPLIT_FILES["gpt"], pairs)
    flags = {"hard_prompt": True, "easy_prompt": False, "if_prompt": False, "math_prompt": False, "is_code": False}
    battles = [{"question_id": f"b{i}", "model_a": "ma", "model_b": "mb", "winner": "model_a" if i % 3 else "model_b",
                "prompt": f"question {i}", "response_1": f"a long careful answer {i} " * 3, "response_2": f"short {i}",
                "language": "English", **flags} for i in range(6)]
    roots["ppe_preference"] = jsonl(root / "ppe_preference.jsonl", battles)
    roots["ppe_correctness"] = root / "ppe_correctness"
    for key in ("mmlu_pro", "math", "gpqa", "ifeval", "mbpp_plus"):
        sets = [{"question_id": f"{key}-{q}", "model_name": "policy", "prompt": f"{key} problem {q}",
                 "scores": [True, False, False], "sampled_conflict_pairs": [[0, 1], [0, 2]],
                 "response_1": f"the correct solution {q} " * 3, "response_2": f"wrong {q}", "response_3": f"no {q}"}
                for q in range(2)]
        jsonl(roots["ppe_correctness"] / f"{key}.jsonl", sets)
    return roots


def suite_overrides(roots: dict[str, Path], *extra: str) -> str:
    given = [f"++benchmark_overrides.{name}.root={path}" for name, path in roots.items()]
    given.append("++benchmark_overrides.rmb.check_manifest=false")
    cheap = ["metrics.n_boot=50", "correlation.n_boot=50"]  # the numbers are not what this test checks
    return "[" + ",".join(["experiment=smoke", "benchmarks=suite", "run=suite", *cheap, *given, *extra]) + "]"


def test_the_suite_schedules_all_seven_benchmarks(project_root, tmp_path):
    jobs = planned_jobs(snakemake(project_root, tmp_path, "-n", overrides="[benchmarks=suite,rms=cpu]"))
    assert jobs["data"] == 7 and jobs["leaderboard"] == 7 and jobs["leaderboard_all"] == 1
    assert jobs["metrics"] == 7 * 5  # five CPU RMs on each


def test_the_smoke_rms_run_through_all_seven(project_root, tmp_path):
    roots = local_copies(tmp_path / "copies")
    boards = [f"results/runs/suite/leaderboard/{name}.md" for name in [*SUITE, "all"]]  # no plots or site: other tests draw them
    snakemake(project_root, tmp_path, *boards, overrides=suite_overrides(roots))
    board = pd.read_csv(tmp_path / "results/runs/suite/leaderboard/all.csv")
    assert set(board["rm"]) == {"random", "length", "tiny-classifier", "tiny-dpo", "tiny-judge"}
    assert set(SUITE) <= set(board.columns)
    for name in SUITE:
        assert (tmp_path / f"results/runs/suite/leaderboard/{name}.md").stat().st_size > 0, name
        length = json.loads((tmp_path / f"results/metrics/{name}/length.json").read_text())
        primary = length["headline"]["primary"]
        assert length["headline"]["values"][primary]["accuracy"] is not None, name
    judge = json.loads((tmp_path / "results/metrics/ppe_correctness/tiny-judge.json").read_text())
    assert judge["headline"]["values"]["Best-of-K"]["accuracy"] is None  # a judge gets the pairs only
    assert judge["judge"]["n_comparisons"] == 2 * 5 * 2 * 2  # both orders of 5 sources x 2 sets x 2 pairs
    rb2 = json.loads((tmp_path / "results/metrics/rewardbench2/tiny-judge.json").read_text())
    assert rb2["headline"]["values"]["Ties"]["accuracy"] is None  # a pairwise judge plays knockouts, Ties needs scores
    assert rb2["judge"]["n_comparisons"] == 5 * 3 * 3 * 2  # 5 domains x 3 prompts x 3 rejected x 2 orders
    md = (tmp_path / "results/runs/suite/leaderboard/all.md").read_text()
    assert "Counted in the mean rank although below" in md  # the smoke experiment counts small benchmarks
