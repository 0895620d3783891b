"""Issue 10: a pairwise judge's comparisons split over shard jobs and merged equal the unsharded comparisons; the
merge refuses shards that do not add up, with one line naming the file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import ChatServer, chat_completion

from rmeval.benchmarks import build_benchmark
from rmeval.sharding import ShardError, merge_comparison_shards, shard_items

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture(scope="module")
def bench_files(smoke_root, tmp_path_factory):
    items, texts, _ = build_benchmark({"name": "smoke", "_target_": "rmeval.benchmarks.rmb.RMBBenchmark", "check_manifest": False,
                                       "sample": {}, "position_seed": 0}).load(smoke_root)
    out = tmp_path_factory.mktemp("bench")
    items.head(14).to_parquet(out / "items.parquet")
    texts.to_parquet(out / "texts.parquet")
    return out


def verdict_for(body) -> tuple[int, bytes]:
    """A deterministic judge: the verdict is a function of the prompt alone (as temperature 0 with a seed)."""
    digest = hashlib.sha256(body["messages"][-1]["content"].encode()).digest()[0]
    return 200, chat_completion(body["model"], ["[[A]]", "[[B]]", "[[C]]", "no verdict"][digest % 4])


def run(module: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RMEVAL_CONF_DIR": str(CONF), "PYTHONPATH": os.pathsep.join(sys.path), "OPENAI_API_KEY": "local"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_shard_items_split_every_item_once_balanced(bench_files):
    items = pd.read_parquet(bench_files / "items.parquet")
    parts = [shard_items(items, i, 3) for i in range(3)]
    assert sorted(i for p in parts for i in p["item_id"]) == sorted(items["item_id"])
    loads = [sum(len(r) for r in p["rejected_ids"]) for p in parts]
    assert max(loads) - min(loads) <= max(len(r) for r in items["rejected_ids"])
    assert [p["item_id"].tolist() for p in parts] == [shard_items(items, i, 3)["item_id"].tolist() for i in range(3)]  # deterministic
    with pytest.raises(ValueError, match="not in 0..2"):
        shard_items(items, 3, 3)


def test_sharded_comparisons_equal_unsharded(bench_files, tmp_path):
    server = ChatServer(verdict_for)
    common = ["rm=gpt4o-judge", f"rm.backend.base_url={server.url}", "rm.backend.concurrency=2", "rm.both_orders=true",
              f"++io.items={bench_files / 'items.parquet'}", f"++io.texts={bench_files / 'texts.parquet'}", "scoring.progress=false"]
    try:
        whole = tmp_path / "whole.parquet"
        proc = run("rmeval.stages.compare", [*common, f"++io.cache_dir={tmp_path / 'c0'}", f"++io.out={whole}"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        shards = []
        for i in range(2):
            shards.append(tmp_path / f"shard-{i}-of-2.comparisons.parquet")
            proc = run("rmeval.stages.compare", [*common, f"++io.shard={i}", "++io.shards=2",
                                                 f"++io.cache_dir={tmp_path / f'c{i + 1}'}", f"++io.out={shards[-1]}"], tmp_path)
            assert proc.returncode == 0, proc.stderr
            assert "shard %d of 2" % i in proc.stdout
    finally:
        server.close()
    merged = tmp_path / "merged.parquet"
    proc = run("rmeval.stages.merge_comparisons", [f"++io.items={bench_files / 'items.parquet'}",
                                                   f"++io.shards=[{shards[0]},{shards[1]}]", f"++io.out={merged}"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = pd.read_parquet(whole)
    got = pd.read_parquet(merged)
    assert len(pd.read_parquet(shards[0])) and len(pd.read_parquet(shards[1]))
    pd.testing.assert_frame_equal(got, expected)


def test_merge_refuses_shards_that_do_not_add_up(bench_files):
    items = pd.read_parquet(bench_files / "items.parquet")
    rows = lambda ids: pd.DataFrame({"item_id": ids, "verdict": ["A"] * len(ids)})  # noqa: E731
    ids = items["item_id"].tolist()
    merged = merge_comparison_shards(items, [rows(ids[1::2]), rows(ids[::2])], ["s1", "s0"])
    assert merged["item_id"].tolist() == ids  # the items' order, whatever the shards' order
    with pytest.raises(ShardError, match=r"^s1: item_id .* is also in s0"):
        merge_comparison_shards(items, [rows(ids), rows(ids[:1])], ["s0", "s1"])
    with pytest.raises(ShardError, match=r"^s0: 1 items are in no shard"):
        merge_comparison_shards(items, [rows(ids[1:])], ["s0"])
    with pytest.raises(ShardError, match=r"^s0: item_id nope is not one of this run's items"):
        merge_comparison_shards(items, [rows([*ids, "nope"])], ["s0"])
