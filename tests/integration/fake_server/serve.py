"""A fake OpenAI-compatible judge server, run as a command by the managed-server tests:
python serve.py PORT [DELAY_S]. /health answers 200 only DELAY_S seconds after start (like a model loading);
/v1/chat/completions always answers the verdict [[A]]; the process writes its pid to stdout."""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: the shared chat-completion body
from helpers import chat_completion  # noqa: E402

PORT = int(sys.argv[1])
READY_AT = time.monotonic() + (float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, code, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self._send(200 if time.monotonic() >= READY_AT else 503, {})
        else:
            self._send(404, {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(length) or b"{}")
        self._send(200, chat_completion(req.get("model", "fake"), "A is better. [[A]]"))


print(os.getpid(), flush=True)
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
