"""OpenAI's Batch API for ``mode: batch`` (``batch.api: openai``): the requests as a JSONL file uploaded to ``/v1/files``
(purpose ``batch``), one ``/v1/batches`` job per file over ``/v1/chat/completions`` with a 24 h completion window,
polled with ``GET /v1/batches/{id}``; answers come from its output file, failed and expired requests from its error
file. Each batch carries the journal's reference in its ``metadata``, so a batch whose id a killed run never recorded
is found again (``GET /v1/batches``). Calls go through the online backend's ``openai`` client, with its retries on
429, 5xx and connection errors, its one-line 401/403 error and its key redaction (``rmeval.llm.batch`` has the rest).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

from rmeval.llm.base import ChatRequest, ChatResult
from rmeval.llm.batch import BatchBackend, BatchRejectedError, BatchState, BatchTransportError, Outcome

log = logging.getLogger(__name__)

ENDED = {"completed", "failed", "expired", "cancelled"}


class OpenAIBatchBackend(BatchBackend):
    api = "openai"

    def _call(self, what: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` with the online backend's retries; a refusal that no retry changes is one line."""
        import openai

        c = self.online.config
        for attempt in range(1, c.max_retries + 2):
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - classified below, as the online backend does
                auth = self.online._auth_error(err)
                if auth is not None:
                    raise auth from None
                self.online._note_failure(err)  # a server that never answers stops the job with one line
                if not self.online._retryable(err):
                    status = f"HTTP {err.status_code}: " if isinstance(err, openai.APIStatusError) else ""
                    raise BatchRejectedError(f"backend {self.name}: {self.online.endpoint} refused to {what}: {status}"
                                             f"{str(err)[:300]}") from None
                if attempt > c.max_retries:
                    raise BatchTransportError(f"backend {self.name}: could not {what} at {self.online.endpoint} after "
                                              f"{attempt} attempts ({type(err).__name__}); rerun: the journal keeps "
                                              "every batch already submitted") from None
                delay = self.online._delay(err, attempt)
                log.info("%s: %s failed (%s); retrying in %.1f s", self.name, what, type(err).__name__, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def line(self, custom_id: str, request: ChatRequest) -> dict:
        body = {"model": self.online.config.model, "messages": request.messages, "max_tokens": request.max_tokens,
                "temperature": request.temperature, "top_p": request.top_p, "seed": request.seed}
        return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}

    def prepare(self, lines: list[bytes]) -> dict:
        client = self.online.client()
        uploaded = self._call("upload a batch input file", client.files.create,
                              file=("rmeval-batch.jsonl", b"".join(lines), "application/jsonl"), purpose="batch")
        return {"input_file": uploaded.id}

    def create(self, lines: list[bytes], prepared: dict, ref: str) -> str:
        client = self.online.client()
        batch = self._call("create a batch", client.batches.create, input_file_id=prepared["input_file"],
                           endpoint="/v1/chat/completions", completion_window="24h", metadata={"rmeval_ref": ref})
        return batch.id

    def find(self, ref: str, prepared: dict) -> str | None:
        page = self._call("list batches", self.online.client().batches.list, limit=100)
        for batch in page.data:
            if (batch.metadata or {}).get("rmeval_ref") == ref:
                return batch.id
        return None

    def state(self, batch_id: str) -> BatchState:
        batch = self._call(f"read batch {batch_id}", self.online.client().batches.retrieve, batch_id)
        counts = batch.request_counts
        rejected = None
        if batch.status == "failed":
            errors = list(getattr(batch.errors, "data", None) or [])
            first = errors[0] if errors else None
            rejected = ("its input file failed validation" if first is None else
                        f"line {first.line}: {first.code}: {first.message}" + (f" ({len(errors)} errors)" if len(errors) > 1 else ""))
        return BatchState(ended=batch.status in ENDED, status=batch.status, completed=getattr(counts, "completed", 0) or 0,
                          failed=getattr(counts, "failed", 0) or 0, total=getattr(counts, "total", 0) or 0, rejected=rejected)

    def outcomes(self, batch_id: str) -> Iterator[Outcome]:
        client = self.online.client()
        batch = self._call(f"read batch {batch_id}", client.batches.retrieve, batch_id)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = self._call(f"download file {file_id} of batch {batch_id}", client.files.content, file_id)
            for raw in content.text.splitlines():
                if raw.strip():
                    yield self._outcome(json.loads(raw))

    def _outcome(self, rec: dict) -> Outcome:
        cid, response, error = rec.get("custom_id"), rec.get("response") or {}, rec.get("error")
        body = response.get("body") or {}
        if response.get("status_code") == 200 and not error:
            try:
                choice = body["choices"][0]
                text = choice["message"]["content"]
                if text is None:
                    raise ValueError("no message content")
            except (KeyError, IndexError, TypeError, ValueError) as err:
                return Outcome(cid, reason=f"the answer is not a chat completion ({type(err).__name__}: {err})")
            usage = body.get("usage") or {}
            return Outcome(cid, ChatResult(key=cid, text=self.online._redact_key(text), finish_reason=choice.get("finish_reason"),
                                           prompt_tokens=int(usage.get("prompt_tokens") or 0),
                                           completion_tokens=int(usage.get("completion_tokens") or 0)))
        detail = error or (body.get("error") if isinstance(body, dict) else None) or {}
        code = detail.get("code") or detail.get("type") or f"HTTP {response.get('status_code')}"
        return Outcome(cid, reason=f"{code}: {str(detail.get('message') or 'no message')[:200]}")
