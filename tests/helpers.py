"""Helpers shared by test files (tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import json
from pathlib import Path


def chat_completion(model: str, content: str, prompt_tokens: int = 1, completion_tokens: int = 1) -> bytes:
    """The body of a minimal OpenAI chat-completions response."""
    return json.dumps({
        "id": "c", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }).encode()


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
    """A chat-completions server on 127.0.0.1 for client tests: ``respond(body) -> (status, payload bytes)``
    decides each answer; the server owns threads, headers and shutdown."""

    def __init__(self, respond):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                code, payload = respond(body)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
