"""The ``Broker`` seam: publish ``IssueEvent``s to every gateway process, replay recent ones.

Two backends with one contract (DESIGN §2): ``MemoryBroker`` (embedded mode, one process) and
``gateway.pubsub_redis.RedisBroker`` (services mode). Both fan out to *local* subscribers
through bounded queues:

- ``publish(event)`` never blocks on subscribers; a slow subscriber whose queue is full loses its
  OLDEST event and its ``dropped`` counter (and the broker's) goes up;
- ``subscribe()`` returns a ``Subscription`` (async iterator, ``async with`` / ``aclose``);
- ``replay(since)`` returns the events after cursor ``since``, or a ``Gap`` when some of them
  were already trimmed (the client must resync). Events are kept ``retention_s`` (default 5 min),
  at most ``max_events``.

Cursors are Redis stream ids (``<ms>-<seq>``), also in memory, so they compare the same way.

Why a Redis STREAM rather than PUBLISH/SUBSCRIBE: one ``XADD`` gives fan-out (every process
reads the stream) AND retention for ``replay`` in a single mechanism with one id space, and a
listener that lost its connection resumes from its last id without losing events. Each process
runs ONE listener (one ``XREAD BLOCK`` connection) that feeds all its local subscribers; no
subscriber ever holds a Redis connection. The listener starts from the stream's last id read at
``start()`` (not ``$`` on every call, which would skip events published between two reads).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from gateway.events import IssueEvent

log = logging.getLogger(__name__)

DEFAULT_RETENTION_S = 300.0
DEFAULT_MAX_EVENTS = 10_000
# 1,000 queued events per subscriber: ~1 MB of small events at worst; a UI that is that far
# behind is better served by a resync than by a longer backlog.
DEFAULT_QUEUE_SIZE = 1000


def cursor_key(cursor: str) -> tuple[int, int]:
    """A stream id as a sortable tuple; raises ``ValueError`` for anything else."""
    ms, sep, seq = cursor.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        raise ValueError(f"not an event cursor: {cursor!r}")
    return int(ms), int(seq)


@dataclass(frozen=True, slots=True)
class Gap:
    """Events after ``since`` were trimmed: the client missed some and must resync.

    ``oldest`` is the oldest cursor still retained (None when nothing is).
    """

    since: str
    oldest: str | None


class Subscription:
    """One local subscriber: an async iterator of events over a bounded queue.

    Iteration ends after ``aclose()`` or when the broker closes. ``dropped`` counts events this
    subscriber lost because it was too slow (oldest dropped first).
    """

    def __init__(self, owner: _Fanout, maxsize: int) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[IssueEvent | None] = asyncio.Queue(maxsize)
        self._closed = False
        self.dropped = 0

    def offer(self, event: IssueEvent | None) -> None:
        """Enqueue without blocking, dropping the oldest event when full."""
        if self._queue.full():
            self._queue.get_nowait()
            if event is not None:
                self.dropped += 1
                self._owner.dropped += 1
        self._queue.put_nowait(event)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> IssueEvent:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            self._closed = True
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner.remove(self)
            self.offer(None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


class Broker(Protocol):
    """Publish/subscribe/replay of ``IssueEvent``s (see the module docstring)."""

    dropped: int

    async def start(self) -> None:
        """Start listening (Redis: the one listener of this process); idempotent."""

    async def aclose(self) -> None:
        """Stop listening, end every subscription, release connections."""

    async def publish(self, event: IssueEvent, *, dedupe_key: str | None = None) -> IssueEvent:
        """Publish ``event``; returns it with its cursor ``id``.

        With ``dedupe_key`` a second publish under the same key (within the retention window)
        publishes nothing and returns the first event's cursor: a rerun job publishes once.
        """

    def subscribe(self, maxsize: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        """A new local subscription receiving every event published from now on."""

    async def replay(self, since: str) -> list[IssueEvent] | Gap:
        """Retained events after cursor ``since`` (oldest first), or a ``Gap``."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class _Fanout:
    """Local subscribers and the fan-out shared by both backends."""

    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._started = False
        self.dropped = 0

    def remove(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self, maxsize: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        if not self._started:
            raise RuntimeError("start the broker first (`async with broker:` or `await start()`)")
        subscription = Subscription(self, maxsize)
        self._subscribers.add(subscription)
        return subscription

    def _deliver(self, event: IssueEvent) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(event)

    def _end_subscriptions(self) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(None)
        self._subscribers.clear()

    async def start(self) -> None:
        self._started = True

    async def aclose(self) -> None:
        self._started = False
        self._end_subscriptions()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class MemoryBroker(_Fanout):
    """In-process broker (embedded mode); also the reference behaviour for ``RedisBroker``."""

    def __init__(
        self,
        *,
        retention_s: float = DEFAULT_RETENTION_S,
        max_events: int = DEFAULT_MAX_EVENTS,
        clock: Any = time.time,
    ) -> None:
        super().__init__()
        self._retention_s = retention_s
        self._clock = clock
        self._events: deque[tuple[float, IssueEvent]] = deque()
        self._max_events = max_events
        self._trimmed_up_to: tuple[int, int] = (0, 0)
        self._last: tuple[int, int] = (0, 0)
        self._dedupe: dict[str, tuple[float, str]] = {}

    def _next_id(self, now: float) -> str:
        ms = int(now * 1000)
        last_ms, last_seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return f"{self._last[0]}-{self._last[1]}"

    def _trim(self, now: float) -> None:
        horizon = now - self._retention_s
        while self._events and (
            self._events[0][0] < horizon or len(self._events) > self._max_events
        ):
            _, old = self._events.popleft()
            self._trimmed_up_to = cursor_key(old.id)
        for key in [k for k, (expiry, _) in self._dedupe.items() if expiry < now]:
            del self._dedupe[key]

    async def publish(self, event: IssueEvent, *, dedupe_key: str | None = None) -> IssueEvent:
        now = self._clock()
        self._trim(now)
        if dedupe_key is not None and dedupe_key in self._dedupe:
            return event.with_id(self._dedupe[dedupe_key][1])
        published = event.with_id(self._next_id(now))
        self._events.append((now, published))
        if dedupe_key is not None:
            self._dedupe[dedupe_key] = (now + self._retention_s, published.id)
        self._deliver(published)
        return published

    async def replay(self, since: str) -> list[IssueEvent] | Gap:
        self._trim(self._clock())
        after = cursor_key(since)
        if after < self._trimmed_up_to:
            oldest = self._events[0][1].id if self._events else None
            return Gap(since=since, oldest=oldest)
        return [e for _, e in self._events if cursor_key(e.id) > after]


async def resume(broker: Broker, since: str | None) -> AsyncIterator[IssueEvent | Gap]:
    """Live events, preceded by the replay since ``since`` (or a ``Gap``), without duplicates.

    Subscribes BEFORE replaying, so no event falls between replay and live delivery; events
    seen in the replay are skipped when they arrive live.
    """
    async with broker.subscribe() as subscription:
        last = (0, 0)
        if since is not None:
            last = cursor_key(since)
            replayed = await broker.replay(since)
            if isinstance(replayed, Gap):
                yield replayed
            else:
                for event in replayed:
                    last = cursor_key(event.id)
                    yield event
        async for event in subscription:
            if cursor_key(event.id) > last:
                last = cursor_key(event.id)
                yield event


__all__ = [
    "DEFAULT_MAX_EVENTS",
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_RETENTION_S",
    "Broker",
    "Gap",
    "MemoryBroker",
    "Subscription",
    "cursor_key",
    "resume",
]
