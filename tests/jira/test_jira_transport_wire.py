"""Wire-level edge cases of JiraTransport with httpx.MockTransport and a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from gateway.jira.errors import (
    JiraAuthError,
    JiraBadRequest,
    JiraError,
    JiraForbidden,
    JiraGone,
    JiraMalformedResponse,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
)
from gateway.jira.metrics import InMemoryRecorder, JiraCall
from gateway.jira.transport import JiraTransport, TransportConfig

ISSUE = "/rest/api/3/issue/{key}"
SEARCH = "/rest/api/3/search/jql"
EPOCH = 1_700_000_000.0


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


Handler = Callable[[httpx.Request], httpx.Response]


class Harness:
    def __init__(self, handler: Handler, **kwargs: object) -> None:
        self.requests: list[httpx.Request] = []
        self.time = FakeTime()
        self.recorder = InMemoryRecorder()

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            return handler(request)

        self.client = httpx.AsyncClient(transport=httpx.MockTransport(record))
        self.transport = JiraTransport(
            self.client,
            "https://jira.example.com/base/",
            site="acme",
            recorder=self.recorder,
            clock=self.time.clock,
            wall_clock=self.time.wall,
            sleep=self.time.sleep,
            **kwargs,  # type: ignore[arg-type]
        )

    async def get(self, key: str = "A-1", **kwargs: object) -> object:
        return await self.transport.request(
            "GET",
            ISSUE,
            path_params={"key": key},
            principal="alice",
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.fixture
async def harness_factory() -> AsyncIterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(handler: Handler, **kwargs: object) -> Harness:
        made.append(Harness(handler, **kwargs))
        return made[-1]

    yield make
    for harness in made:
        await harness.client.aclose()


async def test_url_is_built_from_base_and_template(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(lambda r: httpx.Response(200, json={"key": "A-1"}))

    assert await h.get(params={"fields": ["summary", "status"]}) == {"key": "A-1"}

    sent = h.requests[0]
    assert str(sent.url) == (
        "https://jira.example.com/base/rest/api/3/issue/A-1?fields=summary&fields=status"
    )
    assert sent.headers["accept"] == "application/json"


async def test_invalid_json_names_the_endpoint(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(lambda r: httpx.Response(200, content=b'{"key": "A-1", "fields": {'))

    with pytest.raises(JiraMalformedResponse) as caught:
        await h.get()

    assert caught.value.endpoint == ISSUE
    assert caught.value.site == "acme"
    assert ISSUE in str(caught.value)
    assert len(h.requests) == 1


class _BrokenStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"issues": [{"id": "1'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


async def test_body_cut_mid_stream_is_malformed(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(lambda r: httpx.Response(200, stream=_BrokenStream()))

    with pytest.raises(JiraMalformedResponse) as caught:
        await h.get()

    assert "truncated" in caught.value.detail
    assert caught.value.endpoint == ISSUE


async def test_body_shorter_than_content_length_is_malformed(
    harness_factory: Callable[..., Harness],
) -> None:
    def short(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-length": "500"}, stream=httpx.ByteStream(b'{"key": "A-1"}')
        )

    h = harness_factory(short)

    with pytest.raises(JiraMalformedResponse) as caught:
        await h.get()

    assert "truncated" in caught.value.detail


async def test_connection_reset_is_unavailable_and_not_retried(
    harness_factory: Callable[..., Harness],
) -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("[Errno 104] Connection reset by peer")

    h = harness_factory(reset)

    with pytest.raises(JiraUnavailable) as caught:
        await h.get()

    assert caught.value.endpoint == ISSUE
    assert "reset" in str(caught.value)
    # The request may have reached JIRA: a read failure is not a safe retry.
    assert len(h.requests) == 1


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_failures_before_sending_are_retried_with_full_jitter(
    error: type[httpx.TransportError], harness_factory: Callable[..., Harness]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise error("refused")

    h = harness_factory(refuse)

    with pytest.raises(JiraUnavailable):
        await h.get()

    assert len(h.requests) == 5
    assert len(h.time.sleeps) == 4
    for retry, wait in enumerate(h.time.sleeps):
        assert 0.0 <= wait <= 0.5 * 2**retry


async def test_writes_are_not_retried_even_on_connect_errors(
    harness_factory: Callable[..., Harness],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    h = harness_factory(refuse)

    with pytest.raises(JiraUnavailable):
        await h.transport.request(
            "PUT", ISSUE, path_params={"key": "A-1"}, json={"fields": {}}, principal="alice"
        )

    assert len(h.requests) == 1


def _retry_after_date(seconds: int) -> str:
    when = datetime.fromtimestamp(EPOCH + 100.0, UTC) + timedelta(seconds=seconds)
    return format_datetime(when, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": _retry_after_date(12)}, 12.0),
        ({"X-RateLimit-Reset": "2023-11-14T22:15:09Z"}, None),  # computed below
    ],
)
async def test_rate_limit_hints_are_honoured(
    headers: dict[str, str], expected: float | None, harness_factory: Callable[..., Harness]
) -> None:
    if expected is None:
        reset = datetime.fromtimestamp(EPOCH + 100.0, UTC) + timedelta(seconds=9)
        headers = {"X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ")}
        expected = 9.0
    calls = iter([httpx.Response(429, headers=headers), httpx.Response(200, json={"ok": 1})])
    h = harness_factory(lambda r: next(calls))

    assert await h.get() == {"ok": 1}

    assert sum(h.time.sleeps) == pytest.approx(expected, abs=1.0)
    assert h.recorder.retry_count() == 1


async def test_retry_after_over_30s_fails_fast_and_pauses_the_site(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(lambda r: httpx.Response(429, headers={"Retry-After": "120"}))

    with pytest.raises(JiraRateLimited) as caught:
        await h.get()
    assert caught.value.retry_after == 120
    assert len(h.requests) == 1
    assert h.time.sleeps == []

    # Other callers do not hit JIRA during the pause (writes included), and learn the wait.
    with pytest.raises(JiraRateLimited) as again:
        await h.transport.request("POST", SEARCH, json={}, principal="bob", idempotent=True)
    assert again.value.retry_after == pytest.approx(120)
    assert len(h.requests) == 1

    h.time.now += 121
    calls_before = len(h.requests)
    with pytest.raises(JiraRateLimited):
        await h.get("B-1")
    assert len(h.requests) == calls_before + 1


async def test_429_after_all_retries_is_rate_limited(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(lambda r: httpx.Response(429, headers={"Retry-After": "1"}))

    with pytest.raises(JiraRateLimited) as caught:
        await h.get()

    assert len(h.requests) == 5
    assert caught.value.retry_after == 1
    assert h.time.sleeps == [1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (
            400,
            {
                "errorMessages": ["Field 'foo' does not exist or you do not have permission."],
                "errors": {},
            },
            JiraBadRequest,
            "Field 'foo' does not exist",
        ),
        (
            401,
            {"message": "Client must be authenticated to access this resource."},
            JiraAuthError,
            "authenticated",
        ),
        (
            403,
            {"errorMessages": ["You do not have permission."], "errors": {}},
            JiraForbidden,
            "permission",
        ),
        (
            404,
            {"errorMessages": ["Issue does not exist or you do not have permission to see it."]},
            JiraNotFound,
            "Issue does not exist",
        ),
        (
            410,
            {
                "errorMessages": [
                    "The requested API has been removed. "
                    "Please migrate to the /rest/api/3/search/jql API."
                ]
            },
            JiraGone,
            "search/jql",
        ),
        (409, {"errors": {"summary": "dup"}}, JiraBadRequest, "summary: dup"),
    ],
)
async def test_error_statuses_map_to_the_tree(
    status: int,
    body: dict[str, object],
    error: type[JiraError],
    text: str,
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(lambda r: httpx.Response(status, json=body))

    with pytest.raises(error) as caught:
        await h.transport.request(
            "GET",
            ISSUE,
            path_params={"key": "A-1"},
            principal="alice",
            auth=httpx.BasicAuth("alice@example.com", "s3cret-api-token"),
        )

    assert type(caught.value) is error
    assert caught.value.status == status
    assert text in caught.value.message
    assert "s3cret" not in str(caught.value)
    assert "A-1" not in str(caught.value)  # the template, never the expanded URL
    assert len(h.requests) == 1


async def test_jql_errors_keep_jira_lists(harness_factory: Callable[..., Harness]) -> None:
    body = {
        "errorMessages": [
            "Error in the JQL Query: Expecting operator but got 'x'. (line 1, character 9)"
        ],
        "errors": {"jql": "bad"},
    }
    h = harness_factory(lambda r: httpx.Response(400, json=body))

    with pytest.raises(JiraBadRequest) as caught:
        await h.transport.request(
            "POST", SEARCH, json={"jql": "project x"}, principal="alice", idempotent=True
        )

    assert caught.value.error_messages == body["errorMessages"]
    assert caught.value.errors == {"jql": "bad"}


async def test_html_error_page_gives_its_title(harness_factory: Callable[..., Harness]) -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    h = harness_factory(
        lambda r: httpx.Response(502, content=page, headers={"content-type": "text/html"})
    )

    with pytest.raises(JiraUnavailable) as caught:
        await h.get()

    assert caught.value.message == "502 Bad Gateway"
    assert len(h.requests) == 5


async def test_empty_body_is_none_and_bytes_are_raw(
    harness_factory: Callable[..., Harness],
) -> None:
    h = harness_factory(
        lambda r: (
            httpx.Response(204) if r.method == "PUT" else httpx.Response(200, content=b"\x89PNG")
        )
    )

    assert (
        await h.transport.request("PUT", ISSUE, path_params={"key": "A-1"}, json={}, principal="a")
        is None
    )
    raw = await h.transport.request_bytes(
        "GET",
        "/rest/api/3/attachment/content/{id}",
        path_params={"id": 5},
        principal="a",
        accept="*/*",
    )
    assert raw == b"\x89PNG"


async def test_a_broken_recorder_never_breaks_a_call(
    harness_factory: Callable[..., Harness],
) -> None:
    class Broken:
        def record(self, call: JiraCall) -> None:
            raise RuntimeError("metrics backend down")

    h = harness_factory(lambda r: httpx.Response(200, json=[]))
    h.transport.recorder = Broken()

    assert await h.get() == []


async def test_metrics_record_outcome_latency_and_retries(
    harness_factory: Callable[..., Harness],
) -> None:
    calls = iter([httpx.Response(503), httpx.Response(503), httpx.Response(200, json={})])
    h = harness_factory(lambda r: next(calls))
    h.recorder.keep_calls = 10

    await h.get()

    [call] = h.recorder.calls
    assert (call.site, call.endpoint, call.method, call.outcome) == ("acme", ISSUE, "GET", "200")
    assert call.retries == 2
    assert call.latency == pytest.approx(sum(h.time.sleeps))


async def test_small_config_limits_apply(harness_factory: Callable[..., Harness]) -> None:
    h = harness_factory(
        lambda r: httpx.Response(503), config=TransportConfig(max_retries=1, max_response_bytes=10)
    )

    with pytest.raises(JiraUnavailable):
        await h.get()
    assert len(h.requests) == 2


async def test_breaker_half_opens_after_30s_and_a_probe_decides(
    harness_factory: Callable[..., Harness],
) -> None:
    state = {"status": 503}
    h = harness_factory(lambda r: httpx.Response(state["status"]))
    for i in range(20):
        with pytest.raises(JiraUnavailable):
            await h.get(f"A-{i}")
    assert h.transport.breaker.state.value == "open"
    sent = len(h.requests)

    # 30 s plus a hair: (t + 30) - t can round below 30 with float clocks.
    h.time.now += 30.000001
    with pytest.raises(JiraUnavailable):
        await h.get("P-1")  # a failing probe is not retried and reopens the breaker
    assert len(h.requests) == sent + 1
    assert h.transport.breaker.state.value == "open"

    h.time.now += 30.000001
    state["status"] = 200
    assert await h.get("P-2") is None
    assert h.transport.breaker.state.value == "closed"


async def test_cancelling_every_waiter_cancels_the_upstream_call(
    harness_factory: Callable[..., Harness],
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return httpx.Response(200)

    h = harness_factory(hang)  # type: ignore[arg-type]
    h.recorder.keep_calls = 5
    waiters = [asyncio.create_task(h.get()) for _ in range(3)]
    await started.wait()
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    await asyncio.wait_for(cancelled.wait(), 1)
    await asyncio.sleep(0)

    assert h.transport._inflight == {}
    assert [c.outcome for c in h.recorder.calls] == ["cancelled"]
    assert h.transport.breaker.state.value == "closed"
