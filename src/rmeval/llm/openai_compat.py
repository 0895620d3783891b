"""OpenAI-compatible chat completions (OpenAI, vLLM/TGI/llama.cpp servers, gateways) with the `openai` client.

The API key comes only from the environment variable the YAML names (never from config files, never logged or
written into results: the exact key is redacted from every answer, and server error texts are scrubbed of anything
that looks like a key). Bounded concurrency: at most ``concurrency`` requests are in flight and nothing is queued
beyond them, so an interrupt (Ctrl-C, SIGTERM) or an error stops the run at once: the stop flag is checked by the
HTTP client immediately before each send, once the connection is open (first attempts and retries alike), and the
answers already on their way are collected (and cached by the caller) before the error goes on. Retries with
exponential backoff and jitter on 429, 5xx, timeouts, connection errors and malformed responses; a server's
``Retry-After`` (seconds or an HTTP date) replaces the backoff, capped by ``retry_after_max_s``. A request that
fails every retry that way is marked ``transient`` (a rerun may succeed). A 401/403 stops the run with one line
naming the key variable and the endpoint; so does an endpoint that refused or could not be reached
``max_connect_failures`` times in a row before answering anything (a server that is not running). Token usage
recorded per request.
"""

from __future__ import annotations

import email.utils
import errno
import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timezone

from rmeval.config.fields import above, at_least, settings
from rmeval.errors import RmevalError
from rmeval.llm.base import BACKENDS, REDACTED, BackendConfig, ChatBackend, ChatRequest, ChatResult, scrub_secrets
from rmeval.llm.pricing import MODES, BatchConfig, PriceConfig, RateLimitsConfig
from rmeval.progress import progress_bar

log = logging.getLogger(__name__)

CANCELLED = "cancelled: the run stopped before this request was sent"


@dataclass
class OpenAIBackendConfig(BackendConfig):
    _target_: str = "rmeval.llm.openai_compat.OpenAICompatBackend"
    name: str = "openai"
    base_url: str | None = None  # null = api.openai.com; any OpenAI-compatible server (vLLM, TGI, gateways)
    api_key_env: str | None = "OPENAI_API_KEY"  # the key is read from this environment variable only; null = none
    concurrency: int = field(default=8, metadata=at_least(1))
    max_retries: int = field(default=5, metadata=at_least(0))  # on 429, 5xx, timeouts, connection errors, malformed responses
    backoff_base_s: float = field(default=1.0, metadata=at_least(0))
    backoff_max_s: float = field(default=60.0, metadata=at_least(0))
    timeout_s: float = field(default=120.0, metadata=above(0))
    retry_after_max_s: float = field(default=120.0, metadata=at_least(0))  # a server's Retry-After replaces the backoff, waiting at most this long
    # an endpoint that refused or could not be reached this many times in a row, before answering anything, is dead:
    # the job stops with one line instead of retrying every request in full
    max_connect_failures: int = field(default=3, metadata=at_least(1))
    mode: str = field(default="online", metadata=MODES)  # batch: the provider's batch API at its discount (rmeval.llm.batch)
    batch: BatchConfig = field(default_factory=BatchConfig)  # mode: batch's API, poll interval and batch sizes
    price: PriceConfig | None = None  # USD per million tokens (rmeval.llm.pricing): the cost plan and the comparisons report
    limits: RateLimitsConfig = field(default_factory=RateLimitsConfig)  # the account's rate limits (the plan's wall time)


class BackendConfigError(RmevalError):
    """A backend that cannot start (missing key, bad settings); one line saying what to set."""


class BackendAuthError(BackendConfigError):
    """The endpoint refused the key (401) or the permission (403): every further request would fail the same way."""


class EndpointUnreachableError(BackendConfigError):
    """The endpoint refused every connection (or could not be reached) and never answered: nothing is listening."""


class _Stopped(Exception):
    """Raised by the HTTP client's request hook when the run stopped before this request was sent."""


_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH}


class _StopFlag(threading.Event):
    """A run's stop flag that is also set the moment SIGINT or SIGTERM lands. Python runs a signal's handler (which
    stops the run) in the main thread only once that thread holds the interpreter, up to its switch interval (5 ms)
    later on a busy machine, and a pool thread checking the flag meanwhile would still send; but the C-level handler
    writes the signal's number to ``signal.set_wakeup_fd``'s socket at once, and :meth:`is_set` reads it. Only in the
    main thread, and only where no one else (asyncio) watches that socket."""

    def __init__(self):
        super().__init__()
        self._reader = self._writer = None
        self._read_lock = threading.Lock()

    def watch_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        previous = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        if previous == -1:
            self._reader, self._writer = reader, writer
            return
        signal.set_wakeup_fd(previous)  # someone else's: theirs to keep
        reader.close()
        writer.close()

    def unwatch_signals(self) -> None:
        if self._writer is not None:
            signal.set_wakeup_fd(-1)
            self._reader.close()
            self._writer.close()
            self._writer = None

    def is_set(self) -> bool:
        if super().is_set() or self._reader is None:
            return super().is_set()
        with self._read_lock:
            try:
                landed = self._reader.recv(64)
            except OSError:  # nothing landed (or the run is over)
                landed = b""
        if signal.SIGINT in landed or signal.SIGTERM in landed:
            self.set()
        return super().is_set()


