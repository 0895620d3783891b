"""Issue 25, item 11: Ctrl-C names itself in the error line, and the RMB loader's progress writes no
carriage-return fragments where stderr is not a terminal (job logs, the console error line Snakemake quotes)."""

from __future__ import annotations

import io
import json
import logging
import signal

import pytest

from rmeval.data.rmb import load_rmb
from rmeval.data.schema import DataError
from rmeval.progress import progress_iter
from rmeval.stages._entry import _run, _sigterm

PAIR = {"conversation_input": [{"role": "user", "content": "q"}],
        "chosen": {"llm_name": "a", "answer": "good"}, "reject": {"llm_name": "b", "answer": "bad"}}


class Terminal(io.StringIO):
    def isatty(self):
        return True


def _interrupted(fn, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        _run(fn, None, validated=True)
    return info.value.code, capsys.readouterr().err


def test_ctrl_c_names_itself(capsys):
    def fn(cfg):
        raise KeyboardInterrupt

    code, err = _interrupted(fn, capsys)
    assert code == 130 and err == "error: interrupted (Ctrl-C); caches keep what finished, a rerun resumes\n"


def test_sigterm_names_the_signal(capsys):
    def fn(cfg):
        _sigterm(signal.SIGTERM, None)

    code, err = _interrupted(fn, capsys)
    assert code == 130 and err.startswith(f"error: interrupted (signal {int(signal.SIGTERM)}); ")


def _release(root, n_files: int, bad_last: bool = False):
    for k in range(n_files):
        path = root / "Pairwise_set" / "Helpfulness" / "Chat" / f"s{k}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        records = [{**PAIR, "pair_uid": f"{k}-{i}", "conversation_input": [{"role": "user", "content": f"q{k}-{i}"}]}
                   for i in range(3)]
        if bad_last and k == n_files - 1:
            del records[-1]["chosen"]
        path.write_text(json.dumps(records), encoding="utf-8")


def test_rmb_loader_writes_no_carriage_returns_off_a_terminal(tmp_path, monkeypatch, caplog):
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    caplog.set_level(logging.INFO, logger="rmeval.progress")
    _release(tmp_path, 12)
    items, _, _ = load_rmb(tmp_path, check_manifest=False)
    assert len(items) == 36 and err.getvalue() == ""
    lines = [r.getMessage() for r in caplog.records]
    assert lines and lines[-1].startswith("load rmb: 12/12 file (100%)") and all("\r" not in line for line in lines)


def test_a_failed_rmb_load_leaves_the_error_on_a_clean_line(tmp_path, monkeypatch):
    _release(tmp_path, 3, bad_last=True)
    for stream in (io.StringIO(), Terminal()):
        monkeypatch.setattr("sys.stderr", stream)
        with pytest.raises(DataError) as info:
            load_rmb(tmp_path, check_manifest=False)
        print(f"error: {info.value}", file=stream)
        if isinstance(stream, Terminal):  # the bar (leave=False) cleared itself before the error line
            assert stream.getvalue().endswith(f"\rerror: {info.value}\n")
        else:
            assert stream.getvalue() == f"error: {info.value}\n"


def test_progress_iter_closes_its_bar_when_the_loop_is_left(monkeypatch):
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    with pytest.raises(ValueError):
        for _ in progress_iter(list(range(5)), "x", leave=False):
            raise ValueError
    assert stream.getvalue().endswith("\r")  # tqdm's close (leave=False) wipes the line and returns the cursor
