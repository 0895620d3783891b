"""Progress as a few plain log lines when stderr is not a terminal (job logs), a tqdm bar on a terminal."""

from __future__ import annotations

import io
import logging

import pandas as pd

from rmeval.progress import PlainProgress, progress_bar
from rmeval.rms.baselines import LengthRM
from rmeval.scoring import score_texts


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_not_a_terminal_gives_plain_lines(monkeypatch, caplog):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    caplog.set_level(logging.INFO, logger="rmeval.progress")
    with progress_bar(1000, "rm: score", "text") as bar:
        assert isinstance(bar, PlainProgress)
        for _ in range(1000):
            bar.update(1)
    lines = [r.getMessage() for r in caplog.records]
    assert 5 <= len(lines) <= 11 and all("\r" not in line for line in lines)
    assert lines[0].startswith("rm: score: 100/1000 text (10%)") and lines[-1].startswith("rm: score: 1000/1000 text (100%)")


def test_a_terminal_gets_tqdm_and_disabled_gets_nothing(monkeypatch, caplog):
    monkeypatch.setattr("sys.stderr", Terminal())
    bar = progress_bar(10, "x", "it")
    assert type(bar).__name__ == "tqdm" and not bar.disable
    bar.close()
    caplog.set_level(logging.INFO, logger="rmeval.progress")
    with progress_bar(10, "x", "it", enabled=False) as off:
        off.update(10)
    assert not caplog.records


def test_score_log_has_no_carriage_returns(monkeypatch, caplog):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    caplog.set_level(logging.INFO, logger="rmeval.progress")
    texts = pd.DataFrame({"text_id": [f"t{i}" for i in range(300)], "conversation": [[{"role": "user", "content": "q"}]] * 300,
                          "response": ["a" * (i % 17 + 1) for i in range(300)]})
    rm = LengthRM(name="len")
    rm.max_batch_size = 10
    score_texts(rm, texts, progress=True)
    assert "\r" not in err.getvalue()
    score_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("len: score")]
    assert 1 <= len(score_lines) <= 11
