"""The managed inference server (rmeval.llm.server) with a fake server command: it starts, is waited for, serves a
pairwise judge's comparisons, and is always stopped (after success, after an error inside the job)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pandas as pd
import pytest

from rmeval.llm.server import ManagedServer, ServerError, healthy, managed_server
from rmeval.rms.judge import PairwiseJudgeRM

SERVE = str(Path(__file__).parent / "fake_server" / "serve.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _spec(port: int, delay: float = 0.5, **extra) -> dict:
    return {"command": [sys.executable, SERVE, str(port), str(delay)], "health_url": f"http://127.0.0.1:{port}/health",
            "poll_s": 0.1, "startup_timeout_s": 20, **extra}


def test_judge_runs_against_a_managed_server_which_is_then_stopped(tmp_path):
    port = _free_port()
    texts = pd.DataFrame({"text_id": ["c", "r"], "conversation": [[{"role": "user", "content": "q"}]] * 2,
                          "response": ["good", "bad"]})
    items = pd.DataFrame({"item_id": ["i1"], "chosen_id": ["c"], "rejected_ids": [["r"]], "chosen_positions": [["B"]]})
    backend = {"_target_": "rmeval.llm.openai_compat.OpenAICompatBackend", "name": "local", "model": "fake",
               "base_url": f"http://127.0.0.1:{port}/v1", "api_key_env": None, "max_retries": 0}
    with managed_server(_spec(port, log_path=str(tmp_path / "server.log")), "local-judge") as server:
        pid = server.process.pid
        assert healthy(f"http://127.0.0.1:{port}/health")
        comparisons = PairwiseJudgeRM(name="local-judge", backend=backend).compare(items, texts, progress=False)
    assert comparisons["verdict"].tolist() == ["A"] and not comparisons["chosen_won"].iloc[0]  # chosen was shown as B
    assert not _alive(pid) and not healthy(f"http://127.0.0.1:{port}/health")


def test_server_is_stopped_when_the_job_fails():
    port = _free_port()
    with pytest.raises(RuntimeError, match="job failed"):
        with ManagedServer(**_spec(port, delay=0.0)) as server:
            pid = server.process.pid
            raise RuntimeError("job failed")
    assert not _alive(pid)


def test_early_exit_and_timeout_are_one_line_errors(tmp_path):
    with pytest.raises(ServerError, match=r"exited with code 3 before it became healthy; log .*: boom"):
        with ManagedServer(command=[sys.executable, "-c", "print('boom'); raise SystemExit(3)"],
                           health_url=f"http://127.0.0.1:{_free_port()}/health", poll_s=0.05):
            pass
    port = _free_port()
    with pytest.raises(ServerError, match=r"no healthy answer .* within 1 s \(field 'server.startup_timeout_s'\)"):
        with ManagedServer(**{**_spec(port, delay=60), "startup_timeout_s": 1}):
            pass
    assert not healthy(f"http://127.0.0.1:{port}/health")  # the slow server was stopped too
    with pytest.raises(ServerError, match="cannot start 'no-such-server-binary'"):
        ManagedServer(command="no-such-server-binary --port 1", health_url="http://127.0.0.1:1/health").start()
    with managed_server(None) as nothing:
        assert nothing is None
