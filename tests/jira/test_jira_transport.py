"""JiraTransport against a real HTTP server that injects faults and timestamps every hit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.jira.errors import (
    JiraCircuitOpen,
    JiraMalformedResponse,
    JiraRateLimited,
    JiraUnavailable,
)
from gateway.jira.metrics import InMemoryRecorder
from gateway.jira.resilience import BreakerState, CircuitBreaker, RetryBudget
from gateway.jira.transport import MIB, JiraTransport, TransportConfig
from tests.support import RunningServer, serve_in_thread

ISSUE = "/rest/api/3/issue/{key}"
COMMENT = "/rest/api/3/issue/{key}/comment"
Responder = Callable[[Request, int], Awaitable[Response]]


async def _ok(request: Request, n: int) -> Response:
    return JSONResponse({"path": request.url.path, "n": n})


@dataclass
class FaultServer:
    """What the server saw: (monotonic time, method, path) per hit, and peak concurrency."""

    responder: Responder = _ok
    hits: list[tuple[float, str, str]] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0

    async def handle(self, request: Request) -> Response:
        self.hits.append((time.monotonic(), request.method, request.url.path))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self.responder(request, len(self.hits))
        finally:
            self.in_flight -= 1

    def reset(self) -> None:
        self.responder = _ok
        self.hits.clear()
        self.in_flight = self.peak = 0


_STATE = FaultServer()


async def _dispatch(request: Request) -> Response:
    return await _STATE.handle(request)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    methods = ["GET", "POST", "PUT", "DELETE"]
    running = serve_in_thread(Starlette(routes=[Route("/{path:path}", _dispatch, methods=methods)]))
    yield running
    running.stop()


@pytest.fixture
def faults(server: RunningServer) -> Iterator[FaultServer]:
    _STATE.reset()
    yield _STATE
    _STATE.reset()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


def _transport(
    client: httpx.AsyncClient, server: RunningServer, **kwargs: object
) -> tuple[JiraTransport, InMemoryRecorder]:
    recorder = InMemoryRecorder()
    transport = JiraTransport(client, server.base_url, site="a", recorder=recorder, **kwargs)  # type: ignore[arg-type]
    return transport, recorder


def _status(code: int, headers: dict[str, str] | None = None) -> Responder:
    async def respond(request: Request, n: int) -> Response:
        body = {"errorMessages": [f"injected {code}"], "errors": {}}
        return JSONResponse(body, status_code=code, headers=headers)

    return respond


async def test_retry_after_pauses_the_whole_site(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    async def first_429(request: Request, n: int) -> Response:
        if n == 1:
            return JSONResponse({"message": "slow down"}, 429, headers={"Retry-After": "2"})
        return await _ok(request, n)

    faults.responder = first_429
    transport, recorder = _transport(client, server)

    first = asyncio.create_task(
        transport.request("GET", ISSUE, path_params={"key": "A-1"}, principal="u")
    )
    await asyncio.sleep(0.3)  # the 429 has been answered; now other callers arrive
    others = [
        transport.request("GET", ISSUE, path_params={"key": f"B-{i}"}, principal="u")
        for i in range(5)
    ]
    results = await asyncio.gather(first, *others)

    assert [r["path"] for r in results] == ["/rest/api/3/issue/A-1"] + [
        f"/rest/api/3/issue/B-{i}" for i in range(5)
    ]
    rejected_at = faults.hits[0][0]
    later = [stamp for stamp, _, _ in faults.hits[1:]]
    assert len(later) == 6
    # Server-side timestamps: nothing reached the server within 2 s of the 429.
    assert min(later) - rejected_at >= 2.0
    assert recorder.retry_count(endpoint=ISSUE) == 1


async def test_never_more_than_four_retries(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    faults.responder = _status(503)
    transport, recorder = _transport(client, server, config=TransportConfig(backoff_base=0.01))

    with pytest.raises(JiraUnavailable) as caught:
        await transport.request("GET", ISSUE, path_params={"key": "A-1"}, principal="u")

    assert len(faults.hits) == 5  # 1 try + 4 retries
    assert caught.value.status == 503
    assert caught.value.endpoint == ISSUE
    assert recorder.retry_count() == 4
    assert recorder.request_count(outcome="503") == 1


@pytest.mark.parametrize("code", [503, 429, 502])
async def test_comment_post_is_sent_exactly_once(
    code: int, faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    faults.responder = _status(code, {"Retry-After": "0"} if code == 429 else None)
    transport, _ = _transport(client, server, config=TransportConfig(backoff_base=0.01))

    with pytest.raises((JiraUnavailable, JiraRateLimited)):
        await transport.request(
            "POST", COMMENT, path_params={"key": "A-1"}, json={"body": "hi"}, principal="u"
        )

    assert [(m, p) for _, m, p in faults.hits] == [("POST", "/rest/api/3/issue/A-1/comment")]


async def test_search_post_marked_idempotent_is_retried(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    async def flaky(request: Request, n: int) -> Response:
        return await (_status(502)(request, n) if n < 3 else _ok(request, n))

    faults.responder = flaky
    transport, _ = _transport(client, server, config=TransportConfig(backoff_base=0.01))

    data = await transport.request(
        "POST", "/rest/api/3/search/jql", json={"jql": "x"}, principal="u", idempotent=True
    )

    assert data["n"] == 3


async def test_breaker_opens_on_503s_then_fails_fast_without_io(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    faults.responder = _status(503)
    transport, recorder = _transport(client, server, config=TransportConfig(backoff_base=0.005))

    for i in range(20):
        with pytest.raises(JiraUnavailable):
            await transport.request("GET", ISSUE, path_params={"key": f"A-{i}"}, principal="u")
    assert transport.breaker.state is BreakerState.OPEN
    seen = len(faults.hits)

    latencies = []
    for i in range(50):
        started = time.perf_counter()
        with pytest.raises(JiraCircuitOpen):
            await transport.request("GET", ISSUE, path_params={"key": f"C-{i}"}, principal="u")
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    assert latencies[25] < 0.0005
    assert latencies[48] < 0.005  # the slowest may be a scheduler hiccup on a shared box
    assert len(faults.hits) == seen
    assert recorder.request_count(outcome="JiraCircuitOpen") == 50


async def test_retry_budget_caps_retries_under_sustained_failure(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    faults.responder = _status(503)
    # A breaker that never opens, so only the budget limits the retries.
    transport, recorder = _transport(
        client,
        server,
        config=TransportConfig(backoff_base=0.001),
        breaker=CircuitBreaker(min_calls=10**9),
        budget=RetryBudget(ratio=0.2, min_retries=5, window=60),
    )

    for i in range(100):
        with pytest.raises(JiraUnavailable):
            await transport.request("GET", ISSUE, path_params={"key": f"A-{i}"}, principal="u")

    retries = len(faults.hits) - 100
    assert retries == recorder.retry_count()
    # Without a budget 100 requests would make 400 retries.
    assert 20 <= retries <= 5 + 0.2 * 100


async def test_identical_gets_are_coalesced_per_principal(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    async def slow(request: Request, n: int) -> Response:
        await asyncio.sleep(0.2)
        return await _ok(request, n)

    faults.responder = slow
    transport, _ = _transport(client, server)

    def get(principal: str, key: str = "A-1") -> Awaitable[object]:
        return transport.request(
            "GET",
            ISSUE,
            path_params={"key": key},
            params={"fields": "summary"},
            principal=principal,
        )

    same = await asyncio.gather(*(get("alice") for _ in range(10)))
    assert len(faults.hits) == 1
    assert all(result == same[0] for result in same)
    assert same[0] is not same[1]  # each caller decodes its own copy

    faults.hits.clear()
    await asyncio.gather(get("alice"), get("bob"), get("alice", "A-2"))
    assert len(faults.hits) == 3


async def test_coalesced_failure_reaches_every_waiter_and_cancel_spares_others(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    async def slow_404(request: Request, n: int) -> Response:
        await asyncio.sleep(0.3)
        return JSONResponse({"errorMessages": ["Issue does not exist"]}, 404)

    faults.responder = slow_404
    transport, _ = _transport(client, server)

    tasks = [
        asyncio.create_task(
            transport.request("GET", ISSUE, path_params={"key": "X-1"}, principal="u")
        )
        for _ in range(4)
    ]
    await asyncio.sleep(0.1)
    tasks[0].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)

    assert isinstance(results[0], asyncio.CancelledError)
    assert all(type(r).__name__ == "JiraNotFound" for r in results[1:])
    assert "Issue does not exist" in str(results[1])
    assert len(faults.hits) == 1


async def test_concurrency_is_limited_per_site(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    async def slow(request: Request, n: int) -> Response:
        await asyncio.sleep(0.1)
        return await _ok(request, n)

    faults.responder = slow
    transport, _ = _transport(client, server, config=TransportConfig(concurrency=3))

    await asyncio.gather(
        *(
            transport.request("GET", ISSUE, path_params={"key": f"A-{i}"}, principal="u")
            for i in range(12)
        )
    )

    assert len(faults.hits) == 12
    assert faults.peak == 3


@pytest.mark.parametrize("declare_length", [True, False])
async def test_response_over_the_size_limit_is_refused(
    declare_length: bool, faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    chunk = b"x" * (256 * 1024)
    chunks = 41  # 10.25 MiB

    async def huge(request: Request, n: int) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(chunks):
                yield chunk

        headers = {"content-length": str(len(chunk) * chunks)} if declare_length else None
        return StreamingResponse(body(), media_type="application/json", headers=headers)

    faults.responder = huge
    transport, _ = _transport(client, server)

    with pytest.raises(JiraMalformedResponse) as caught:
        await transport.request_bytes(
            "GET", "/rest/api/3/attachment/content/{id}", path_params={"id": 1}, principal="u"
        )

    assert caught.value.endpoint == "/rest/api/3/attachment/content/{id}"
    assert "larger than" in str(caught.value)
    assert len(faults.hits) == 1  # not retried: it would fail the same way

    # Just under the limit passes.
    chunks = 40
    body = await transport.request_bytes(
        "GET", "/rest/api/3/attachment/content/{id}", path_params={"id": 1}, principal="u"
    )
    assert len(body) == 10 * MIB


async def test_path_params_are_encoded_and_metrics_use_the_template(
    faults: FaultServer, client: httpx.AsyncClient, server: RunningServer
) -> None:
    async def raw(request: Request, n: int) -> Response:
        return JSONResponse({"raw": request.scope["raw_path"].decode()})

    faults.responder = raw
    transport, recorder = _transport(client, server)

    data = await transport.request("GET", ISSUE, path_params={"key": "A/1?x"}, principal="u")

    # The key travels as ONE path segment.
    assert data["raw"] == "/rest/api/3/issue/A%2F1%3Fx"
    text = recorder.render_prometheus()
    assert 'endpoint="/rest/api/3/issue/{key}"' in text
    assert "A%2F1" not in text
