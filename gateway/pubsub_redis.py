"""``RedisBroker``: the services-mode ``Broker`` on one Redis stream (seam: ``gateway.pubsub``).

Layout (one stream for all sites; subscribers filter by site):

- ``{prefix}:stream``: entries ``e`` (the event JSON without its id) and ``p`` (the previous
  entry's id). ``XADD MAXLEN ~ max_events`` bounds memory; an exact ``XTRIM MINID`` drops
  entries older than ``retention_s`` (Redis' own clock, so skewed gateway clocks do not matter);
- ``{prefix}:last``: the newest id ever added;
- ``{prefix}:dedupe:<key>``: the id published under a dedupe key (expires with the retention).

Publishing is one Lua script (atomic: dedupe check, ``XADD``, trim, bookkeeping). Because each
entry names its predecessor, ``replay`` detects a gap exactly, whatever trimmed it: the first
entry after the cursor must point back at the cursor.

The prefix holds a hash tag (``{jgw:v1:events}``), so the keys of one script share a slot on a
Redis Cluster. Works with clients that decode responses and with arq's pool, which does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.events import IssueEvent
from gateway.pubsub import (
    DEFAULT_MAX_EVENTS,
    DEFAULT_RETENTION_S,
    Gap,
    _Fanout,
    cursor_key,
)

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "{jgw:v1:events}"
# The listener re-issues XREAD every 5 s even when idle: a silently dead TCP connection is
# noticed within that time, at the cost of one tiny round trip per process.
BLOCK_MS = 5000
READ_BATCH = 500

_PUBLISH = """
if ARGV[4] == '1' then
  local seen = redis.call('GET', KEYS[3])
  if seen then return {seen, 0} end
end
local prev = redis.call('GET', KEYS[2]) or '0-0'
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1], 'p', prev)
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('XTRIM', KEYS[1], 'MINID', tostring(now_ms - tonumber(ARGV[3])) .. '-0')
redis.call('SET', KEYS[2], id)
if ARGV[4] == '1' then redis.call('SET', KEYS[3], id, 'PX', ARGV[3]) end
return {id, 1}
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(fields: dict[Any, Any], name: str) -> Any:
    return fields.get(name, fields.get(name.encode()))


class RedisBroker(_Fanout):
    """Broker over a Redis stream; ONE listener (one blocked connection) per instance/process.

    ``redis`` is the process's shared client (built in the lifespan); publishing and replaying
    borrow pooled connections, the listener keeps one while it runs. ``aclose()`` cancels the
    listener, which releases its connection, and ends every subscription. The client must not
    set a ``socket_timeout`` shorter than ``block_ms`` (the listener's XREAD would time out).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        retention_s: float = DEFAULT_RETENTION_S,
        max_events: int = DEFAULT_MAX_EVENTS,
        block_ms: int = BLOCK_MS,
    ) -> None:
        super().__init__()
        self._redis = redis
        self._stream = f"{prefix}:stream"
        self._last_key = f"{prefix}:last"
        self._dedupe_prefix = f"{prefix}:dedupe:"
        self._retention_ms = int(retention_s * 1000)
        self._max_events = max_events
        self._block_ms = block_ms
        self._script = redis.register_script(_PUBLISH)
        self._task: asyncio.Task[None] | None = None
        self._position = "0-0"

    async def start(self) -> None:
        if self._task is not None:
            return
        newest = await self._redis.xrevrange(self._stream, count=1)
        self._position = _text(newest[0][0]) if newest else "0-0"
        self._task = asyncio.create_task(self._listen(), name="jgw-broker-listener")
        await super().start()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().aclose()

    async def publish(self, event: IssueEvent, *, dedupe_key: str | None = None) -> IssueEvent:
        payload = event.to_json()
        del payload["id"]
        result = await self._script(
            keys=[self._stream, self._last_key, self._dedupe_prefix + (dedupe_key or "")],
            args=[
                orjson.dumps(payload),
                self._max_events,
                self._retention_ms,
                "1" if dedupe_key is not None else "0",
            ],
        )
        return event.with_id(_text(result[0]))

    async def replay(self, since: str) -> list[IssueEvent] | Gap:
        cursor_key(since)  # refuse garbage before asking Redis
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xrange(self._stream, min="(" + since, max="+", count=self._max_events)
            pipe.get(self._last_key)
            entries, last = await pipe.execute()
        if not entries:
            if last is not None and cursor_key(_text(last)) > cursor_key(since):
                return Gap(since=since, oldest=None)  # everything after `since` was trimmed
            return []
        first_id, first_fields = entries[0]
        if _text(_field(first_fields, "p")) != since:
            return Gap(since=since, oldest=_text(first_id))
        events = [self._decode(entry_id, fields) for entry_id, fields in entries]
        return [e for e in events if e is not None]

    @staticmethod
    def _decode(entry_id: Any, fields: dict[Any, Any]) -> IssueEvent | None:
        try:
            return IssueEvent.from_json(orjson.loads(_field(fields, "e"))).with_id(_text(entry_id))
        except (KeyError, TypeError, ValueError):
            log.exception("undecodable event %s in the broker stream; skipped", _text(entry_id))
            return None

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                reply = await self._redis.xread(
                    {self._stream: self._position}, count=READ_BATCH, block=self._block_ms
                )
            except (RedisError, OSError) as exc:
                # The stream keeps what we missed: resume from the last id after reconnecting.
                log.warning("broker listener: %s; retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    self._position = _text(entry_id)
                    event = self._decode(entry_id, fields)
                    if event is not None:
                        self._deliver(event)


__all__ = ["DEFAULT_PREFIX", "RedisBroker"]
