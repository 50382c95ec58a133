"""RedisBroker specifics on a real Redis: two processes, connection hygiene, reconnects."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from gateway.events import EventType, IssueEvent
from gateway.pubsub import Gap
from gateway.pubsub_redis import RedisBroker


def event(key: str) -> IssueEvent:
    return IssueEvent(
        id="",
        site_id="site-1",
        type=EventType.CREATED,
        issue_key=key,
        issue_id="1",
        project_key="ALPHA",
        changes=(),
        actor=None,
        timestamp=datetime.now(UTC),
    )


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    value = f"{{jgw:test:{uuid.uuid4().hex}}}"
    yield value
    cleanup = Redis.from_url(redis_url)
    await cleanup.delete(f"{value}:stream", f"{value}:last")
    await cleanup.aclose()


def client(redis_url: str, name: str) -> Redis:
    # A client name per test lets us count OUR connections on a Redis shared with other tests.
    return Redis.from_url(redis_url, decode_responses=True, client_name=name)


async def connections(admin: Redis, name: str) -> list[dict[str, str]]:
    return [c for c in await admin.client_list() if c.get("name") == name]


async def listener_ready(admin: Redis, name: str) -> list[dict[str, str]]:
    """Our connections, once the broker's listener sits in XREAD."""
    for _ in range(200):
        current = await connections(admin, name)
        if "xread" in [c["cmd"] for c in current]:
            return current
        await asyncio.sleep(0.01)
    raise AssertionError("the listener never reached XREAD")


async def test_two_processes_both_receive_an_event_published_by_one(
    redis_url: str, prefix: str
) -> None:
    # Two clients and two brokers: what two gateway processes hold.
    redis_a, redis_b = client(redis_url, "jgw-a"), client(redis_url, "jgw-b")
    async with RedisBroker(redis_a, prefix=prefix) as a, RedisBroker(redis_b, prefix=prefix) as b:
        on_a, on_b = a.subscribe(), b.subscribe()

        published = await a.publish(event("ALPHA-9"))

        got_a = await asyncio.wait_for(anext(on_a), 3)
        got_b = await asyncio.wait_for(anext(on_b), 3)
        assert got_a == got_b == published
        replayed = await b.replay("0-0")
        assert not isinstance(replayed, Gap)
        assert replayed == [published]
    await redis_a.aclose()
    await redis_b.aclose()


async def test_subscribers_hold_no_connection_and_closing_releases_the_listener(
    redis_url: str, prefix: str
) -> None:
    name = f"jgw-conn-{uuid.uuid4().hex[:8]}"
    admin = Redis.from_url(redis_url, decode_responses=True)
    redis = client(redis_url, name)
    async with RedisBroker(redis, prefix=prefix, block_ms=200) as broker:
        await broker.publish(event("ALPHA-1"))  # the pool now holds its working connection
        with_listener = len(await listener_ready(admin, name))
        for _ in range(100):
            async with broker.subscribe() as subscription:
                consumer = asyncio.create_task(anext(subscription, None))
                await asyncio.sleep(0)
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
        after_cycles = await connections(admin, name)
        assert len(after_cycles) == with_listener
        assert broker.subscriber_count == 0
        # Exactly one connection sits in XREAD: the process's single listener.
        assert [c["cmd"] for c in after_cycles].count("xread") == 1

    for _ in range(20):  # listeners cancelled mid-XREAD give their connection back
        async with RedisBroker(redis, prefix=prefix, block_ms=5000) as broker:
            broker.subscribe()
            await listener_ready(admin, name)
    await asyncio.sleep(0.1)
    remaining = await connections(admin, name)
    assert len(remaining) <= with_listener
    assert "xread" not in [c["cmd"] for c in remaining]
    await redis.aclose()
    await asyncio.sleep(0.1)
    assert await connections(admin, name) == []
    await admin.aclose()


async def test_listener_survives_a_killed_connection_without_losing_events(
    redis_url: str, prefix: str
) -> None:
    name = f"jgw-kill-{uuid.uuid4().hex[:8]}"
    admin = Redis.from_url(redis_url, decode_responses=True)
    redis = client(redis_url, name)
    publisher = client(redis_url, name + "-pub")
    async with (
        RedisBroker(redis, prefix=prefix, block_ms=200) as listening,
        RedisBroker(publisher, prefix=prefix) as publishing,
    ):
        subscription = listening.subscribe()
        first = await publishing.publish(event("ALPHA-1"))
        assert await asyncio.wait_for(anext(subscription), 3) == first
        for conn in await connections(admin, name):
            await admin.client_kill_filter(_id=conn["id"])
        # Published while the listener is reconnecting: the stream keeps it for the listener.
        second = await publishing.publish(event("ALPHA-2"))

        assert await asyncio.wait_for(anext(subscription), 10) == second
    await redis.aclose()
    await publisher.aclose()
    await admin.aclose()
