"""A managed inference server for local judges: start the command an RM's YAML gives (``vllm serve ...``, or any
OpenAI-compatible server), wait until its health endpoint answers, run the job, and always stop it (also on errors
and Ctrl-C): the whole process group gets SIGTERM, then SIGKILL after ``stop_timeout_s``.

    server:
      command: [vllm, serve, Qwen/Qwen2-72B-Instruct, --port, "8000", --tensor-parallel-size, "4"]
      health_url: http://127.0.0.1:8000/health
      startup_timeout_s: 1800

The server's output goes to ``log_path`` (default: a temporary file), whose last lines are quoted when it exits
early or never becomes healthy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmeval.config.fields import above, at_least
from rmeval.errors import RmevalError

log = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    """A managed local inference server around the job (rmeval.llm.server): started, waited for, always stopped."""

    command: Any = "???"  # a list (or a shell-style string), e.g. [vllm, serve, Qwen/Qwen2-72B-Instruct, --port, "8000"]
    health_url: str = "???"  # e.g. http://127.0.0.1:8000/health (vLLM's)
    startup_timeout_s: float = field(default=1800.0, metadata=above(0))
    poll_s: float = field(default=2.0, metadata=above(0))
    stop_timeout_s: float = field(default=30.0, metadata=at_least(0))
    log_path: str | None = None  # the server's output; null = a temporary file (quoted in errors)
    env: dict = field(default_factory=dict)  # extra environment variables for the server (never secrets in YAML)


class ServerError(RmevalError, RuntimeError):
    """The managed server did not start or did not become healthy; the message quotes its log."""


def _tail(path: Path, n: int = 12) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-n:])


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (a URL from the project's YAML)
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


class ManagedServer:
    def __init__(self, command: str | Sequence[str], health_url: str, startup_timeout_s: float = 900.0,
                 poll_s: float = 1.0, stop_timeout_s: float = 30.0, log_path: str | None = None,
                 env: dict | None = None, name: str = "server"):
        self.command = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        if not self.command:
            raise ServerError(f"{name}: field 'server.command' is empty")
        self.health_url, self.name = health_url, name
        self.startup_timeout_s, self.poll_s, self.stop_timeout_s = float(startup_timeout_s), float(poll_s), float(stop_timeout_s)
        self.log_path = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix=f"rmeval-{name}-", suffix=".log")[1])
        self.env = {**os.environ, **{k: str(v) for k, v in (env or {}).items()}}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if healthy(self.health_url):
            raise ServerError(f"{self.name}: something already answers at {self.health_url}; stop it or change the port "
                              "(a managed server must be the one the job talks to)")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)
        except OSError as err:
            raise ServerError(f"{self.name}: cannot start {self.command[0]!r} ({err}); check field 'server.command'") from None
        finally:
            out.close()
        log.info("%s: started %s (pid %d), waiting for %s", self.name, shlex.join(self.command), self.process.pid, self.health_url)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServerError(f"{self.name}: the server exited with code {code} before it became healthy; "
                                  f"log {self.log_path}: {_tail(self.log_path)}")
            if healthy(self.health_url):
                log.info("%s: healthy after %.1f s", self.name, self.startup_timeout_s - (deadline - time.monotonic()))
                return
            time.sleep(self.poll_s)
        self.stop()
        raise ServerError(f"{self.name}: no healthy answer from {self.health_url} within {self.startup_timeout_s:.0f} s "
                          f"(field 'server.startup_timeout_s'); log {self.log_path}: {_tail(self.log_path)}")

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
        try:
            proc.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.info("%s: stopped", self.name)

    def __enter__(self) -> ManagedServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def managed_server(spec, name: str = "server") -> Iterator[ManagedServer | None]:
    """``with managed_server(cfg.rm.get("server"), cfg.rm.name):`` around a job; a null spec starts nothing."""
    if not spec:
        yield None
        return
    spec = dict(spec)
    with ManagedServer(name=name, **spec) as server:
        yield server
