"""Stages that do not score leave torch and transformers alone: importing them, and running them on a tiny benchmark,
in a fresh interpreter (the CPU scoring switches are applied where an RM is built, not by the entry wrapper)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
LIGHT_STAGES = ["leaderboard", "correlation", "plots", "metrics", "significance", "site", "run_config"]
HEAVY = ("torch", "transformers")

# Imports the stages one by one and names the first that pulled in a heavy package.
IMPORT_CHECK = """
import importlib, json, sys
culprits = {}
for stage in STAGES:
    importlib.import_module("rmeval.stages." + stage)
    heavy = [m for m in HEAVY if m in sys.modules and m not in culprits]
    culprits.update({m: stage for m in heavy})
print(json.dumps(culprits))
"""

# Runs each stage's entry point as `python -m rmeval.stages.<stage> <overrides>` would, then lists heavy packages.
RUN_STAGES = """
import importlib, json, sys
for stage, overrides in json.loads(sys.argv[1]):
    sys.argv = [stage, *overrides]
    importlib.import_module("rmeval.stages." + stage).main()
print(json.dumps([m for m in HEAVY if m in sys.modules]))
"""


def _python(code: str, *args: str, cwd: Path) -> str:
    env = {**os.environ, "RMEVAL_CONF_DIR": str(ROOT / "conf"), "PYTHONPATH": os.pathsep.join(sys.path)}
    prelude = f"STAGES = {LIGHT_STAGES!r}; HEAVY = {HEAVY!r}\n"
    proc = subprocess.run([sys.executable, "-c", prelude + code, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout.strip().splitlines()[-1]


def test_importing_the_light_stages_imports_no_torch(tmp_path):
    culprits = json.loads(_python(IMPORT_CHECK, cwd=tmp_path))
    assert culprits == {}, f"importing these stages imported: {culprits}"


def _example_inputs(tmp_path: Path) -> dict[str, str]:
    """The shipped example benchmark's items, texts and report, and score files of two length-based RMs."""
    from rmeval.benchmarks import build_benchmark
    from rmeval.config import compose
    from rmeval.io import write_json
    from rmeval.scoring import write_scores

    bench = build_benchmark(compose(["benchmark=example"]).benchmark)
    items, texts, report = bench.load(bench.source().path)
    paths = {"items": tmp_path / "items.parquet", "texts": tmp_path / "texts.parquet", "report": tmp_path / "report.json"}
    items.to_parquet(paths["items"])
    texts.to_parquet(paths["texts"])
    write_json(report, str(paths["report"]))
    for rm, sign in (("longer", 1.0), ("shorter", -1.0)):
        scores = pd.DataFrame({"text_id": texts["text_id"], "score": sign * texts["response"].str.len().astype(float),
                               "n_tokens": 0, "truncated": False})
        write_scores(scores, {"rm": rm}, tmp_path / f"{rm}.parquet")
    return {k: str(v) for k, v in paths.items()}


def test_metrics_significance_and_leaderboard_jobs_import_no_torch(tmp_path):
    p = _example_inputs(tmp_path)
    common = ["benchmark=example", "metrics.n_boot=20"]
    jobs = [("metrics", [*common, f"++io.rm={rm}", f"++io.items={p['items']}", f"++io.scores={tmp_path / rm}.parquet",
                         f"++io.data_report={p['report']}", f"++io.texts={p['texts']}", f"++io.out={tmp_path / rm}.json"])
            for rm in ("longer", "shorter")]
    jobs += [
        ("significance", [*common, f"++io.items={p['items']}", f"++io.scores=[{tmp_path}/longer.parquet,{tmp_path}/shorter.parquet]",
                          f"++io.out={tmp_path}/significance.csv", f"++io.md={tmp_path}/significance.md"]),
        ("leaderboard", [*common, f"++io.metrics=[{tmp_path}/longer.json,{tmp_path}/shorter.json]",
                         f"++io.significance={tmp_path}/significance.csv", f"++io.csv={tmp_path}/board.csv", f"++io.md={tmp_path}/board.md"]),
        ("leaderboard", [*common, "++io.all=true", f"++io.metrics=[{tmp_path}/longer.json,{tmp_path}/shorter.json]",
                         f"++io.csv={tmp_path}/all.csv", f"++io.md={tmp_path}/all.md"]),
    ]
    heavy = json.loads(_python(RUN_STAGES, json.dumps(jobs), cwd=tmp_path))
    assert heavy == [], f"a metrics, significance or leaderboard job imported {heavy}"
    board = pd.read_csv(tmp_path / "board.csv")
    assert len(board) == 2 and (tmp_path / "all.csv").is_file()
    assert "| longer | shorter |" in (tmp_path / "significance.md").read_text()  # the CSV's table, for reading
