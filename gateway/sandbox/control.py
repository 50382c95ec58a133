"""Sandbox control API: call counting, injected faults and a real rate limit.

Contract (DESIGN.md §6), served under ``/_sandbox/`` and never counted or faulted itself:

- ``GET /_sandbox/calls`` -> ``{"total": n, "by_endpoint": {"GET /rest/api/3/issue/{key}": n}}``;
  the key is the method plus the matched route's path template (``{name}`` without convertor).
  Unmatched paths (404s) count under their raw path.
- ``POST /_sandbox/calls/reset`` zeroes the counters.
- ``POST /_sandbox/faults`` with any subset of ``{"latency_ms": int, "error_rate": float,
  "status": int, "rate_limit_per_s": float}`` REPLACES the faults (an empty body clears them);
  ``GET /_sandbox/faults`` shows them.

Integration: add ``Middleware(SandboxControlMiddleware)`` to the sandbox's Starlette app and mount
``routes()``. The state lives on ``app.state`` (see ``control_state``), so several sandboxes in
one process never share counters. Counted calls include faulted ones, so a test can tell whether a
client's retry reached the sandbox.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

#: Paths that are JIRA's API (counted and subject to faults); everything else passes untouched.
COUNTED_PREFIXES = ("/rest/", "/secure/", "/plugins/servlet/", "/oauth/", "/authorize")
CONTROL_PREFIX = "/_sandbox/"
_STATE_ATTR = "sandbox_control"
_SCOPE_KEY = "sandbox.control"
_MAX_LATENCY_MS = 60_000


class FaultsError(ValueError):
    """An invalid ``POST /_sandbox/faults`` body; the message is shown to the caller."""


@dataclass(frozen=True, slots=True)
class Faults:
    """Active faults. ``status`` without ``error_rate`` means every request gets ``status``."""

    latency_ms: int = 0
    error_rate: float | None = None
    status: int | None = None
    rate_limit_per_s: float | None = None

    def error_status(self, rng: random.Random) -> int | None:
        """The status to answer instead of the real response, or None to answer normally."""
        if self.error_rate is None:
            return self.status
        if self.error_rate > 0 and rng.random() < self.error_rate:
            return self.status or 503
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "status": self.status,
            "rate_limit_per_s": self.rate_limit_per_s,
        }

    @classmethod
    def parse(cls, body: object) -> Faults:
        """Validate a control body; raises ``FaultsError`` with a message naming the field."""
        if body is None:
            return cls()
        if not isinstance(body, dict):
            raise FaultsError("The body must be a JSON object.")
        unknown = sorted(set(body) - {"latency_ms", "error_rate", "status", "rate_limit_per_s"})
        if unknown:
            raise FaultsError(
                f"Unknown fault {unknown[0]!r}; expected latency_ms, error_rate, status, "
                "rate_limit_per_s."
            )
        latency = _number(body, "latency_ms", integer=True)
        rate = _number(body, "error_rate")
        status = _number(body, "status", integer=True)
        limit = _number(body, "rate_limit_per_s")
        if latency is not None and not 0 <= latency <= _MAX_LATENCY_MS:
            raise FaultsError(f"latency_ms must be between 0 and {_MAX_LATENCY_MS}.")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise FaultsError("error_rate must be between 0.0 and 1.0.")
        if status is not None and not 400 <= status <= 599:
            raise FaultsError("status must be an HTTP error status between 400 and 599.")
        if limit is not None and not limit > 0:
            raise FaultsError("rate_limit_per_s must be greater than 0.")
        return cls(
            latency_ms=int(latency or 0),
            error_rate=rate,
            status=None if status is None else int(status),
            rate_limit_per_s=limit,
        )


def _number(body: dict[str, Any], name: str, *, integer: bool = False) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    # bool is an int subclass: `true` must not pass as 1
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or (isinstance(value, float) and not math.isfinite(value)):
        kind = "an integer" if integer else "a number"
        raise FaultsError(f"{name} must be {kind}, got {value!r}.")
    return float(value)


class TokenBucket:
    """Token bucket shared by all callers: ``rate`` tokens per second, burst of ``max(1, rate)``."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    def take(self) -> tuple[bool, float]:
        """Take one token. Returns (allowed, seconds until one token is available again)."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True, 0.0
        return False, (1.0 - self._tokens) / self.rate

    @property
    def remaining(self) -> int:
        return int(self._tokens)


@dataclass(slots=True)
class ControlState:
    """Per-sandbox counters and faults (one per app; tests run several sandboxes per process)."""

    calls: Counter[str] = field(default_factory=Counter)
    total: int = 0
    faults: Faults = field(default_factory=Faults)
    bucket: TokenBucket | None = None
    rng: random.Random = field(default_factory=random.Random)

    def record(self, endpoint: str) -> None:
        self.total += 1
        self.calls[endpoint] += 1

    def reset_calls(self) -> None:
        self.total = 0
        self.calls.clear()

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        # a new limit starts with a full bucket, so tests see a deterministic burst
        self.bucket = TokenBucket(faults.rate_limit_per_s) if faults.rate_limit_per_s else None

    def reset(self) -> None:
        """Back to a pristine sandbox: no counts, no faults."""
        self.reset_calls()
        self.set_faults(Faults())

    def calls_json(self) -> dict[str, Any]:
        return {"total": self.total, "by_endpoint": dict(sorted(self.calls.items()))}


def control_state(app: Any) -> ControlState:
    """The ``ControlState`` held by ``app.state`` (created on first use)."""
    state = getattr(app.state, _STATE_ATTR, None)
    if isinstance(state, ControlState):
        return state
    created = ControlState()
    setattr(app.state, _STATE_ATTR, created)
    return created


def is_counted(path: str) -> bool:
    """True for JIRA API paths (counted and faulted); never for ``/_sandbox/`` control paths."""
    return path.startswith(COUNTED_PREFIXES)


def route_template(routes: Iterable[BaseRoute], scope: Scope) -> str | None:
    """The path template of the route the router will pick for ``scope`` (FULL before PARTIAL)."""
    partial: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        template: str | None
        if isinstance(route, Mount):
            inner = route_template(route.routes, {**scope, **child})
            prefix = route.path_format.removesuffix("/{path}")
            template = None if inner is None else prefix + inner
        elif isinstance(route, Route):
            template = route.path_format
        else:
            template = None
        if template is None:
            continue
        if match is Match.FULL:
            return template
        partial = partial or template
    return partial


def error_body(message: str) -> bytes:
    return orjson.dumps({"errorMessages": [message], "errors": {}})


class SandboxControlMiddleware:
    """Pure ASGI middleware: counts JIRA calls, then applies latency, rate limit and errors.

    ``state`` may be passed explicitly when wrapping from outside a Starlette app; otherwise the
    state lives on the Starlette app found in ``scope["app"]``.
    """

    def __init__(self, app: ASGIApp, state: ControlState | None = None) -> None:
        self.app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner = scope.get("app", self.app)
        state = self._state or control_state(owner)
        scope[_SCOPE_KEY] = state
        path: str = scope["path"]
        if not is_counted(path):
            await self.app(scope, receive, send)
            return
        routes: Sequence[BaseRoute] = getattr(owner, "routes", None) or []
        template = route_template(routes, scope) or path
        state.record(f"{scope['method']} {template}")
        faults = state.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if state.bucket is not None:
            allowed, wait = state.bucket.take()
            if not allowed:
                await _send_rate_limited(send, state.bucket, wait)
                return
        status = faults.error_status(state.rng)
        if status is not None:
            await _send(send, status, error_body(_status_message(status)), [])
            return
        await self.app(scope, receive, send)


def _status_message(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return f"{phrase} (injected by the sandbox: {status})."


async def _send_rate_limited(send: Send, bucket: TokenBucket, wait: float) -> None:
    retry_after = max(1, math.ceil(wait))
    # Cloud sends X-RateLimit-Reset as an ISO 8601 UTC timestamp (request time + Retry-After)
    reset = (datetime.now(UTC) + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = [
        (b"retry-after", str(retry_after).encode()),
        (b"x-ratelimit-limit", str(math.ceil(bucket.capacity)).encode()),
        (b"x-ratelimit-remaining", str(bucket.remaining).encode()),
        (b"x-ratelimit-reset", reset.encode()),
        (b"ratelimit-reason", b"jira-quota-based"),
    ]
    await _send(send, 429, error_body("Rate limit exceeded."), headers)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json;charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def request_state(request: Request) -> ControlState:
    """The ``ControlState`` serving ``request`` (the middleware's, else the app's)."""
    state = request.scope.get(_SCOPE_KEY)
    if isinstance(state, ControlState):
        return state
    return control_state(request.app)


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def get_calls(request: Request) -> Response:
    return _json(request_state(request).calls_json())


async def reset_calls(request: Request) -> Response:
    state = request_state(request)
    state.reset_calls()
    return _json(state.calls_json())


async def get_faults(request: Request) -> Response:
    return _json(request_state(request).faults.as_json())


async def set_faults(request: Request) -> Response:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return _json({"errorMessages": ["The body is not valid JSON."], "errors": {}}, 400)
    try:
        faults = Faults.parse(body)
    except FaultsError as exc:
        return _json({"errorMessages": [str(exc)], "errors": {}}, 400)
    state = request_state(request)
    state.set_faults(faults)
    return _json(faults.as_json())


def routes() -> list[Route]:
    """The ``/_sandbox/`` control routes (mount them on the sandbox app)."""
    return [
        Route("/_sandbox/calls", get_calls, methods=["GET"]),
        Route("/_sandbox/calls/reset", reset_calls, methods=["POST"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["POST"]),
    ]
