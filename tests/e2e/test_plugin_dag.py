"""Adding a benchmark is one module + one YAML, adding an RM family one module + its YAML: a throwaway benchmark and a
throwaway family, written to a temp dir and never to the project, run through the smoke DAG.

The modules register themselves (``BENCHMARKS.register()``, ``RM_FAMILIES.register()``) when the YAML's ``_target_``
names them; the conf/ tree is a copy with the two new YAMLs added (``RMEVAL_CONF_DIR``), and the modules are found on
``PYTHONPATH``. Nothing else is edited: no list, schema map or rule names them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

BENCH_MODULE = '''
"""A toy benchmark read from a CSV of (question, better, worse): a pairwise item per row, grouped by topic."""
from dataclasses import dataclass

from rmeval.benchmarks.base import BENCHMARKS, LOCAL, Benchmark, BenchmarkConfig, Source
from rmeval.data.schema import finalize_items, finalize_texts
from rmeval.ids import prompt_id, text_id


@dataclass
class QuizConfig(BenchmarkConfig):
    path: str = "???"  # the CSV file
    min_words: int = 0  # rows whose better answer is shorter are skipped


@BENCHMARKS.register()
class QuizBenchmark(Benchmark):
    Config = QuizConfig
    headline_columns = ("Accuracy",)
    primary = "Accuracy"

    def source(self):
        return Source(LOCAL, self.config.path)

    def read(self, root):
        import pandas as pd

        rows = pd.read_csv(root)
        items, texts = [], {}
        for i, row in rows.iterrows():
            if len(str(row.better).split()) < self.config.min_words:
                continue
            conv = [{"role": "user", "content": str(row.question)}]
            pid = prompt_id(conv)
            ids = []
            for resp in (str(row.better), str(row.worse)):
                tid = text_id(conv, resp)
                ids.append(tid)
                texts[tid] = {"text_id": tid, "prompt_id": pid, "conversation": conv, "response": resp,
                              "source_model": None, "judge_score": None}
            items.append({"item_id": f"{self.name}-{i}", "benchmark": self.name, "format": "pairwise", "goal": "all",
                          "task": str(row.topic), "scenario": str(row.topic), "prompt_id": pid, "chosen_id": ids[0],
                          "rejected_ids": ids[1:], "chosen_model": None, "rejected_models": [None],
                          "chosen_score": None, "rejected_scores": [None], "source_file": str(root), "source_index": i})
        report = {"root": str(root), "missing_files": []}
        return finalize_items(pd.DataFrame(items)), finalize_texts(pd.DataFrame(list(texts.values()))), report
'''

FAMILY_MODULE = '''
"""A toy RM family: counts a chosen word in the response (a keyword-matching baseline)."""
from dataclasses import dataclass

import numpy as np

from rmeval.rms.base import RM_FAMILIES, BaseRMConfig, Encoded, PointwiseRM


@dataclass
class KeywordRMConfig(BaseRMConfig):
    keyword: str = "because"
    weight: float = 1.0


@RM_FAMILIES.register()
class KeywordRM(PointwiseRM):
    Config = KeywordRMConfig

    def __init__(self, config=None, **given):
        from rmeval.config.fields import settings

        self.config = settings(KeywordRMConfig, config, given, "KeywordRM")
        self.name = self.config.name

    def fingerprint(self):
        return {"family": "keyword", "keyword": self.config.keyword, "weight": self.config.weight}

    def encode(self, text_id, conversation, response):
        return Encoded(payload=response.lower().count(self.config.keyword), n_tokens=0)

    def score_batch(self, batch):
        return np.asarray([self.config.weight * enc.payload for enc in batch], dtype=np.float64)
'''

ROWS = [  # the better answer explains itself ("because"): the keyword RM gets every item right
    ("Why is the sky blue?", "It is blue because air scatters blue light most.", "It just is.", "science"),
    ("Why do leaves fall?", "They fall because trees shed them to save water.", "Autumn.", "science"),
    ("Why save money?", "Save because emergencies happen.", "Spend it all.", "finance"),
    ("Why diversify?", "Diversify because single assets are risky.", "Pick one stock.", "finance"),
]


def test_a_new_benchmark_and_rm_family_run_without_editing_the_project(project_root, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "quiz_bench.py").write_text(textwrap.dedent(BENCH_MODULE))
    (plugins / "keyword_rm.py").write_text(textwrap.dedent(FAMILY_MODULE))
    pd.DataFrame(ROWS, columns=["question", "better", "worse", "topic"]).to_csv(tmp_path / "quiz.csv", index=False)

    conf = tmp_path / "conf"
    shutil.copytree(project_root / "conf", conf)
    (conf / "benchmark" / "quiz.yaml").write_text(
        f"_target_: quiz_bench.QuizBenchmark\nname: quiz\nversion: '1'\npath: {tmp_path / 'quiz.csv'}\nmin_words: 2\n")
    (conf / "rm" / "keyword.yaml").write_text("_target_: keyword_rm.KeywordRM\nname: keyword\nkeyword: because\n")

    env = {**os.environ, "RMEVAL_CONF_DIR": str(conf),
           "PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])}
    workdir = tmp_path / "run"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(project_root / "Snakefile"), "--directory", str(workdir),
           "--cores", "2", "--config", "overrides=[experiment=smoke,benchmarks.names=[quiz],rms.names=[random,length,keyword]]"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]

    board = pd.read_csv(workdir / "results/runs/smoke/leaderboard/quiz.csv")
    assert set(board["rm"]) == {"random", "length", "keyword"}
    keyword = json.loads((workdir / "results/metrics/quiz/keyword.json").read_text())
    assert keyword["n_items"] == len(ROWS)
    assert keyword["headline"]["values"]["Accuracy"]["accuracy"] == 1.0
    scores = pd.read_parquet(workdir / "results/scores/quiz/keyword.parquet")
    assert len(scores) == 2 * len(ROWS) and set(scores["score"]) == {0.0, 1.0}

    # A typo in the new family's YAML fails the dry run with one line naming the file and the key.
    (conf / "rm" / "keyword.yaml").write_text("_target_: keyword_rm.KeywordRM\nname: keyword\nkeywrd: because\n")
    proc = subprocess.run([*cmd, "-n"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode != 0
    assert "keyword.yaml" in proc.stderr + proc.stdout and "keywrd" in proc.stderr + proc.stdout
