"""The Broker contract, run against both backends: in-process and Redis (real server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from gateway.events import EventType, FieldChange, IssueEvent
from gateway.pubsub import Broker, Gap, MemoryBroker, cursor_key, resume
from gateway.pubsub_redis import RedisBroker

BrokerFactory = Callable[..., Awaitable[Broker]]


def event(key: str, summary: str = "new") -> IssueEvent:
    return IssueEvent(
        id="",
        site_id="site-1",
        type=EventType.UPDATED,
        issue_key=key,
        issue_id="10001",
        project_key=key.split("-")[0],
        changes=(FieldChange("summary", "summary", None, None, "old", summary),),
        actor=None,
        timestamp=datetime.now(UTC),
    )


async def next_event(subscription: AsyncIterator[IssueEvent], within: float = 3.0) -> IssueEvent:
    return await asyncio.wait_for(anext(subscription), within)


@pytest.fixture(params=["memory", "redis"])
async def make_broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerFactory]:
    """Started brokers of the parametrized backend; Redis ones share a per-test key prefix."""
    prefix = f"{{jgw:test:{uuid.uuid4().hex}}}"
    clients: list[Redis] = []
    brokers: list[Broker] = []

    async def make(**options: float) -> Broker:
        broker: Broker
        if request.param == "memory":
            broker = MemoryBroker(**options)
        else:
            redis_url = request.getfixturevalue("redis_url")
            client = Redis.from_url(redis_url, decode_responses=True)
            clients.append(client)
            broker = RedisBroker(client, prefix=prefix, block_ms=200, **options)
        await broker.start()
        brokers.append(broker)
        return broker

    yield make
    for broker in brokers:
        await broker.aclose()
    for client in clients:
        await client.delete(f"{prefix}:stream", f"{prefix}:last")
        async for key in client.scan_iter(f"{prefix}:dedupe:*"):
            await client.delete(key)
        await client.aclose()


async def test_subscribers_receive_published_events_with_increasing_cursors(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    first, second = broker.subscribe(), broker.subscribe()

    one = await broker.publish(event("ALPHA-1", "one"))
    two = await broker.publish(event("ALPHA-2", "two"))

    assert cursor_key(one.id) < cursor_key(two.id)
    for subscription in (first, second):
        got = [await next_event(subscription), await next_event(subscription)]
        assert [e.id for e in got] == [one.id, two.id]
        assert got[1].issue_key == "ALPHA-2"
        assert got[1].changes[0].to_string == "two"
        assert got[1].timestamp == two.timestamp
    await first.aclose()
    await second.aclose()


async def test_slow_subscriber_loses_oldest_and_never_blocks_publisher(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    slow = broker.subscribe(maxsize=3)
    published = [await broker.publish(event(f"ALPHA-{n}")) for n in range(1, 7)]
    keep_up = broker.subscribe()  # joined later: sees only what comes next
    last = await broker.publish(event("ALPHA-7"))
    await next_event(keep_up)  # the Redis listener has delivered everything up to ALPHA-7

    got = [await next_event(slow) for _ in range(3)]

    assert [e.id for e in got] == [published[4].id, published[5].id, last.id]
    assert slow.dropped == 4
    assert broker.dropped == 4
    assert keep_up.dropped == 0


async def test_replay_returns_events_after_the_cursor(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    events = [await broker.publish(event(f"ALPHA-{n}")) for n in range(1, 5)]

    replayed = await broker.replay(events[1].id)

    assert not isinstance(replayed, Gap)
    assert [e.id for e in replayed] == [events[2].id, events[3].id]
    assert [e.issue_key for e in replayed] == ["ALPHA-3", "ALPHA-4"]
    assert await broker.replay(events[3].id) == []
    with pytest.raises(ValueError, match="cursor"):
        await broker.replay("not-a-cursor")


async def test_a_trimmed_cursor_is_a_gap(make_broker: BrokerFactory) -> None:
    broker = await make_broker(retention_s=0.3)
    old = await broker.publish(event("ALPHA-1"))
    also_old = await broker.publish(event("ALPHA-2"))
    await asyncio.sleep(0.45)
    fresh = await broker.publish(event("ALPHA-3"))  # publishing trims what is older than 0.3 s

    gap = await broker.replay(old.id)
    assert isinstance(gap, Gap)
    assert gap.since == old.id
    assert gap.oldest == fresh.id
    # The newest trimmed event is a fine cursor: nothing after it was lost.
    after = await broker.replay(also_old.id)
    assert not isinstance(after, Gap)
    assert [e.id for e in after] == [fresh.id]


async def test_dedupe_key_publishes_once(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    subscription = broker.subscribe()

    first = await broker.publish(event("ALPHA-1"), dedupe_key="delivery-1")
    again = await broker.publish(event("ALPHA-1"), dedupe_key="delivery-1")
    other = await broker.publish(event("ALPHA-2"), dedupe_key="delivery-2")

    assert again.id == first.id
    assert [(await next_event(subscription)).id for _ in range(2)] == [first.id, other.id]
    replayed = await broker.replay("0-0")
    assert not isinstance(replayed, Gap)
    assert [e.id for e in replayed] == [first.id, other.id]


async def test_resume_replays_then_goes_live_without_duplicates(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    seen = await broker.publish(event("ALPHA-1"))
    missed = await broker.publish(event("ALPHA-2"))
    stream = resume(broker, seen.id)

    first = await next_event(stream)
    live = await broker.publish(event("ALPHA-3"))
    second = await next_event(stream)

    assert [first.id, second.id] == [missed.id, live.id]
    await stream.aclose()


async def test_close_ends_subscriptions(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    subscription = broker.subscribe()
    consumer = asyncio.create_task(anext(subscription, None))
    await asyncio.sleep(0.05)

    await broker.aclose()

    assert await asyncio.wait_for(consumer, 2) is None
    with pytest.raises(RuntimeError, match="start the broker"):
        broker.subscribe()


async def test_unsubscribed_queue_gets_nothing_more(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    async with broker.subscribe() as gone:
        pass
    stays = broker.subscribe()
    await broker.publish(event("ALPHA-1"))
    await next_event(stays)

    assert [e async for e in gone] == []
