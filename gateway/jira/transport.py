"""HTTP transport to one JIRA site: limits, retries, rate-limit pauses, breaker, coalescing.

One :class:`JiraTransport` per site, all over one ``httpx.AsyncClient`` owned by the app
(created in the lifespan, closed on exit). Every request names its endpoint by *template*
(``/rest/api/3/issue/{key}``): errors and metrics use it, never the expanded URL.

Order of the gates for one logical request: circuit breaker (fail fast, no I/O) -> coalescing
of identical in-flight GETs -> per-site concurrency semaphore -> site-wide "not before"
instant (Retry-After) -> HTTP with a streamed, size-capped body -> retry loop for idempotent
requests (429/502/503/504, connect failures) within the per-site retry budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from gateway.jira.errors import (
    JiraCircuitOpen,
    JiraError,
    JiraMalformedResponse,
    JiraRateLimited,
    JiraUnavailable,
    error_for_response,
    parse_rate_limit_reset,
    parse_retry_after,
)
from gateway.jira.metrics import JiraCall, JiraCallRecorder, NullRecorder
from gateway.jira.resilience import (
    BreakerState,
    CircuitBreaker,
    Clock,
    NotBeforeGate,
    Permit,
    RetryBudget,
    Sleep,
    full_jitter_backoff,
)

MIB = 1024 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Error bodies are only read for their message: an HTML error page need not be kept whole.
_ERROR_BODY_LIMIT = 64 * 1024
# A Retry-After beyond this is treated as this long (a misconfigured proxy must not mute a
# site for a day); requests during the pause fail fast with JiraRateLimited.
_MAX_PAUSE = 600.0
_PATH_PARAM = re.compile(r"{(\w+)}")

ParamValue = str | int | float | bool | list[str] | list[int] | tuple[str, ...] | None
Params = Mapping[str, ParamValue]


@dataclass(frozen=True, slots=True)
class TransportConfig:
    """Limits for one site; the defaults are the contract of issue 3."""

    concurrency: int = 8
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    max_response_bytes: int = 10 * MIB
    max_retries: int = 4
    backoff_base: float = 0.5
    max_wait: float = 30.0  # one retry wait never exceeds this; a longer Retry-After fails fast


@dataclass(slots=True)
class _Request:
    method: str
    endpoint: str
    url: str
    params: Params | None
    content: bytes | None
    auth: httpx.Auth | None
    idempotent: bool
    max_bytes: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Attempt:
    body: bytes | None = None
    error: JiraError | None = None
    status: int | None = None
    retryable: bool = False
    hint: float | None = None  # seconds JIRA asked us to wait
    upstream: bool = True  # False when refused before any network I/O


@dataclass(slots=True)
class _Shared:
    task: asyncio.Task[bytes]
    waiters: int = 0


def expand_path(template: str, path_params: Mapping[str, object] | None) -> str:
    """Fill ``{name}`` placeholders, percent-encoding each value as one path segment."""
    values = path_params or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"missing path parameter {name!r} for {template}")
        return quote(str(values[name]), safe="")

    return _PATH_PARAM.sub(substitute, template)


def _params_key(params: Params | None) -> tuple[tuple[str, str], ...]:
    if not params:
        return ()
    items: list[tuple[str, str]] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            items.extend((key, str(item)) for item in value)
        elif value is not None:
            items.append((key, str(value)))
    return tuple(sorted(items))


class JiraTransport:
    """Talks HTTP to one JIRA site; see the module docstring for the order of the gates."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        site: str,
        config: TransportConfig | None = None,
        recorder: JiraCallRecorder | None = None,
        breaker: CircuitBreaker | None = None,
        budget: RetryBudget | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.site = site
        self.base_url = base_url.rstrip("/")
        self.config = config or TransportConfig()
        self.recorder: JiraCallRecorder = recorder or NullRecorder()
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.budget = budget or RetryBudget(clock=clock)
        self.gate = NotBeforeGate(clock=clock, sleep=sleep)
        self._client = client
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(self.config.concurrency)
        self._inflight: dict[tuple[Any, ...], _Shared] = {}

    async def request(
        self,
        method: str,
        path_template: str,
        *,
        path_params: Mapping[str, object] | None = None,
        params: Params | None = None,
        json: Any = None,
        auth: httpx.Auth | None = None,
        principal: str,
        idempotent: bool | None = None,
    ) -> Any:
        """Call JIRA and return the decoded JSON (None for an empty body, e.g. 204).

        ``idempotent`` defaults to True for GET/HEAD only; search POSTs pass True. Only
        idempotent requests are retried. Raises a :class:`JiraError` subclass.
        """
        body = await self.request_bytes(
            method,
            path_template,
            path_params=path_params,
            params=params,
            json=json,
            auth=auth,
            principal=principal,
            idempotent=idempotent,
        )
        if not body.strip():
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise JiraMalformedResponse(
                path_template, f"invalid JSON ({exc})", site=self.site
            ) from None

    async def request_bytes(
        self,
        method: str,
        path_template: str,
        *,
        path_params: Mapping[str, object] | None = None,
        params: Params | None = None,
        json: Any = None,
        auth: httpx.Auth | None = None,
        principal: str,
        idempotent: bool | None = None,
        max_bytes: int | None = None,
        accept: str = "application/json",
    ) -> bytes:
        """Like :meth:`request` but returns the raw body (attachments, avatars)."""
        method = method.upper()
        headers = {"Accept": accept}
        content = None
        if json is not None:
            content = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        req = _Request(
            method=method,
            endpoint=path_template,
            url=self.base_url + expand_path(path_template, path_params),
            params=params,
            content=content,
            auth=auth,
            idempotent=method in IDEMPOTENT_METHODS if idempotent is None else idempotent,
            max_bytes=max_bytes or self.config.max_response_bytes,
            headers=headers,
        )
        if method != "GET" or self.breaker.state is BreakerState.OPEN:
            return await self._call(req)
        key = (principal, method, req.url, _params_key(params), accept, req.max_bytes)
        return await self._coalesced(key, lambda: self._call(req))

    async def _coalesced(self, key: tuple[Any, ...], call: Callable[[], Awaitable[bytes]]) -> bytes:
        """Share one upstream call among identical in-flight GETs.

        The bytes are shared, each caller decodes its own JSON, so no caller can mutate another's
        result. A cancelled waiter leaves; the upstream call is cancelled only when none is left.
        """
        shared = self._inflight.get(key)
        if shared is None:

            async def run() -> bytes:
                try:
                    return await call()
                finally:
                    if self._inflight.get(key) is shared:
                        del self._inflight[key]

            shared = _Shared(asyncio.get_running_loop().create_task(run()))
            self._inflight[key] = shared
        shared.waiters += 1
        try:
            return await asyncio.shield(shared.task)
        finally:
            shared.waiters -= 1
            if shared.waiters == 0 and not shared.task.done():
                shared.task.cancel()

    async def _call(self, req: _Request) -> bytes:
        start = self._clock()
        permit = self.breaker.acquire()
        if permit is None:
            error = JiraCircuitOpen(
                f"circuit breaker open, retry in {self.breaker.retry_in():.1f}s",
                site=self.site,
                endpoint=req.endpoint,
            )
            self._record(req, type(error).__name__, start, 0, upstream=False)
            raise error
        self.budget.deposit()
        retries = 0
        attempt = _Attempt(upstream=False)
        verdict: bool | None = None  # breaker verdict: True success, False failure
        try:
            while True:
                attempt = await self._attempt(req)
                if attempt.error is None:
                    verdict = True
                    assert attempt.body is not None
                    return attempt.body
                wait = self._plan_retry(req, attempt, retries, permit)
                if wait is None:
                    verdict = self._breaker_verdict(attempt)
                    raise attempt.error
                retries += 1
                if wait > 0:
                    await self._sleep(wait)
        except asyncio.CancelledError:
            attempt = _Attempt(upstream=attempt.upstream)  # recorded as "cancelled"
            raise
        finally:
            if verdict is True:
                self.breaker.record_success(permit)
            elif verdict is False:
                self.breaker.record_failure(permit)
            else:
                self.breaker.release(permit)
            outcome = (
                str(attempt.status)
                if attempt.status is not None
                else type(attempt.error).__name__
                if attempt.error is not None
                else "cancelled"
            )
            self._record(req, outcome, start, retries, upstream=attempt.upstream)

    @staticmethod
    def _breaker_verdict(attempt: _Attempt) -> bool | None:
        if not attempt.upstream:
            return None  # refused locally (rate-limit pause): says nothing about JIRA's health
        # JIRA answered (404, 400, odd body): it is up, so only these count as failures.
        return not isinstance(attempt.error, JiraUnavailable | JiraRateLimited)

    def _plan_retry(
        self, req: _Request, attempt: _Attempt, retries: int, permit: Permit
    ) -> float | None:
        """Seconds to wait before retrying, or None to give up with ``attempt.error``."""
        if attempt.hint is not None:
            # Whatever happens to this request, JIRA told the whole site to pause.
            self.gate.push(min(attempt.hint, _MAX_PAUSE))
        if not (req.idempotent and attempt.retryable):
            return None
        if retries >= self.config.max_retries or permit.probe:
            return None
        if attempt.hint is not None and attempt.hint > self.config.max_wait:
            return None
        if self.breaker.state is not BreakerState.CLOSED or not self.budget.try_spend():
            return None
        if attempt.hint is not None:
            return 0.0  # the gate makes every caller of the site wait, this one included
        return full_jitter_backoff(
            retries, base=self.config.backoff_base, cap=self.config.max_wait, rng=self._rng
        )

    async def _attempt(self, req: _Request) -> _Attempt:
        async with self._semaphore:
            pause = self.gate.remaining()
            if pause > self.config.max_wait:
                error = JiraRateLimited(
                    f"JIRA asked to pause requests for {pause:.0f}s more",
                    retry_after=pause,
                    site=self.site,
                    endpoint=req.endpoint,
                    status=None,
                )
                return _Attempt(error=error, upstream=False)
            await self.gate.wait()
            try:
                return await self._exchange(req)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached JIRA: safe to retry an idempotent request.
                return _Attempt(error=self._unavailable(req, exc), retryable=True)
            except httpx.TransportError as exc:
                return _Attempt(error=self._unavailable(req, exc))

    def _unavailable(self, req: _Request, exc: Exception) -> JiraUnavailable:
        detail = str(exc)[:200] or "no detail"
        return JiraUnavailable(
            f"{type(exc).__name__}: {detail}", site=self.site, endpoint=req.endpoint
        )

    async def _exchange(self, req: _Request) -> _Attempt:
        async with self._client.stream(
            req.method,
            req.url,
            params=dict(req.params) if req.params else None,
            content=req.content,
            headers=req.headers,
            auth=req.auth or httpx.USE_CLIENT_DEFAULT,
            timeout=self.config.timeout,
        ) as response:
            status = response.status_code
            if 200 <= status < 300:
                try:
                    body = await self._read_body(response, req, req.max_bytes)
                except JiraMalformedResponse as exc:
                    return _Attempt(error=exc, status=status)
                return _Attempt(body=body, status=status)
            body = await self._read_error_body(response)
            hint = self._retry_hint(response.headers, status)
            error = error_for_response(
                response, endpoint=req.endpoint, site=self.site, body=body, retry_after=hint
            )
            return _Attempt(
                error=error, status=status, retryable=status in RETRYABLE_STATUSES, hint=hint
            )

    async def _read_body(self, response: httpx.Response, req: _Request, limit: int) -> bytes:
        """Read a success body, refusing it as soon as it exceeds ``limit`` bytes."""
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise self._too_large(req, response.status_code, limit)
        chunks: list[bytes] = []
        size = 0
        try:
            # Decoded bytes are counted, so a gzip bomb is stopped too.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise self._too_large(req, response.status_code, limit)
                chunks.append(chunk)
        except httpx.TimeoutException:
            raise
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise JiraMalformedResponse(
                req.endpoint,
                f"truncated body ({type(exc).__name__})",
                site=self.site,
                status=response.status_code,
            ) from None
        if (
            declared is not None
            and declared.isdigit()
            and "content-encoding" not in response.headers
            and size != int(declared)
        ):
            raise JiraMalformedResponse(
                req.endpoint,
                f"truncated body ({size} of {declared} bytes)",
                site=self.site,
                status=response.status_code,
            )
        return b"".join(chunks)

    def _too_large(self, req: _Request, status: int, limit: int) -> JiraMalformedResponse:
        return JiraMalformedResponse(
            req.endpoint,
            f"response larger than {limit} bytes refused",
            site=self.site,
            status=status,
        )

    @staticmethod
    async def _read_error_body(response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= _ERROR_BODY_LIMIT:
                    break
        except (httpx.TransportError, httpx.DecodingError):
            pass  # the status says enough; a partial message is fine
        return b"".join(chunks)[:_ERROR_BODY_LIMIT]

    def _retry_hint(self, headers: httpx.Headers, status: int) -> float | None:
        now = self._wall_clock()
        hint = parse_retry_after(headers.get("retry-after"), now_epoch=now)
        if hint is None and status == 429:
            hint = parse_rate_limit_reset(headers.get("x-ratelimit-reset"), now_epoch=now)
        return hint

    def _record(
        self, req: _Request, outcome: str, start: float, retries: int, *, upstream: bool
    ) -> None:
        call = JiraCall(
            site=self.site,
            endpoint=req.endpoint,
            method=req.method,
            outcome=outcome,
            latency=max(0.0, self._clock() - start),
            retries=retries,
            upstream=upstream,
        )
        # Instrumentation must never break a JIRA call.
        with contextlib.suppress(Exception):
            self.recorder.record(call)
