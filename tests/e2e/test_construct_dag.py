"""Construction end to end: tiny generated policies sample the demo prompts, a point-wise judge behind a local
OpenAI-compatible server (127.0.0.1, started here) rates them, the builder applies RMB's rules, and the built
benchmark is scored and evaluated like RMB. Then a rerun after deleting outputs regenerates nothing."""

from __future__ import annotations

import json
import re
import threading

import pandas as pd
import pytest

from helpers import ChatServer, chat_completion

from rmeval.data.rmb import load_rmb
from test_smoke_dag import snakemake  # same folder

pytestmark = pytest.mark.e2e


class JudgeServer(ChatServer):
    """Answers the point-wise judge prompt with strict JSON whose score is a deterministic function of the response."""

    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()
        super().__init__(self.respond)

    def respond(self, body: dict) -> tuple[int, bytes]:
        with self.lock:
            self.calls += 1
        prompt = body["messages"][-1]["content"]
        found = re.findall(r"\[The Start of the Response\]\n(.*?)\n\[The End of the Response\]", prompt, re.S)
        response = found[-1] if found else prompt[-200:]
        score = 1.0 + 0.5 * (sum(map(ord, response)) % 9)  # 1.0 .. 5.0 in 0.5 steps, deterministic
        content = json.dumps({"key_features": ["answers the question"], "score": score})
        return 200, chat_completion(body["model"], content, 100, 20)


def test_construction_dag_builds_scores_and_resumes(project_root, tmp_path, monkeypatch):
    server = JudgeServer()
    try:
        monkeypatch.setenv("RMEVAL_JUDGE_URL", server.url)
        snakemake(project_root, tmp_path, overrides="[experiment=smoke_construct]")
        base = tmp_path / "results/construct/demo"
        prompts = pd.read_parquet(base / "prompts.parquet")
        assert len(prompts) == 24 and set(prompts["goal"]) == {"Helpfulness", "Harmlessness"}
        responses = pd.read_parquet(base / "responses/tiny-policy-a.parquet")
        assert len(responses) == 48 and responses["seed"].nunique() == 48
        judgments = pd.read_parquet(base / "judgments/local-api-judge.parquet")
        assert judgments["valid"].all() and judgments["score"].between(1, 5).all()
        items, texts, _ = load_rmb(base / "sets/smoke_construct", benchmark="smoke_construct", check_manifest=False)
        gaps = items["chosen_score"] - items["rejected_scores"].map(max)
        assert len(items) > 0 and gaps.between(0.5, 2.5).all()
        assert all(m not in r for m, r in zip(items["chosen_model"], items["rejected_models"]))
        board = pd.read_csv(tmp_path / "results/runs/smoke_construct/leaderboard/smoke_construct.csv")
        assert set(board["rm"]) == {"random", "length"}

        calls = server.calls
        (base / "judgments/local-api-judge.parquet").unlink()
        (base / "responses/tiny-policy-b.parquet").unlink()
        snakemake(project_root, tmp_path, "results/construct/demo/judgments/local-api-judge.parquet",
                  "results/construct/demo/responses/tiny-policy-b.parquet", overrides="[experiment=smoke_construct]")
        assert server.calls == calls  # every judgment came from the generation cache
        again = pd.read_parquet(base / "responses/tiny-policy-b.parquet")
        assert len(again) == 48
        assert pd.read_parquet(base / "judgments/local-api-judge.parquet").equals(judgments)
    finally:
        server.close()


def test_sharded_sampling_equals_unsharded(project_root, tmp_path):
    """sample.shards: K sample jobs on a policy's prompts, merged, give the unsharded responses (per-request seeds)."""
    target = "results/construct/demo/responses/tiny-policy-b.parquet"
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    snakemake(project_root, whole, target, overrides="[experiment=smoke_construct]")
    out = snakemake(project_root, sharded, target, overrides="[experiment=smoke_construct,++policy_overrides.tiny-policy-b.sample.shards=3]")
    assert "sample_merge" in out
    parts = sorted(p.name for p in (sharded / "results/construct/demo/responses/tiny-policy-b").glob("shard-*.parquet"))
    assert parts == [f"shard-{i}-of-3.parquet" for i in range(3)]
    pd.testing.assert_frame_equal(pd.read_parquet(sharded / target), pd.read_parquet(whole / target))
