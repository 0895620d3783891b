"""Result files get the permissions an ordinary write would (0666 less the umask), not a temporary file's 0600
(issue 26, item 5: results were written -rw-------)."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from rmeval.io import atomic_path, current_umask


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_an_atomic_write_respects_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert current_umask() == umask and current_umask() == umask  # reading it does not change it
        with atomic_path(tmp_path / "board.md") as tmp:
            tmp.write_text("| rank |\n", encoding="utf-8")
        with atomic_path(tmp_path / "scores.parquet") as tmp:
            pd.DataFrame({"score": [1.0]}).to_parquet(tmp)
    finally:
        os.umask(old)
    for name in ("board.md", "scores.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
