"""Storage behind the ``Cache`` seam: an in-process LRU (embedded mode) and Redis (services mode).

Both backends store two kinds of values under keys built by ``gateway.cache_keys``:

- ``Entry`` objects (value + ``fresh_until`` + ``stale_until``, epoch seconds) for JIRA data;
- opaque ``bytes`` blobs for the response cache.

Either kind may be *tagged*: a tag is an index key (``issue_tag(site, "ALPHA-1")``) naming the
set of cache keys built from that issue, so ``invalidate_tags`` reaches every principal's entries,
searches and responses. Backends know nothing about issues, TTL policies or clocks beyond the
``now`` they are handed; ``gateway.cache.Cache`` is the facade the rest of the code uses.

Failures of the store itself (Redis down, timeouts) surface as ``CacheUnavailable`` so the facade
can degrade to "no cache" instead of failing the request.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

Clock = Callable[[], float]

# SCAN batch size for invalidate_prefix: big enough that a 1M-key database takes ~1000 round
# trips (about a second on loopback), small enough not to block Redis for long per call.
_SCAN_COUNT = 1000


class CacheUnavailable(Exception):
    """The cache store could not be reached or answered with an error."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached value and the two instants (epoch seconds) that bound its use.

    Before ``fresh_until`` it is served as is; between ``fresh_until`` and ``stale_until`` it may be
    served stale (while a refresh runs, or because JIRA is down); after ``stale_until`` it is gone.
    """

    value: Any
    fresh_until: float
    stale_until: float

    def is_fresh(self, now: float) -> bool:
        return now < self.fresh_until

    def is_usable(self, now: float) -> bool:
        return now < self.stale_until


class CacheBackend(Protocol):
    """The storage seam. ``serializes`` says whether values go through JSON (Redis) or are kept
    as the very objects given (in-process: callers must treat cached values as immutable)."""

    serializes: bool

    async def get_many(self, keys: Sequence[str]) -> list[Entry | None]:
        """Entries in key order, ``None`` for a miss or an entry past ``stale_until``."""
        ...

    async def set_many(
        self,
        items: Sequence[tuple[str, Entry]],
        *,
        now: float,
        tags: Mapping[str, Collection[str]],
        index_ttl: float,
    ) -> None:
        """Store entries (kept until their ``stale_until``) and add each key to its tags' sets."""
        ...

    async def delete(self, keys: Sequence[str]) -> None: ...

    async def get_blob(self, key: str) -> bytes | None: ...

    async def set_blob(
        self, key: str, blob: bytes, *, ttl: float, tags: Collection[str], index_ttl: float
    ) -> None: ...

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        """Delete every key listed in these tag sets, and the sets; return how many keys."""
        ...

    async def invalidate_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix``; return how many."""
        ...

    async def try_lock(self, keys: Sequence[str], *, ttl: float) -> list[bool]:
        """Take a short lock per key (``True`` where taken); locks expire after ``ttl`` s."""
        ...

    async def unlock(self, keys: Sequence[str]) -> None: ...


def _lock_key(key: str) -> str:
    # "#" never appears in a built cache key (parts are escaped), so this cannot collide.
    return key + "#lock"


@dataclass(slots=True)
class _Slot:
    expires_at: float
    value: Entry | bytes
    tags: tuple[str, ...]


class MemoryBackend:
    """Embedded mode: an LRU dict bounded to ``max_entries``, with expiry against ``clock``.

    Single event loop only (no locking): every method runs without awaiting anything.
    """

    serializes = False

    def __init__(self, *, max_entries: int = 10_000, clock: Clock) -> None:
        self._max = max_entries
        self._clock = clock
        self._data: OrderedDict[str, _Slot] = OrderedDict()
        self._index: dict[str, set[str]] = {}
        self._locks: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._data)

    def _live(self, key: str) -> _Slot | None:
        slot = self._data.get(key)
        if slot is None:
            return None
        if slot.expires_at <= self._clock():
            self._drop(key)
            return None
        self._data.move_to_end(key)
        return slot

    def _drop(self, key: str) -> bool:
        slot = self._data.pop(key, None)
        if slot is None:
            return False
        for tag in slot.tags:
            members = self._index.get(tag)
            if members is not None:
                members.discard(key)
                if not members:
                    del self._index[tag]
        return True

    def _put(self, key: str, slot: _Slot) -> None:
        self._drop(key)
        self._data[key] = slot
        for tag in slot.tags:
            self._index.setdefault(tag, set()).add(key)
        while len(self._data) > self._max:
            oldest = next(iter(self._data))
            self._drop(oldest)

    async def get_many(self, keys: Sequence[str]) -> list[Entry | None]:
        result: list[Entry | None] = []
        for key in keys:
            slot = self._live(key)
            result.append(
                slot.value if slot is not None and isinstance(slot.value, Entry) else None
            )
        return result

    async def set_many(
        self,
        items: Sequence[tuple[str, Entry]],
        *,
        now: float,
        tags: Mapping[str, Collection[str]],
        index_ttl: float,
    ) -> None:
        for key, entry in items:
            self._put(key, _Slot(entry.stale_until, entry, tuple(tags.get(key, ()))))

    async def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._drop(key)

    async def get_blob(self, key: str) -> bytes | None:
        slot = self._live(key)
        return slot.value if slot is not None and isinstance(slot.value, bytes) else None

    async def set_blob(
        self, key: str, blob: bytes, *, ttl: float, tags: Collection[str], index_ttl: float
    ) -> None:
        self._put(key, _Slot(self._clock() + ttl, blob, tuple(tags)))

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        removed = 0
        for tag in tags:
            for key in list(self._index.pop(tag, ())):
                removed += self._drop(key)
        return removed

    async def invalidate_prefix(self, prefix: str) -> int:
        doomed = [key for key in self._data if key.startswith(prefix)]
        for key in doomed:
            self._drop(key)
        for key in [key for key in self._locks if key.startswith(prefix)]:
            del self._locks[key]
        return len(doomed)

    async def try_lock(self, keys: Sequence[str], *, ttl: float) -> list[bool]:
        now = self._clock()
        taken: list[bool] = []
        for key in keys:
            if self._locks.get(key, 0.0) > now:
                taken.append(False)
            else:
                self._locks[key] = now + ttl
                taken.append(True)
        return taken

    async def unlock(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._locks.pop(key, None)


def _millis(seconds: float) -> int:
    # Redis refuses PX 0; an entry that is already due still gets one millisecond.
    return max(1, math.ceil(seconds * 1000))


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisBackend:
    """Services mode: one Redis shared by every gateway process.

    Entries are ``orjson([fresh_until, stale_until, value])`` under ``SET PX`` (until
    ``stale_until``); reads are one ``MGET``; writes and their index ``SADD``/``PEXPIRE`` go in one
    non-transactional pipeline. Each index set gets ``index_ttl`` (>= the longest entry lifetime)
    on every write, so it outlives all its members.
    """

    serializes = True

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get_many(self, keys: Sequence[str]) -> list[Entry | None]:
        if not keys:
            return []
        try:
            raw = await self._redis.mget(list(keys))
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from exc
        result: list[Entry | None] = []
        for item in raw:
            if item is None:
                result.append(None)
                continue
            try:
                fresh_until, stale_until, value = orjson.loads(item)
            except (orjson.JSONDecodeError, ValueError, TypeError):
                result.append(None)  # written by an incompatible version: a miss
                continue
            result.append(Entry(value, float(fresh_until), float(stale_until)))
        return result

    async def set_many(
        self,
        items: Sequence[tuple[str, Entry]],
        *,
        now: float,
        tags: Mapping[str, Collection[str]],
        index_ttl: float,
    ) -> None:
        if not items:
            return
        pipe = self._redis.pipeline(transaction=False)
        by_tag: dict[str, list[str]] = {}
        for key, entry in items:
            payload = orjson.dumps([entry.fresh_until, entry.stale_until, entry.value])
            pipe.set(key, payload, px=_millis(entry.stale_until - now))
            for tag in tags.get(key, ()):
                by_tag.setdefault(tag, []).append(key)
        self._queue_index(pipe, by_tag, index_ttl)
        await self._execute(pipe)

    @staticmethod
    def _queue_index(pipe: Any, by_tag: Mapping[str, Sequence[str]], index_ttl: float) -> None:
        for tag, keys in by_tag.items():
            pipe.sadd(tag, *keys)
            pipe.pexpire(tag, _millis(index_ttl))

    @staticmethod
    async def _execute(pipe: Any) -> list[Any]:
        try:
            result: list[Any] = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from exc
        return result

    async def delete(self, keys: Sequence[str]) -> None:
        if keys:
            try:
                await self._redis.unlink(*keys)
            except (RedisError, OSError) as exc:
                raise CacheUnavailable(str(exc)) from exc

    async def get_blob(self, key: str) -> bytes | None:
        try:
            raw = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from exc
        if raw is None:
            return None
        return raw if isinstance(raw, bytes) else str(raw).encode()

    async def set_blob(
        self, key: str, blob: bytes, *, ttl: float, tags: Collection[str], index_ttl: float
    ) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(key, blob, px=_millis(ttl))
        self._queue_index(pipe, {tag: [key] for tag in tags}, index_ttl)
        await self._execute(pipe)

    async def invalidate_tags(self, tags: Sequence[str]) -> int:
        if not tags:
            return 0
        # SMEMBERS + DEL in one MULTI: a key added to a set right after is in a new set, never lost.
        pipe = self._redis.pipeline(transaction=True)
        for tag in tags:
            pipe.smembers(tag)
        pipe.delete(*tags)
        results = await self._execute(pipe)
        # The worker shares a decoding client (its broker needs str); the gateway's does not.
        members = sorted(
            {
                m.decode() if isinstance(m, bytes) else str(m)
                for found in results[:-1]
                for m in found
            }
        )
        if not members:
            return 0
        try:
            return int(await self._redis.unlink(*members))
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from exc

    async def invalidate_prefix(self, prefix: str) -> int:
        removed = 0
        try:
            async for batch in _scan_batches(self._redis, _glob_escape(prefix) + "*"):
                removed += int(await self._redis.unlink(*batch))
        except (RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from exc
        return removed

    async def try_lock(self, keys: Sequence[str], *, ttl: float) -> list[bool]:
        if not keys:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.set(_lock_key(key), b"1", nx=True, px=_millis(ttl))
        return [bool(taken) for taken in await self._execute(pipe)]

    async def unlock(self, keys: Sequence[str]) -> None:
        await self.delete([_lock_key(key) for key in keys])


async def _scan_batches(redis: Redis, pattern: str) -> AsyncIterator[list[Any]]:
    cursor = 0
    while True:
        cursor, found = await redis.scan(cursor=cursor, match=pattern, count=_SCAN_COUNT)
        if found:
            yield found
        if cursor == 0:
            return
