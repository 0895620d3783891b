"""Helpers shared by test files (tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import contextlib
import json
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path


def chat_completion(model: str, content: str, prompt_tokens: int = 1, completion_tokens: int = 1) -> bytes:
    """The body of a minimal OpenAI chat-completions response."""
    return json.dumps({
        "id": "c", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }).encode()


#: Linux's SO_TIMESTAMPNS (asm-generic value; Python's socket module does not name it): received packets carry
#: their arrival time
SO_TIMESTAMPNS = 35 if sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64") else None


def build_tiny_bert(out: Path) -> Path:
    """A tiny random BERT encoder with the in-process tokenizer (for embedding RMs)."""
    import torch
    from transformers import BertConfig, BertModel

    from rmeval.tiny import train_tokenizer

    tok = train_tokenizer(vocab_size=512, seed=0)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    BertModel(config).eval().save_pretrained(out)
    tok.save_pretrained(out)
    return out


class ChatServer:
    """A chat-completions server on 127.0.0.1 for client tests: ``respond(body)`` decides each answer and returns
    ``(status, payload bytes)`` or ``(status, payload, headers)``; status ``RESET`` drops the connection without an
    answer (a TCP reset). The server owns threads, headers and shutdown, and records every request's arrival
    (``arrivals``: (time, last message content)): on Linux the time the kernel received the request's first bytes
    (SO_TIMESTAMPNS, so a busy machine's thread start-up does not count), else when its handler read it."""

    RESET = "reset"

    def __init__(self, respond):
        import socket
        import struct
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self
        self.arrivals: list[tuple[float, str]] = []
        self._arrivals_lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def setup(self):
                super().setup()
                self.received_at = server._first_bytes_at(self.connection)  # one request per connection (HTTP/1.0)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                at, self.received_at = self.received_at or time.time(), None
                with server._arrivals_lock:
                    server.arrivals.append((at, body["messages"][-1]["content"]))
                answer = respond(body)
                code, payload = answer[0], answer[1]
                headers = answer[2] if len(answer) > 2 else {}
                if code == ChatServer.RESET:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (OSError, ValueError):  # the connection was reset on purpose
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        try:  # inherited by the accepted connections
            self.httpd.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except (OSError, TypeError):
            pass
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def _first_bytes_at(conn) -> float | None:
        """When the kernel received the first bytes waiting on ``conn`` (peeked, so the handler still reads them)."""
        import socket
        import struct

        if SO_TIMESTAMPNS is None:
            return None
        try:
            _, ancillary, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(16), socket.MSG_PEEK)
        except OSError:
            return None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                seconds, nanoseconds = struct.unpack("qq", data[:16])
                return seconds + nanoseconds / 1e9
        return None

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FaultServer(ChatServer):
    """A ChatServer that injects faults. A request whose last message contains ``fault=<kind>:<n>`` fails its first n
    arrivals with <kind>: an HTTP status (429 comes with ``Retry-After: <retry_after>``; 401 and 400 echo
    ``echo_secret`` in the body, as some gateways echo the key), ``reset`` (connection dropped), ``slow`` (answers
    after ``slow_s``: set it above the client's timeout), ``garbage`` (200, not JSON), ``notchat`` (200, JSON but no
    choices) or ``echo`` (200, a completion that quotes ``echo_secret``). With ``storm`` > 0, any other arrival fails
    with that probability with one of 429, 500, 503 or reset, drawn from its content and attempt number (the same
    requests fail whatever the order they arrive in). Every other arrival answers
    ``verdict [[A]] for <content>``.

    ``calls`` counts arrivals per content, ``answered`` successful answers per content, ``faults`` the faults
    injected. With ``free_answers`` set, requests after that many successful answers wait for ``release`` (an Event)
    before answering; with ``hold_after`` set, every arrival after that many does (faults included): the test can
    then interrupt a client with a known set of requests in flight (``waiting``)."""

    STORM = ("429", "500", "503", "reset")

    def __init__(self, retry_after: str = "0.2", slow_s: float = 1.0, echo_secret: str = "", free_answers: int | None = None,
                 storm: float = 0.0, hold_after: int | None = None):
        import threading
        from collections import Counter

        self.calls, self.answered = Counter(), Counter()
        self.lock = threading.Lock()
        self.retry_after, self.slow_s, self.echo_secret = retry_after, slow_s, echo_secret
        self.free_answers, self.release, self.waiting, self._passed = free_answers, threading.Event(), 0, 0
        self.storm, self.hold_after, self.faults = storm, hold_after, 0
        super().__init__(self.respond)

    def _hold(self, gated: bool) -> None:
        if gated:
            with self.lock:
                self.waiting += 1
            self.release.wait(30)
            with self.lock:
                self.waiting -= 1

    def _fault(self, content: str, attempt: int) -> str | None:
        if "fault=" in content:
            kind, n = content.split("fault=")[1].split()[0].split(":")
            return kind if attempt <= int(n) else None
        import random

        rng = random.Random(f"{content}/{attempt}")
        return rng.choice(self.STORM) if rng.random() < self.storm else None

    def respond(self, body: dict):
        import time

        content = body["messages"][-1]["content"]
        with self.lock:
            self.calls[content] += 1
            attempt = self.calls[content]
            held = self.hold_after is not None and len(self.arrivals) > self.hold_after
        self._hold(held)
        kind = self._fault(content, attempt)
        if kind is not None and kind != "echo":
            with self.lock:
                self.faults += 1
            if kind == "reset":
                return ChatServer.RESET, b""
            if kind == "slow":  # the client has given up by then: not an answer
                time.sleep(self.slow_s)
                return 200, chat_completion(body["model"], "too late")
            if kind == "garbage":
                return 200, b"<html>502 bad gateway</html>"
            if kind == "notchat":
                return 200, b'{"object": "error", "detail": "upstream busy"}'
            if kind == "429":
                return 429, b'{"error": {"message": "rate limited"}}', {"Retry-After": self.retry_after}
            msg = f"denied for key {self.echo_secret}" if kind in ("401", "403", "400") else kind
            return int(kind), json.dumps({"error": {"message": msg}}).encode()
        if self.free_answers is not None and not held:
            with self.lock:
                gated = self._passed >= self.free_answers
                self._passed += not gated
            self._hold(gated)
        with self.lock:
            self.answered[content] += 1
        echo = f" (your key is {self.echo_secret})" if kind == "echo" else ""
        return 200, chat_completion(body["model"], f"verdict [[A]] for {content[:60]}{echo}", len(content.split()), 3)


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens (a port just freed): every connection is refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


