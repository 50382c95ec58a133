"""``CachedFetch``: the read-through helper every loader batch function goes through.

Contract of ``load(keys, args, fetch, policy=...)``: values come back in key order, ``None`` where
JIRA has nothing (not cached). ``fetch(args)`` is the loader's batch call to JIRA for the misses;
it must return one value (or ``None``) per argument, in order. Per key:

- fresh entry -> returned, no JIRA call;
- stale but within ``policy.revalidate`` -> returned at once, and ONE background refresh is
  scheduled: a per-key registry stops a second one in this process, and a short backend lock
  (Redis ``SET NX PX``) stops one in another process. A failed refresh keeps the lock until it
  expires, which doubles as a back-off while JIRA is down;
- anything else is a miss: all misses of the call go to ONE ``fetch`` call, shared with any
  concurrent call of this process asking for the same keys (single-flight), then stored;
- stale-if-error: when that fetch raises a ``JiraUnavailable`` (or ``JiraRateLimited``), keys
  that still have an entry within ``stale_until`` get it, recorded in ``CacheOutcome``; the others
  get the error.

The background refresh calls ``fetch`` after the operation may have finished, so ``fetch`` must
only hold process-wide clients (the httpx pool, credentials), never a per-operation DB session.
With the Redis backend values travel as JSON: give a ``Codec`` to turn them back into objects.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gateway.cache import Cache, CacheOutcome, CachePolicy
from gateway.cache_backends import CacheUnavailable, Entry
from gateway.jira.errors import JiraRateLimited, JiraUnavailable

A = TypeVar("A")
V = TypeVar("V")

log = logging.getLogger("gateway.cache")

STALE_ON_ERRORS: tuple[type[BaseException], ...] = (JiraUnavailable, JiraRateLimited)


# No slots: a slotted generic dataclass breaks ``Codec[X](...)`` on Python 3.11.
@dataclass(frozen=True)
class Codec(Generic[V]):
    """JSON form of a value for serializing backends (``dump``) and back (``load``)."""

    dump: Callable[[V], Any]
    load: Callable[[Any], V]


class CachedFetch:
    """Read-through over a ``Cache``. One per process (the registries must be shared)."""

    def __init__(
        self, cache: Cache, *, stale_on: tuple[type[BaseException], ...] = STALE_ON_ERRORS
    ) -> None:
        self.cache = cache
        self._stale_on = stale_on
        self._inflight: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._refreshing: set[str] = set()
        self._background: set[asyncio.Task[Any]] = set()

    async def load(
        self,
        keys: Sequence[str],
        args: Sequence[A],
        fetch: Callable[[list[A]], Awaitable[Sequence[V | None]]],
        *,
        policy: CachePolicy,
        tags: Callable[[A, V], Iterable[str]] | None = None,
        codec: Codec[V] | None = None,
        outcome: CacheOutcome | None = None,
    ) -> list[V | None]:
        """Values in key order; raises the first error a key could not be served through."""
        results = await self.load_or_errors(
            keys, args, fetch, policy=policy, tags=tags, codec=codec, outcome=outcome
        )
        values: list[V | None] = []
        for item in results:
            if isinstance(item, BaseException):
                raise item
            values.append(item)
        return values

    async def load_or_errors(
        self,
        keys: Sequence[str],
        args: Sequence[A],
        fetch: Callable[[list[A]], Awaitable[Sequence[V | None]]],
        *,
        policy: CachePolicy,
        tags: Callable[[A, V], Iterable[str]] | None = None,
        codec: Codec[V] | None = None,
        outcome: CacheOutcome | None = None,
    ) -> list[V | BaseException | None]:
        """Like ``load`` but an error stands in the place of each key it hit (the shape a
        DataLoader batch function returns, so one failing key does not fail its neighbours)."""
        if len(keys) != len(args):
            raise ValueError(f"{len(keys)} keys but {len(args)} arguments")
        outcome = outcome if outcome is not None else CacheOutcome()
        wanted: dict[str, A] = {}
        for key, arg in zip(keys, args, strict=True):
            wanted.setdefault(key, arg)
        entries = await self.cache.get_many(list(wanted))
        now = self.cache.clock()
        found: dict[str, V | BaseException | None] = {}
        fallback: dict[str, Entry] = {}
        refresh: dict[str, A] = {}
        missing: dict[str, A] = {}
        for (key, arg), entry in zip(wanted.items(), entries, strict=True):
            if entry is not None and entry.is_fresh(now):
                found[key] = self._decode(entry.value, codec)
                outcome.hits += 1
            elif (
                entry is not None
                and entry.is_usable(now)
                and now < entry.fresh_until + policy.revalidate
            ):
                found[key] = self._decode(entry.value, codec)
                outcome.stale_keys.append(key)
                refresh[key] = arg
            else:
                if entry is not None and entry.is_usable(now):
                    fallback[key] = entry
                missing[key] = arg
                outcome.misses += 1
        if refresh:
            outcome.refreshes += self._schedule_refresh(refresh, fetch, policy, tags, codec)
        if missing:
            await self._fetch_missing(missing, fetch, policy, tags, codec, fallback, found, outcome)
        return [found[key] for key in keys]

    async def _fetch_missing(
        self,
        missing: dict[str, A],
        fetch: Callable[[list[A]], Awaitable[Sequence[V | None]]],
        policy: CachePolicy,
        tags: Callable[[A, V], Iterable[str]] | None,
        codec: Codec[V] | None,
        fallback: dict[str, Entry],
        found: dict[str, V | BaseException | None],
        outcome: CacheOutcome,
    ) -> None:
        task_of: dict[str, asyncio.Task[dict[str, Any]]] = {}
        new: dict[str, A] = {}
        for key, arg in missing.items():
            running = self._inflight.get(key)
            if running is not None:
                task_of[key] = running  # single-flight: someone is already fetching it
            else:
                new[key] = arg
        if new:
            task = self._spawn(self._fetch_and_store(new, fetch, policy, tags, codec))
            for key in new:
                self._inflight[key] = task
            task.add_done_callback(functools.partial(self._release, list(new)))
            for key in new:
                task_of[key] = task
        tasks = list({id(t): t for t in task_of.values()}.values())
        # shield: a cancelled caller must not cancel a fetch other callers are waiting for.
        results = await asyncio.gather(*(asyncio.shield(t) for t in tasks), return_exceptions=True)
        by_task = {id(t): r for t, r in zip(tasks, results, strict=True)}
        for key, task in task_of.items():
            result = by_task[id(task)]
            if not isinstance(result, BaseException):
                found[key] = result[key]
            elif isinstance(result, self._stale_on) and key in fallback:
                found[key] = self._decode(fallback[key].value, codec)
                outcome.stale_keys.append(key)
                outcome.error_stale_keys.append(key)
            else:
                found[key] = result

    async def _fetch_and_store(
        self,
        wanted: dict[str, A],
        fetch: Callable[[list[A]], Awaitable[Sequence[V | None]]],
        policy: CachePolicy,
        tags: Callable[[A, V], Iterable[str]] | None,
        codec: Codec[V] | None,
    ) -> dict[str, V | None]:
        keys = list(wanted)
        values = list(await fetch(list(wanted.values())))
        if len(values) != len(keys):
            raise ValueError(f"batch fetch returned {len(values)} values for {len(keys)} keys")
        result = dict(zip(keys, values, strict=True))
        store: dict[str, Any] = {}
        tag_map: dict[str, list[str]] = {}
        for key, value in result.items():
            if value is None:
                continue
            store[key] = codec.dump(value) if codec and self.cache.serializes else value
            if tags is not None:
                tag_map[key] = list(tags(wanted[key], value))
        await self.cache.set_many(store, policy.ttl, policy.stale_ttl, tags=tag_map)
        gone = [key for key, value in result.items() if value is None]
        if gone:
            # Not found (deleted, or now hidden): drop any stale fallback so it is never served.
            try:
                await self.cache.delete(gone)
            except CacheUnavailable as exc:
                log.warning("cache delete failed: %s", exc)
        return result

    def _schedule_refresh(
        self,
        stale: dict[str, A],
        fetch: Callable[[list[A]], Awaitable[Sequence[V | None]]],
        policy: CachePolicy,
        tags: Callable[[A, V], Iterable[str]] | None,
        codec: Codec[V] | None,
    ) -> int:
        # Claimed synchronously, before any await, so concurrent readers see the claim at once.
        claimed = {key: arg for key, arg in stale.items() if key not in self._refreshing}
        if claimed:
            self._refreshing.update(claimed)
            self._spawn(self._refresh(claimed, fetch, policy, tags, codec))
        return len(claimed)

    async def _refresh(
        self,
        claimed: dict[str, A],
        fetch: Callable[[list[A]], Awaitable[Sequence[V | None]]],
        policy: CachePolicy,
        tags: Callable[[A, V], Iterable[str]] | None,
        codec: Codec[V] | None,
    ) -> None:
        backend = self.cache.backend
        try:
            keys = list(claimed)
            taken = await backend.try_lock(keys, ttl=self.cache.config.lock_ttl)
            mine = {key: claimed[key] for key, ok in zip(keys, taken, strict=True) if ok}
            if not mine:
                return  # another process is refreshing them
            try:
                await self._fetch_and_store(mine, fetch, policy, tags, codec)
            except Exception as exc:  # noqa: BLE001 - background work: log, keep serving stale
                log.warning("background refresh of %d entries failed: %r", len(mine), exc)
                return
            await backend.unlock(list(mine))
        except CacheUnavailable as exc:
            log.warning("background refresh skipped, cache unavailable: %s", exc)
        finally:
            self._refreshing.difference_update(claimed)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _release(self, keys: list[str], task: asyncio.Task[Any]) -> None:
        for key in keys:
            if self._inflight.get(key) is task:
                del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: waiters got it, or nobody was left to care

    def _decode(self, value: Any, codec: Codec[V] | None) -> Any:
        return codec.load(value) if codec is not None and self.cache.serializes else value

    async def drain(self) -> None:
        """Wait for every background refresh and fetch (tests, graceful shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel background work (app lifespan exit)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*list(self._background), return_exceptions=True)
