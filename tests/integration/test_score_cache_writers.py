"""Issue 11, item 7: two writers on one score cache lose nothing (unique part names per writer) and reading the
parts back does not depend on their order."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd

from rmeval.rms.base import Encoded
from rmeval.scoring import ScoreCache

FP = {"rm": "w", "family": "length", "unit": "chars"}
WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from rmeval.rms.base import Encoded
    from rmeval.scoring import ScoreCache
    cache_dir, writer, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    cache = ScoreCache(cache_dir, {"rm": "w", "family": "length", "unit": "chars"})
    while time.time() < start:
        time.sleep(0.001)
    for k in range(80):
        ids = [f"{writer}-{k}-{j}" for j in range(4)]
        cache.add(ids, np.arange(4, dtype=float) + k, [Encoded(payload=None, n_tokens=j) for j in range(4)])
        cache.flush()
""")


def test_two_writers_lose_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    start = time.time() + 2.0  # both processes are importing by then; they flush in the same instants
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), w, str(start)], env=env) for w in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    cache = ScoreCache(tmp_path, FP)
    assert len(cache) == 2 * 80 * 4  # before: parts named from a directory listing overwrote each other
    assert cache.get("b-79-3") == (82.0, 3, False)
    assert len(list(cache.dir.glob("part-*.parquet"))) == 160


def write_part(directory, name, rows):
    directory.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["text_id", "score", "n_tokens", "truncated"]).to_parquet(directory / name, index=False)


def test_merge_does_not_depend_on_part_order(tmp_path):
    key = ScoreCache(tmp_path / "x", FP).key
    first = [("t1", 1.0, 5, False), ("t2", float("nan"), 5, False)]
    second = [("t1", 0.5, 5, False), ("t2", 2.0, 5, False), ("t3", 3.0, 1, True)]
    write_part(tmp_path / "x" / key, "part-00000.parquet", first)  # the old naming is still read
    write_part(tmp_path / "x" / key, "part-00001.parquet", second)
    write_part(tmp_path / "y" / key, "part-00000.parquet", second)
    write_part(tmp_path / "y" / key, "part-00001.parquet", first)
    x, y = ScoreCache(tmp_path / "x", FP), ScoreCache(tmp_path / "y", FP)
    for tid in ("t1", "t2", "t3"):
        assert x.get(tid) == y.get(tid)
    assert x.get("t1") == (0.5, 5, False) and x.get("t2") == (2.0, 5, False)  # a real score beats a NaN


def test_one_writer_never_reuses_a_part_name(tmp_path):
    cache = ScoreCache(tmp_path, FP)
    for k in range(3):
        cache.add([f"t{k}"], np.array([float(k)]), [Encoded(payload=None, n_tokens=1)])
        cache.flush()
    names = sorted(p.name for p in cache.dir.glob("part-*.parquet"))
    assert len(names) == 3 and len(set(names)) == 3
    assert len(ScoreCache(tmp_path, FP)) == 3
