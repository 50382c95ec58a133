"""Webhook delivery engine: signature, identifier kept across retries, retry policy, shutdown.

Wire-level cases use ``httpx.MockTransport``; the same behaviour over real HTTP through the
sandbox is covered in ``test_sandbox_webhooks.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable

import httpx
import pytest

from gateway.sandbox.webhook_delivery import Deliverer, signature

URL = "http://receiver.test/hook"
SECRET = "s3cret"


def _scripted(statuses: list[int], seen: list[httpx.Request]) -> httpx.MockTransport:
    """A receiver answering the scripted statuses in order (then 204), recording requests."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses.pop(0) if statuses else 204)

    return httpx.MockTransport(handle)


async def _deliver(
    transport: httpx.MockTransport, *, secret: str | None = SECRET, body: bytes = b"{}"
) -> Callable[[], object]:
    deliverer = Deliverer(retry_delays=(0.0, 0.0, 0.0), transport=transport)
    record = deliverer.submit(
        webhook_id=7, url=URL, event="jira:issue_updated", body=body, secret=secret
    )
    await deliverer.drain()
    await deliverer.aclose()
    return lambda: (record.state, record.attempts, record.status)


def _valid(secret: str, request: httpx.Request) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.content, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["x-hub-signature"])


async def test_delivery_is_signed_and_identified() -> None:
    seen: list[httpx.Request] = []
    body = b'{"webhookEvent":"jira:issue_updated"}'

    outcome = await _deliver(_scripted([], seen), body=body)

    assert outcome() == ("delivered", 1, 204)
    [request] = seen
    assert request.method == "POST"
    assert request.content == body
    assert _valid("s3cret", request)
    assert not _valid("other", request)
    assert request.headers["content-type"].startswith("application/json")
    assert len(request.headers["x-atlassian-webhook-identifier"]) >= 32
    assert "x-atlassian-webhook-retry" not in request.headers  # only retries carry it


async def test_retries_reuse_the_identifier_and_count_up() -> None:
    seen: list[httpx.Request] = []

    outcome = await _deliver(_scripted([503, 429, 200], seen))

    assert outcome() == ("delivered", 3, 200)
    assert len({r.headers["x-atlassian-webhook-identifier"] for r in seen}) == 1
    assert [r.headers.get("x-atlassian-webhook-retry") for r in seen] == [None, "1", "2"]
    assert all(_valid("s3cret", r) for r in seen)


async def test_gives_up_after_three_retries() -> None:
    seen: list[httpx.Request] = []

    outcome = await _deliver(_scripted([500] * 10, seen), secret=None)

    assert outcome() == ("failed", 4, 500)
    assert len(seen) == 4
    assert "x-hub-signature" not in seen[0].headers  # no secret, no signature


@pytest.mark.parametrize("status", [400, 401, 404, 410])
async def test_a_client_error_is_final(status: int) -> None:
    seen: list[httpx.Request] = []

    outcome = await _deliver(_scripted([status], seen))

    assert outcome() == ("failed", 1, status)


async def test_connection_errors_are_retried_then_fail() -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("refused", request=request)

    deliverer = Deliverer(retry_delays=(0.0, 0.0), transport=httpx.MockTransport(refuse))
    record = deliverer.submit(webhook_id=1, url=URL, event="e", body=b"{}", secret=None)
    await deliverer.drain()
    await deliverer.aclose()

    assert (record.state, record.attempts, record.status) == ("failed", 3, None)
    assert record.error is not None
    assert "ConnectError" in record.error
    assert len({r.headers["x-atlassian-webhook-identifier"] for r in seen}) == 1


async def test_each_delivery_gets_its_own_identifier_and_log_entry() -> None:
    seen: list[httpx.Request] = []
    deliverer = Deliverer(transport=_scripted([], seen))

    for n in range(3):
        deliverer.submit(webhook_id=n, url=URL, event="e", body=b"{}", secret=None)
    await deliverer.drain()
    await deliverer.aclose()

    log = deliverer.deliveries()
    assert [entry["webhookId"] for entry in log] == [0, 1, 2]
    assert {entry["id"] for entry in log} == {
        r.headers["x-atlassian-webhook-identifier"] for r in seen
    }
    assert len({entry["id"] for entry in log}) == 3


async def test_aclose_cancels_hanging_deliveries() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    deliverer = Deliverer(transport=httpx.MockTransport(hang))
    record = deliverer.submit(webhook_id=1, url=URL, event="e", body=b"{}", secret=None)
    await asyncio.sleep(0)

    await asyncio.wait_for(deliverer.aclose(grace=0.05), timeout=2)

    assert record.state == "pending"


def test_submit_outside_an_event_loop_is_recorded_as_failed() -> None:
    deliverer = Deliverer()

    record = deliverer.submit(webhook_id=1, url=URL, event="e", body=b"{}", secret=None)

    assert (record.state, record.error) == ("failed", "no running event loop")


def test_signature_matches_the_documented_form() -> None:
    # X-Hub-Signature is "sha256=" + hex HMAC-SHA256 of the raw body (RFC 4231 test case 2)
    got = signature("Jefe", b"what do ya want for nothing?")
    assert got == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
