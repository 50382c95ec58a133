"""The sandbox control API over real HTTP: call counts, faults, rate limit and their validation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from gateway.sandbox import control
from gateway.sandbox.control import Faults, TokenBucket
from tests.support import RunningServer, SandboxFactory, serve_in_thread

ALICE = ("alice@example.com", "alice-token")


async def _issue(request: Request) -> JSONResponse:
    return JSONResponse({"key": request.path_params["key"]})


async def _myself(request: Request) -> JSONResponse:
    return JSONResponse({"name": "alice"})


def _make_app() -> Starlette:
    """A tiny JIRA look-alike with plain and mounted routes, wrapped like the real sandbox."""
    api2 = [Route("/issue/{key}", _issue, methods=["GET", "PUT"])]
    return Starlette(
        routes=[
            *control.routes(),
            Route("/rest/api/3/issue/{key}", _issue, methods=["GET"]),
            Route("/rest/api/3/myself", _myself),
            Mount("/rest/api/2", routes=api2),
            Route("/healthz", _myself),
        ],
        middleware=[Middleware(control.SandboxControlMiddleware)],
    )


@pytest.fixture
def sandbox() -> Iterator[RunningServer]:
    server = serve_in_thread(_make_app())
    yield server
    server.stop()


@pytest.fixture
def client(sandbox: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as c:
        yield c


def _faults(client: httpx.Client, body: object) -> httpx.Response:
    return client.post("/_sandbox/faults", json=body)


def test_calls_are_counted_by_route_template(client: httpx.Client) -> None:
    for key in ("A-1", "A-2", "B-7"):
        assert client.get(f"/rest/api/3/issue/{key}").status_code == 200
    client.put("/rest/api/2/issue/A-1")
    client.get("/rest/api/2/issue/A-1")
    client.get("/rest/api/3/myself")
    client.get("/rest/api/3/nothing-here")  # 404, still a call that reached the sandbox
    client.get("/healthz")  # not a JIRA path: never counted
    client.get("/_sandbox/faults")  # control paths are never counted

    calls = client.get("/_sandbox/calls").json()

    assert calls == {
        "total": 7,
        "by_endpoint": {
            "GET /rest/api/3/issue/{key}": 3,
            "PUT /rest/api/2/issue/{key}": 1,
            "GET /rest/api/2/issue/{key}": 1,
            "GET /rest/api/3/myself": 1,
            "GET /rest/api/3/nothing-here": 1,
        },
    }


def test_reset_zeroes_the_counts(client: httpx.Client) -> None:
    client.get("/rest/api/3/myself")
    assert client.get("/_sandbox/calls").json()["total"] == 1

    reset = client.post("/_sandbox/calls/reset")

    assert reset.status_code == 200
    assert client.get("/_sandbox/calls").json() == {"total": 0, "by_endpoint": {}}


def test_two_sandboxes_do_not_share_state(client: httpx.Client) -> None:
    other = serve_in_thread(_make_app())
    try:
        with httpx.Client(base_url=other.base_url) as other_client:
            other_client.get("/rest/api/3/myself")
            _faults(other_client, {"status": 500})
            assert other_client.get("/_sandbox/calls").json()["total"] == 1
        assert client.get("/_sandbox/calls").json()["total"] == 0
        assert client.get("/rest/api/3/myself").status_code == 200
    finally:
        other.stop()


async def test_latency_delays_without_blocking_the_loop(sandbox: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as client:
        await client.post("/_sandbox/faults", json={"latency_ms": 300})
        started = time.perf_counter()
        answers = await asyncio.gather(*(client.get("/rest/api/3/myself") for _ in range(5)))
        elapsed = time.perf_counter() - started
        # control calls are not delayed, so a test can always switch faults off quickly
        control_started = time.perf_counter()
        await client.get("/_sandbox/faults")
        control_elapsed = time.perf_counter() - control_started

    assert [a.status_code for a in answers] == [200] * 5
    assert 0.3 <= elapsed < 1.2  # five delays overlapped: the sandbox did not block on a sleep
    assert control_elapsed < 0.3


def test_error_rate_one_answers_503_with_jira_body_and_counts_it(client: httpx.Client) -> None:
    assert _faults(client, {"error_rate": 1.0}).status_code == 200

    answer = client.get("/rest/api/3/issue/A-1")

    assert answer.status_code == 503
    body = answer.json()
    assert body["errors"] == {}
    assert len(body["errorMessages"]) == 1
    assert client.get("/_sandbox/calls").json()["by_endpoint"] == {"GET /rest/api/3/issue/{key}": 1}


def test_error_rate_is_a_probability(client: httpx.Client) -> None:
    _faults(client, {"error_rate": 0.5, "status": 502})

    statuses = [client.get("/rest/api/3/myself").status_code for _ in range(200)]

    assert set(statuses) == {200, 502}
    # binomial(200, 0.5): 60..140 fails with probability < 1e-8
    assert 60 <= statuses.count(502) <= 140


def test_status_alone_answers_every_request_with_it(client: httpx.Client) -> None:
    _faults(client, {"status": 500})

    assert {client.get("/rest/api/3/myself").status_code for _ in range(5)} == {500}
    assert client.get("/healthz").status_code == 200  # non-JIRA paths are untouched


def test_rate_limit_answers_429_with_cloud_headers(client: httpx.Client) -> None:
    _faults(client, {"rate_limit_per_s": 2})

    answers = [client.get("/rest/api/3/myself") for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [200, 200]
    limited = answers[2]
    assert limited.status_code == 429
    retry_after = int(limited.headers["Retry-After"])
    assert retry_after >= 1
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    reset = datetime.fromisoformat(limited.headers["X-RateLimit-Reset"])
    assert reset.tzinfo is not None
    assert reset > datetime.now(UTC)
    assert limited.json()["errorMessages"]
    # the refused call reached the sandbox, so it is counted
    assert client.get("/_sandbox/calls").json()["total"] == 3

    time.sleep(retry_after)
    assert client.get("/rest/api/3/myself").status_code == 200


def test_empty_body_clears_all_faults(client: httpx.Client) -> None:
    _faults(client, {"status": 500, "latency_ms": 10, "rate_limit_per_s": 1})
    assert client.get("/_sandbox/faults").json()["status"] == 500

    cleared = client.post("/_sandbox/faults", content=b"")

    assert cleared.status_code == 200
    assert client.get("/_sandbox/faults").json() == Faults().as_json()
    assert {client.get("/rest/api/3/myself").status_code for _ in range(5)} == {200}
    _faults(client, {"status": 500})
    assert _faults(client, {}).json()["status"] is None


def test_a_new_body_replaces_the_previous_faults(client: httpx.Client) -> None:
    _faults(client, {"status": 500})

    shown = _faults(client, {"latency_ms": 5}).json()

    assert shown == {"latency_ms": 5, "error_rate": None, "status": None, "rate_limit_per_s": None}
    assert client.get("/_sandbox/faults").json() == shown


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([1, 2], "JSON object"),
        ({"latency_ms": "slow"}, "latency_ms"),
        ({"latency_ms": True}, "latency_ms"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 1.5}, "latency_ms"),
        ({"error_rate": 1.5}, "error_rate"),
        ({"status": 200}, "status"),
        ({"rate_limit_per_s": 0}, "rate_limit_per_s"),
        ({"latency": 5}, "latency"),
    ],
)
def test_invalid_fault_bodies_are_400_with_a_clear_message(
    client: httpx.Client, body: object, needle: str
) -> None:
    _faults(client, {"status": 500})

    answer = _faults(client, body)

    assert answer.status_code == 400
    assert needle in answer.json()["errorMessages"][0]
    assert client.get("/_sandbox/faults").json()["status"] == 500  # previous faults kept


def test_malformed_json_is_400(client: httpx.Client) -> None:
    answer = client.post("/_sandbox/faults", content=b"{nope", headers={"content-type": "json"})

    assert answer.status_code == 400
    assert "JSON" in answer.json()["errorMessages"][0]


def test_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(4.0, clock=lambda: now[0])

    assert [bucket.take()[0] for _ in range(5)] == [True, True, True, True, False]
    now[0] += 0.25  # a quarter second buys exactly one token at 4/s
    assert bucket.take() == (True, 0.0)
    allowed, wait = bucket.take()
    assert not allowed
    assert wait == pytest.approx(0.25)


def test_fractional_rate_allows_a_burst_of_one() -> None:
    now = [0.0]
    bucket = TokenBucket(0.5, clock=lambda: now[0])

    assert bucket.take()[0]
    allowed, wait = bucket.take()
    assert not allowed
    assert wait == pytest.approx(2.0)


# --- through the real sandbox app --------------------------------------------------------------


@pytest.fixture
def core(sandbox_factory: SandboxFactory) -> Iterator[httpx.Client]:
    """The real cloud sandbox (own seed: these tests change its faults); faults cleared after."""
    server = sandbox_factory(flavor="cloud", seed=32)
    with httpx.Client(base_url=server.base_url, auth=ALICE, timeout=10) as c:
        c.post("/_sandbox/calls/reset")
        yield c
        c.post("/_sandbox/faults", content=b"")


def test_core_counts_calls_by_declared_template(core: httpx.Client) -> None:
    core.get("/rest/api/3/issue/ALPHA-1")
    core.get("/rest/api/3/issue/BETA-1")
    core.get("/rest/api/2/issue/ALPHA-1")
    core.get("/rest/api/3/myself", auth=("nobody@example.com", "x"))  # a 401 is still a call

    calls = core.get("/_sandbox/calls").json()

    assert calls["total"] == 4
    assert calls["by_endpoint"]["GET /rest/api/3/issue/{key}"] == 2
    assert calls["by_endpoint"]["GET /rest/api/2/issue/{key}"] == 1
    assert calls["by_endpoint"]["GET /rest/api/3/myself"] == 1


def test_core_rate_limit_and_forced_status(core: httpx.Client) -> None:
    core.post("/_sandbox/faults", json={"rate_limit_per_s": 1})
    statuses = [core.get("/rest/api/3/myself").status_code for _ in range(3)]
    assert statuses == [200, 429, 429]

    core.post("/_sandbox/faults", json={"status": 503})
    answer = core.get("/rest/api/3/issue/ALPHA-1")
    assert answer.status_code == 503
    assert answer.json()["errors"] == {}

    assert core.get("/_sandbox/calls").json()["total"] == 4


def test_sandbox_reset_clears_faults_and_counts_but_keeps_webhooks(core: httpx.Client) -> None:
    registered = core.post(
        "/rest/api/3/webhook",
        json={
            "url": "http://127.0.0.1:9/hook",
            "webhooks": [{"events": ["jira:issue_updated"], "jqlFilter": "project = ALPHA"}],
        },
    )
    [result] = registered.json()["webhookRegistrationResult"]
    hook_id = int(result["createdWebhookId"])
    try:
        core.get("/rest/api/3/issue/ALPHA-1")
        core.post("/_sandbox/faults", json={"status": 503, "latency_ms": 5})
        assert core.get("/rest/api/3/issue/ALPHA-1").status_code == 503

        reset = core.post("/_sandbox/reset")

        assert reset.status_code == 200
        assert core.get("/_sandbox/faults").json() == Faults().as_json()
        assert core.get("/_sandbox/calls").json() == {"total": 0, "by_endpoint": {}}
        assert core.get("/rest/api/3/issue/ALPHA-1").status_code == 200  # no fault any more
        hooks = core.get("/rest/api/3/webhook").json()["values"]
        assert [h["id"] for h in hooks] == [hook_id]
    finally:
        core.request("DELETE", "/rest/api/3/webhook", json={"webhookIds": [hook_id]})