def _signals_to_the_main_thread() -> None:
    """A pool thread's initializer: block SIGINT/SIGTERM here, so the kernel hands them to the main thread, which runs
    Python's handlers and sets the stop flag at once (a signal taken by a pool thread waits for the main thread)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


def connect_failure(err: BaseException) -> bool:
    """Whether ``err`` (an APIConnectionError) is a refused or unreachable connection, not a reset of an open one."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, (ConnectionRefusedError, socket.gaierror)) or (isinstance(seen, OSError) and seen.errno in _UNREACHABLE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after_seconds(headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or an HTTP date) or ``retry-after-ms``; None if absent."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


@BACKENDS.register()
class OpenAICompatBackend(ChatBackend):
    Config = OpenAIBackendConfig
    remote = True  # calls a server: its jobs need one core and no local model

    def __init__(self, config: OpenAIBackendConfig | None = None, **given):
        self.config = settings(self.Config, config, given, f"backend {given.get('name', 'openai')}")
        self.name = self.config.name
        self._client = None
        self._local = threading.local()  # .stop: the stop flag of the run this thread's request belongs to
        self._lock = threading.Lock()
        self._reached = False  # the endpoint answered something (any HTTP status)
        self._connect_failures = 0  # refused/unreachable connections in a row

    def fingerprint(self) -> dict:
        return {"backend": "openai_compat", "model": self.config.model, "base_url": self.config.base_url}

    @property
    def endpoint(self) -> str:
        return self.config.base_url or "https://api.openai.com/v1"

    def _secrets(self) -> list[str]:
        return [os.environ.get(self.config.api_key_env, "")] if self.config.api_key_env else []

    def _redact_key(self, text: str) -> str:
        """``text`` with the exact API key replaced (an endpoint may echo it in a completion, which is stored)."""
        for secret in self._secrets():
            if len(secret) >= 4:
                text = text.replace(secret, REDACTED)
        return text

    def _check_stop(self) -> None:
        stop = getattr(self._local, "stop", None)
        if stop is not None and stop.is_set():
            raise _Stopped(CANCELLED)

    def _before_send(self, request) -> None:
        """The HTTP client's request hook: checks the stop flag, and hands the transport a trace callback
        (:meth:`_on_trace`) that checks it again once the connection is open, right before the first byte is written."""
        self._check_stop()
        request.extensions["trace"] = self._on_trace

    def _on_trace(self, event: str, info: dict) -> None:
        """httpcore's ``trace`` extension. Opening a connection can take milliseconds (the thread gives up the
        interpreter meanwhile), and a signal handled then came after the request hook's check: a Snakemake run
        interrupted during a fault storm sent requests 5 ms after Ctrl-C that way."""
        if event.endswith(".send_request_headers.started"):
            self._check_stop()

    def client(self):
        if self._client is None:
            import openai

            if self.config.api_key_env:
                key = os.environ.get(self.config.api_key_env)
                if not key:
                    raise BackendConfigError(
                        f"backend {self.name}: environment variable {self.config.api_key_env} is not set (the API key is read "
                        "from the environment only); export it, or set api_key_env: null for a local server without keys"
                    )
            else:
                key = "EMPTY"
            for name in ("httpx", "httpx2"):  # one INFO line per request would flood the job logs (httpx2: openai >= 3)
                logging.getLogger(name).setLevel(logging.WARNING)
            # Retries are ours (counted and logged per request), so the client's own are off.
            http = openai.DefaultHttpxClient(event_hooks={"request": [self._before_send]})
            self._client = openai.OpenAI(base_url=self.config.base_url, api_key=key, max_retries=0, timeout=self.config.timeout_s,
                                         http_client=http)
        return self._client

    def _retryable(self, err: Exception) -> bool:
        import openai

        if isinstance(err, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
            return True
        if isinstance(err, openai.APIStatusError):
            return err.status_code == 429 or err.status_code >= 500
        # a 200 whose body is not valid JSON or not a chat completion
        return isinstance(err, (openai.APIResponseValidationError, ValueError, KeyError, AttributeError, TypeError, IndexError))

    def _auth_error(self, err: Exception) -> BackendAuthError | None:
        import openai

        if isinstance(err, openai.APIStatusError) and err.status_code in (401, 403):
            what = "refused the API key" if err.status_code == 401 else "denied permission"
            key = f"the key in ${self.config.api_key_env}" if self.config.api_key_env else "requests without a key (api_key_env: null)"
            return BackendAuthError(f"backend {self.name}: {self.endpoint} {what} (HTTP {err.status_code}) for model {self.config.model}; "
                                    f"check {key}")
        return None

    def _delay(self, err: Exception, attempt: int) -> float:
        response = getattr(err, "response", None)
        after = retry_after_seconds(getattr(response, "headers", None)) if response is not None else None
        if after is not None:
            return min(after, self.config.retry_after_max_s)
        return min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def _note_failure(self, err: Exception) -> None:
        """Track whether the endpoint is there: any HTTP answer proves it is; ``max_connect_failures`` refused or
        unreachable connections in a row, before any answer, stop the run."""
        import openai

        with self._lock:
            if not isinstance(err, openai.APIConnectionError):  # an HTTP status, or a body that is not a chat completion
                self._reached, self._connect_failures = True, 0
                return
            if not connect_failure(err):  # a reset or a timeout: the server is there, or may be
                return
            self._connect_failures += 1
            count = self._connect_failures
        if not self._reached and count >= self.config.max_connect_failures:
            raise EndpointUnreachableError(
                f"backend {self.name}: {self.endpoint} refused or could not be reached {count} times in a row and never "
                f"answered ({err.__cause__ or type(err).__name__}); start the server or fix base_url (max_connect_failures: "
                f"{self.config.max_connect_failures})")

    def _one(self, req: ChatRequest, stop: threading.Event | None = None) -> ChatResult:
        stop = stop or threading.Event()
        self._local.stop = stop  # read by the request hook, right before the request leaves
        start = time.perf_counter()
        last, attempt = None, 0
        for attempt in range(1, self.config.max_retries + 2):
            if stop.is_set():
                attempt -= 1
                break
            try:
                resp = self.client().chat.completions.create(
                    model=self.config.model, messages=req.messages, max_tokens=req.max_tokens,
                    temperature=req.temperature, top_p=req.top_p, seed=req.seed,
                )
                with self._lock:
                    self._reached, self._connect_failures = True, 0
                choice = resp.choices[0]
                text = choice.message.content
                if text is None:
                    raise ValueError("response has no message content")
                usage = resp.usage
                return ChatResult(
                    key=req.key, text=self._redact_key(text), finish_reason=choice.finish_reason,
                    prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                    completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                    attempts=attempt, latency_s=time.perf_counter() - start,
                )
            except _Stopped:
                attempt -= 1
                break
            except BackendConfigError:
                raise
            except Exception as err:  # noqa: BLE001 - classified below
                auth = self._auth_error(err)
                if auth is not None:
                    raise auth from None
                self._note_failure(err)
                last = err
                if not self._retryable(err) or attempt > self.config.max_retries:
                    break
                delay = self._delay(err, attempt)
                log.info("%s: request %s attempt %d failed (%s); retrying in %.1f s", self.name, req.key, attempt, type(err).__name__, delay)
                if stop.wait(delay):
                    break
        if stop.is_set():
            return ChatResult(key=req.key, text=None, error=CANCELLED, attempts=attempt, latency_s=time.perf_counter() - start)
        message = scrub_secrets(f"{type(last).__name__}: {str(last)[:300]}", self._secrets())
        return ChatResult(key=req.key, text=None, error=message, attempts=attempt, latency_s=time.perf_counter() - start,
                          transient=self._retryable(last))

    def generate(
        self, requests: Sequence[ChatRequest], progress: bool = True, on_result: Callable[[int, ChatResult], None] | None = None
    ) -> list[ChatResult]:
        self.client()  # fail fast on a missing key, before any thread starts
        results: list[ChatResult | None] = [None] * len(requests)
        stop = _StopFlag()
        pool = ThreadPoolExecutor(max_workers=self.config.concurrency, initializer=_signals_to_the_main_thread)
        running: dict[Future, int] = {}
        bar = progress_bar(len(requests), f"{self.name}: generate", "req", enabled=progress)
        next_i = 0
        try:
            stop.watch_signals()
            while next_i < len(requests) or running:
                while next_i < len(requests) and len(running) < self.config.concurrency:
                    running[pool.submit(self._one, requests[next_i], stop)] = next_i
                    next_i += 1
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = running.pop(fut)
                    results[i] = fut.result()
                    if on_result is not None:
                        on_result(i, results[i])
                    bar.update(1)
        except BaseException as err:
            stop.set()
            log.warning("%s: stopping after %s: %d request(s) never sent, %d in flight (their answers are kept)",
                        self.name, type(err).__name__, len(requests) - next_i, len(running))
            self._collect(running, results, on_result)
            raise
        finally:
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            stop.unwatch_signals()
            bar.close()
        return results  # type: ignore[return-value]

    def _collect(self, running: dict[Future, int], results: list, on_result) -> None:
        """Answers of the requests in flight when the run stopped: wait for them (bounded by the timeout) and hand
        the successful ones to ``on_result`` (the cache), so nothing already paid for is thrown away."""
        if not running:
            return
        done, _ = wait(running, timeout=self.config.timeout_s + 1.0)
        for fut in done:
            try:
                res = fut.result()
            except Exception:  # noqa: BLE001 - the run is already stopping with its own error
                continue
            if res.ok:
                results[running[fut]] = res
                if on_result is not None:
                    try:
                        on_result(running[fut], res)
                    except Exception as err:  # noqa: BLE001 - e.g. the disk that stopped the run is still full
                        log.warning("%s: could not keep an answer that arrived while stopping (%s)", self.name, type(err).__name__)
                        return
