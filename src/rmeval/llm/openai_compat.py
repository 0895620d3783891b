"""OpenAI-compatible chat completions (OpenAI, vLLM/TGI/llama.cpp servers, gateways) with the `openai` client.

The API key comes only from the environment variable the YAML names (never from config files, never logged or
written into results). Bounded concurrency; retries with exponential backoff and jitter on 429, 5xx, timeouts,
connection errors and malformed responses; token usage recorded per request.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from tqdm import tqdm

from rmeval.llm.base import ChatBackend, ChatRequest, ChatResult

log = logging.getLogger(__name__)


class BackendConfigError(ValueError):
    """A backend that cannot start (missing key, bad settings); one line saying what to set."""


class OpenAICompatBackend(ChatBackend):
    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 5,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        timeout_s: float = 120.0,
        name: str = "openai",
    ):
        self.name, self.model, self.base_url = name, model, base_url
        self.api_key_env = api_key_env
        self.concurrency, self.max_retries = max(1, int(concurrency)), int(max_retries)
        self.backoff_base_s, self.backoff_max_s, self.timeout_s = backoff_base_s, backoff_max_s, timeout_s
        self._client = None

    def fingerprint(self) -> dict:
        return {"backend": "openai_compat", "model": self.model, "base_url": self.base_url}

    def client(self):
        if self._client is None:
            import openai

            if self.api_key_env:
                key = os.environ.get(self.api_key_env)
                if not key:
                    raise BackendConfigError(
                        f"backend {self.name}: environment variable {self.api_key_env} is not set (the API key is read "
                        "from the environment only); export it, or set api_key_env: null for a local server without keys"
                    )
            else:
                key = "EMPTY"
            # Retries are ours (counted and logged per request), so the client's own are off.
            self._client = openai.OpenAI(base_url=self.base_url, api_key=key, max_retries=0, timeout=self.timeout_s)
        return self._client

    def _retryable(self, err: Exception) -> bool:
        import openai

        if isinstance(err, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
            return True
        if isinstance(err, openai.APIStatusError):
            return err.status_code == 429 or err.status_code >= 500
        # a 200 whose body is not valid JSON or not a chat completion
        return isinstance(err, (openai.APIResponseValidationError, ValueError, KeyError, AttributeError, TypeError, IndexError))

    def _one(self, req: ChatRequest) -> ChatResult:
        start = time.perf_counter()
        last = None
        for attempt in range(1, self.max_retries + 2):
            try:
                resp = self.client().chat.completions.create(
                    model=self.model, messages=req.messages, max_tokens=req.max_tokens,
                    temperature=req.temperature, top_p=req.top_p, seed=req.seed,
                )
                choice = resp.choices[0]
                text = choice.message.content
                if text is None:
                    raise ValueError("response has no message content")
                usage = resp.usage
                return ChatResult(
                    key=req.key, text=text, finish_reason=choice.finish_reason,
                    prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                    completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                    attempts=attempt, latency_s=time.perf_counter() - start,
                )
            except BackendConfigError:
                raise
            except Exception as err:  # noqa: BLE001 - classified below
                last = err
                if not self._retryable(err) or attempt > self.max_retries:
                    break
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
                log.info("%s: request %s attempt %d failed (%s); retrying in %.1f s", self.name, req.key, attempt, type(err).__name__, delay)
                time.sleep(delay)
        return ChatResult(key=req.key, text=None, error=f"{type(last).__name__}: {str(last)[:300]}", attempts=attempt,
                          latency_s=time.perf_counter() - start)

    def generate(
        self, requests: Sequence[ChatRequest], progress: bool = True, on_result: Callable[[int, ChatResult], None] | None = None
    ) -> list[ChatResult]:
        self.client()  # fail fast on a missing key, before any thread starts
        results: list[ChatResult | None] = [None] * len(requests)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool, tqdm(
            total=len(requests), desc=f"{self.name}: generate", unit="req", disable=not progress
        ) as bar:
            futures = {pool.submit(self._one, req): i for i, req in enumerate(requests)}
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if on_result is not None:
                    on_result(i, results[i])
                bar.update(1)
        return results  # type: ignore[return-value]
