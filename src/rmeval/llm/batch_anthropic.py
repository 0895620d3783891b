"""Anthropic's Message Batches for ``mode: batch`` (``batch.api: anthropic``): ``POST /v1/messages/batches`` with the
requests in the Messages API's shape, polled with ``GET /v1/messages/batches/{id}`` until ``processing_status`` is
``ended``, answers read from its ``results_url`` (JSONL: ``succeeded``, ``errored``, ``canceled`` or ``expired`` per
request). HTTP through ``httpx2`` (the transport the ``openai`` client already depends on), with the online backend's
retries on 429, 5xx and connection errors; 401/403 stop the job with one line naming the key variable. The key is
sent as ``x-api-key``. A system message becomes the ``system`` parameter; the Messages API has no ``seed``, so a
request's seed only names its cache line. Anthropic's batches carry no metadata: a batch created by a run killed
before it wrote the id to the journal cannot be found again (the window is one HTTP answer; its requests are sent
again and the warning says so).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator

from rmeval.llm.base import ChatRequest, ChatResult, scrub_secrets
from rmeval.llm.batch import BatchBackend, BatchRejectedError, BatchState, BatchTransportError, Outcome
from rmeval.llm.openai_compat import BackendAuthError, BackendConfigError

log = logging.getLogger(__name__)

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}  # stop_reason as the OpenAI word


class AnthropicBatchBackend(BatchBackend):
    api = "anthropic"
    _http = None

    @property
    def base(self) -> str:
        return (self.online.config.base_url or "https://api.anthropic.com/v1").rstrip("/")

    def http(self):
        if self._http is None:
            import httpx2

            env = self.online.config.api_key_env
            key = os.environ.get(env) if env else None
            if env and not key:
                raise BackendConfigError(f"backend {self.name}: environment variable {env} is not set (the API key is read "
                                         "from the environment only); export it")
            headers = {"anthropic-version": self.config.anthropic_version, "content-type": "application/json"}
            if key:
                headers["x-api-key"] = key
            self._http = httpx2.Client(headers=headers, timeout=self.online.config.timeout_s)
            logging.getLogger("httpx2").setLevel(logging.WARNING)
        return self._http

    def _call(self, what: str, method: str, url: str, content: bytes | None = None):
        """One HTTP call with retries; the response (2xx). 401/403 and other refusals are one line."""
        import httpx2

        c = self.online.config
        for attempt in range(1, c.max_retries + 2):
            try:
                resp = self.http().request(method, url, content=content)
            except httpx2.TransportError as err:
                status, detail, resp = None, type(err).__name__, None
            else:
                if resp.status_code < 300:
                    return resp
                status, detail = resp.status_code, scrub_secrets(resp.text[:300], self.online._secrets())
            if status in (401, 403):
                what_ = "refused the API key" if status == 401 else "denied permission"
                raise BackendAuthError(f"backend {self.name}: {self.base} {what_} (HTTP {status}) for model "
                                       f"{c.model}; check the key in ${c.api_key_env}")
            if status is not None and status != 429 and status < 500:
                raise BatchRejectedError(f"backend {self.name}: {self.base} refused to {what}: HTTP {status}: {detail}")
            if attempt > c.max_retries:
                raise BatchTransportError(f"backend {self.name}: could not {what} at {self.base} after {attempt} attempts "
                                          f"({detail}); rerun: the journal keeps every batch already submitted")
            delay = min(c.backoff_max_s, c.backoff_base_s * 2 ** (attempt - 1))
            log.info("%s: %s failed (%s); retrying in %.1f s", self.name, what, detail, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def line(self, custom_id: str, request: ChatRequest) -> dict:
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        params = {"model": self.online.config.model, "max_tokens": request.max_tokens,
                  "messages": [m for m in request.messages if m["role"] != "system"], "temperature": request.temperature}
        if system:
            params["system"] = system
        if request.top_p != 1.0:
            params["top_p"] = request.top_p
        return {"custom_id": custom_id, "params": params}

    def prepare(self, lines: list[bytes]) -> dict:
        return {}

    def create(self, lines: list[bytes], prepared: dict, ref: str) -> str:
        body = b'{"requests": [' + b",".join(line.rstrip(b"\n") for line in lines) + b"]}"
        return self._call("create a message batch", "POST", f"{self.base}/messages/batches", body).json()["id"]

    def _batch(self, batch_id: str) -> dict:
        return self._call(f"read message batch {batch_id}", "GET", f"{self.base}/messages/batches/{batch_id}").json()

    def state(self, batch_id: str) -> BatchState:
        batch = self._batch(batch_id)
        counts = batch.get("request_counts") or {}
        failed = sum(int(counts.get(k) or 0) for k in ("errored", "canceled", "expired"))
        done = int(counts.get("succeeded") or 0)
        return BatchState(ended=batch.get("processing_status") == "ended", status=str(batch.get("processing_status")),
                          completed=done, failed=failed, total=done + failed + int(counts.get("processing") or 0))

    def outcomes(self, batch_id: str) -> Iterator[Outcome]:
        url = self._batch(batch_id).get("results_url") or f"{self.base}/messages/batches/{batch_id}/results"
        for raw in self._call(f"download the results of message batch {batch_id}", "GET", url).text.splitlines():
            if raw.strip():
                yield self._outcome(json.loads(raw))

    def _outcome(self, rec: dict) -> Outcome:
        cid, result = rec.get("custom_id"), rec.get("result") or {}
        kind = result.get("type")
        if kind == "succeeded":
            message = result.get("message") or {}
            text = "".join(b.get("text", "") for b in message.get("content") or [] if b.get("type") == "text")
            usage = message.get("usage") or {}
            return Outcome(cid, ChatResult(key=cid, text=self.online._redact_key(text),
                                           finish_reason=FINISH.get(message.get("stop_reason"), message.get("stop_reason")),
                                           prompt_tokens=int(usage.get("input_tokens") or 0),
                                           completion_tokens=int(usage.get("output_tokens") or 0)))
        if kind == "errored":
            err = ((result.get("error") or {}).get("error")) or result.get("error") or {}
            return Outcome(cid, reason=f"{err.get('type', 'error')}: {str(err.get('message') or 'no message')[:200]}")
        return Outcome(cid, reason=str(kind or "no result"))

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