_HF_MODELS: dict = {}


def hf_classifier(model_dir):
    """transformers' own AutoModelForSequenceClassification for a model folder (the reference rmeval's forwards are
    compared with), loaded once per folder, float32."""
    from transformers import AutoModelForSequenceClassification

    key = str(model_dir)
    if key not in _HF_MODELS:
        _HF_MODELS[key] = AutoModelForSequenceClassification.from_pretrained(key, dtype="float32").eval()
    return _HF_MODELS[key]


def hf_alone(model_dir, ids) -> float:
    """transformers' score of one text alone in an unpadded row, read at its real last token."""
    import torch

    model = hf_classifier(model_dir)
    with torch.inference_mode():
        hidden = model.model(input_ids=torch.tensor([list(ids)])).last_hidden_state
        return float(model.score(hidden[0, -1]).squeeze())


# ------------------------------------------------------------------------------ progress of long DAG tests
PYTEST_CONFIG: list = []  # the running session's pytest config (tests/conftest.py's pytest_configure puts it here)
PROGRESS_EVERY_S = 10.0  # at most one progress line per this many seconds (and the last step)
_STEPS = re.compile(r"^(\d+) of (\d+) steps \((\d+)%\) done")
_JOB = re.compile(r"^Job (\d+): (.*)")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: ([\w-]+)\)")


def say(line: str) -> None:
    """Write one line to the terminal now, also while pytest captures the test's output and under ``-q``: the way
    pytest's own live logging writes (capture suspended through the capture manager, then the terminal reporter)."""
    config = PYTEST_CONFIG[0] if PYTEST_CONFIG else None
    if config is None or config.pluginmanager.get_plugin("terminalreporter") is None:  # outside pytest, or no terminal
        print(line, file=sys.stderr, flush=True)
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    writer = config.get_terminal_writer()
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        if writer.width_of_current_line:  # -q writes its dots without a newline: start a line of our own
            writer.line()
        writer.line(line)


def run_snakemake(cmd: list[str], timeout: float, label: str) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd)`` for a Snakemake run (stderr merged into stdout) that reports its progress while it
    runs: "<label>: 12/57 steps (21%), last: score (Scoring ...)", at most every ``PROGRESS_EVERY_S`` seconds and at
    the last step, so a test that runs a whole DAG does not sit silent for minutes."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    lines, jobs, last_rule, said = [], {}, "", float("-inf")
    try:
        for line in proc.stdout:
            lines.append(line)
            text = line.strip()
            if m := _JOB.match(text):
                jobs[m.group(1)] = m.group(2)
            elif m := _FINISHED.match(text):
                last_rule = f"{m.group(2)} ({jobs.get(m.group(1), 'job ' + m.group(1))})"
            elif (m := _STEPS.match(text)) and (time.monotonic() - said >= PROGRESS_EVERY_S or m.group(1) == m.group(2)):
                last = f", last: {last_rule}" if last_rule else ""
                say(f"  {label}: {m.group(1)}/{m.group(2)} steps ({m.group(3)}%){last}")
                said = time.monotonic()
        proc.wait()
    finally:
        timer.cancel()
    if killed.is_set():
        raise subprocess.TimeoutExpired(cmd, timeout, output="".join(lines))
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout="".join(lines), stderr="")
