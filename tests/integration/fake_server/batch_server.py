"""A fake provider on 127.0.0.1 with both batch APIs' shapes and the online chat-completions endpoint, for the batch
backend tests (rmeval.llm.batch). It answers every request the same way online and in a batch, so the two paths must
give the same comparisons table.

- ``POST /v1/chat/completions``: one answer (online).
- OpenAI: ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}/content``, ``POST /v1/batches``,
  ``GET /v1/batches/{id}``, ``GET /v1/batches`` (a list with metadata).
- Anthropic: ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``, ``GET .../{id}/results``.

A batch is ``in_progress`` for its first ``polls_to_finish`` reads, then ended (OpenAI ``completed``, Anthropic
``ended``) with its output and error files written. Faults: ``expire`` = ordinal numbers of batches (1 = the first
created) that end ``expired`` with only their first half answered; a request whose text holds ``fail=once`` fails
inside its first batch (a 500 line in the error file), ``fail=always`` in every batch; ``reject`` = ordinal numbers
of batches whose input file fails validation; ``key`` set: any request without it (``Authorization: Bearer`` or
``x-api-key``) gets 401.

Answers: ``[[A]]`` or ``[[B]]`` drawn from a hash of the prompt (the same prompt, the same verdict). Usage is counted
the way a BPE tokenizer roughly does, independently of rmeval's estimate: GPT-2's pre-tokenizer pieces (a word with
its leading space, a number of up to 3 digits, a run of punctuation), one token each plus one per further 8
characters of a long piece, and 3 tokens per message plus 3 for the reply, as OpenAI documents for chat models.
Counters: ``batches`` (created), ``batch_requests`` (requests in them), ``online_requests``, ``polls``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PIECES = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d{1,3}| ?[^\s\w]+|\s+(?!\S)|\s+")


def count_tokens(text: str) -> int:
    return sum(1 + max(0, len(p.strip()) - 1) // 8 for p in PIECES.findall(text))


def prompt_tokens(messages: list[dict]) -> int:
    return sum(3 + count_tokens(m.get("content") or "") for m in messages) + 3


def answer_for(messages: list[dict]) -> str:
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).digest()
    return f"Judged. [[{'A' if digest[0] % 2 else 'B'}]]"


class BatchServer:
    def __init__(self, polls_to_finish: int = 1, expire=(), reject=(), key: str | None = None):
        self.polls_to_finish, self.expire, self.reject, self.key = polls_to_finish, set(expire), set(reject), key
        self.files: dict[str, bytes] = {}
        self.openai: dict[str, dict] = {}  # batch id -> batch object (+ private "_lines", "_polls", "_n")
        self.anthropic: dict[str, dict] = {}
        self.batches, self.batch_requests, self.online_requests, self.polls = 0, 0, 0, 0
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}  # everything answered, online or in batches
        self.attempts: dict[str, int] = {}  # custom id -> batches it was in
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code, body, ctype="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self):
                if server.key is None:
                    return True
                given = self.headers.get("x-api-key") or (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if given == server.key:
                    return True
                self._send(401, {"error": {"type": "authentication_error", "message": "invalid x-api-key"}})
                return False

            def do_GET(self):
                if self._authorized():
                    with server.lock:
                        self._send(*server.get(self.path))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self._authorized():
                    with server.lock:
                        self._send(*server.post(self.path, body, self.headers.get("Content-Type", "")))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------ answers
    def completion(self, body: dict) -> dict:
        text = answer_for(body["messages"])
        usage = {"prompt_tokens": prompt_tokens(body["messages"]), "completion_tokens": count_tokens(text)}
        for k in usage:
            self.usage[k] += usage[k]
        return {"id": "c", "object": "chat.completion", "created": 0, "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {**usage, "total_tokens": sum(usage.values())}}

    def _fails(self, text: str, cid: str) -> bool:
        self.attempts[cid] = self.attempts.get(cid, 0) + 1
        return "fail=always" in text or ("fail=once" in text and self.attempts[cid] == 1)

    # ------------------------------------------------------------------ routes
    def post(self, path: str, raw: bytes, ctype: str):
        if path == "/v1/chat/completions":
            self.online_requests += 1
            return 200, self.completion(json.loads(raw))
        if path == "/v1/files":
            data = multipart_file(raw, ctype)
            fid = f"file-{len(self.files) + 1}"
            self.files[fid] = data
            return 200, {"id": fid, "object": "file", "bytes": len(data), "created_at": 0, "filename": "in.jsonl",
                         "purpose": "batch", "status": "processed"}
        if path == "/v1/batches":
            req = json.loads(raw)
            lines = [json.loads(x) for x in self.files[req["input_file_id"]].decode().splitlines() if x.strip()]
            self.batches += 1
            self.batch_requests += len(lines)
            bid = f"batch_{self.batches}"
            self.openai[bid] = {"id": bid, "object": "batch", "endpoint": req["endpoint"], "input_file_id": req["input_file_id"],
                                "completion_window": req["completion_window"], "status": "in_progress", "created_at": 0,
                                "metadata": req.get("metadata"), "output_file_id": None, "error_file_id": None, "errors": None,
                                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                                "_lines": lines, "_polls": 0, "_n": self.batches}
            return 200, public(self.openai[bid])
        if path == "/v1/messages/batches":
            lines = json.loads(raw)["requests"]
            self.batches += 1
            self.batch_requests += len(lines)
            bid = f"msgbatch_{self.batches}"
            self.anthropic[bid] = {"id": bid, "type": "message_batch", "processing_status": "in_progress",
                                   "request_counts": {"processing": len(lines), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
                                   "results_url": None, "_lines": lines, "_polls": 0, "_n": self.batches}
            return 200, public(self.anthropic[bid])
        return 404, {"error": {"message": f"no route {path}"}}

    def get(self, path: str):
        m = re.fullmatch(r"/v1/files/([^/]+)/content", path)
        if m:
            return 200, self.files[m[1]], "application/octet-stream"
        if path.startswith("/v1/batches?") or path == "/v1/batches":
            return 200, {"object": "list", "data": [public(b) for b in self.openai.values()], "has_more": False}
        m = re.fullmatch(r"/v1/batches/([^/?]+)", path)
        if m:
            self.polls += 1
            batch = self.openai[m[1]]
            self._advance_openai(batch)
            return 200, public(batch)
        m = re.fullmatch(r"/v1/messages/batches/([^/?]+)/results", path)
        if m:
            return 200, self.files[f"results-{m[1]}"], "application/binary"
        m = re.fullmatch(r"/v1/messages/batches/([^/?]+)", path)
        if m:
            self.polls += 1
            batch = self.anthropic[m[1]]
            self._advance_anthropic(batch)
            return 200, public(batch)
        return 404, {"error": {"message": f"no route {path}"}}

    def _advance_openai(self, batch: dict) -> None:
        batch["_polls"] += 1
        if batch["status"] != "in_progress" or batch["_polls"] < self.polls_to_finish:
            return
        lines, n = batch["_lines"], batch["_n"]
        if n in self.reject:
            batch["status"] = "failed"
            batch["errors"] = {"object": "list", "data": [{"code": "invalid_request", "line": 1, "param": "body.model",
                                                           "message": "model does not support the batch API"}]}
            return
        answered = lines[: len(lines) // 2] if n in self.expire else lines
        out, err = [], []
        for line in answered:
            body = line["body"]
            if self._fails(body["messages"][-1]["content"], line["custom_id"]):
                err.append({"id": "r", "custom_id": line["custom_id"], "response": {"status_code": 500, "request_id": "x",
                            "body": {"error": {"message": "internal error", "type": "server_error"}}}, "error": None})
            else:
                out.append({"id": "r", "custom_id": line["custom_id"], "error": None,
                            "response": {"status_code": 200, "request_id": "x", "body": self.completion(body)}})
        if n in self.expire:
            err += [{"id": "r", "custom_id": x["custom_id"], "response": None,
                     "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}
                    for x in lines[len(answered):]]
        for name, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                fid = f"file-{len(self.files) + 1}"
                self.files[fid] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[name] = fid
        batch["status"] = "expired" if n in self.expire else "completed"
        batch["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}

    def _advance_anthropic(self, batch: dict) -> None:
        batch["_polls"] += 1
        if batch["processing_status"] != "in_progress" or batch["_polls"] < self.polls_to_finish:
            return
        lines, n = batch["_lines"], batch["_n"]
        answered = lines[: len(lines) // 2] if n in self.expire else lines
        rows, counts = [], {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": len(lines) - len(answered)}
        for line in answered:
            params = line["params"]
            if self._fails(params["messages"][-1]["content"], line["custom_id"]):
                counts["errored"] += 1
                rows.append({"custom_id": line["custom_id"], "result": {"type": "errored", "error": {"type": "error",
                             "error": {"type": "api_error", "message": "internal error"}}}})
                continue
            counts["succeeded"] += 1
            done = self.completion({"messages": params["messages"], "model": params["model"]})
            rows.append({"custom_id": line["custom_id"], "result": {"type": "succeeded", "message": {
                "id": "msg", "type": "message", "role": "assistant", "model": params["model"], "stop_reason": "end_turn",
                "content": [{"type": "text", "text": done["choices"][0]["message"]["content"]}],
                "usage": {"input_tokens": done["usage"]["prompt_tokens"], "output_tokens": done["usage"]["completion_tokens"]}}}})
        rows += [{"custom_id": x["custom_id"], "result": {"type": "expired"}} for x in lines[len(answered):]]
        self.files[f"results-{batch['id']}"] = "".join(json.dumps(r) + "\n" for r in rows).encode()
        batch.update(processing_status="ended", request_counts=counts,
                     results_url=f"{self.url}/messages/batches/{batch['id']}/results")


def public(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def multipart_file(raw: bytes, ctype: str) -> bytes:
    """The bytes of the part named ``file`` of a multipart/form-data body."""
    boundary = re.search(r'boundary="?([^";]+)"?', ctype)[1].encode()
    for part in raw.split(b"--" + boundary):
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return data.removesuffix(b"\r\n")
    raise ValueError("no file part")
