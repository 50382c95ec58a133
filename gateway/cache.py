"""The cache seam in front of the JIRA client (DESIGN §2, §4; issue 5 item 5).

Pieces, each in its own module:

- ``gateway.cache_keys``: ``cache_key`` / ``shared_key`` / ``issue_tag`` (site AND principal in
  every key; permission-neutral exceptions listed there);
- ``gateway.cache_backends``: ``MemoryBackend`` (embedded) and ``RedisBackend`` (services);
- this module: the ``Cache`` facade with TTL policies and invalidation, and ``CacheOutcome``;
- ``gateway.cache_fetch``: ``CachedFetch``, the read-through helper loaders use
  (stale-while-revalidate, single-flight, stale-if-error);
- ``gateway.response_cache``: whole GraphQL responses, invalidated through the same index.

A cache that cannot be reached never fails a read: ``get_many`` degrades to misses and writes
are dropped (logged). Invalidation, on the other hand, raises ``CacheUnavailable`` so the
webhook job that called it is retried rather than leaving stale data behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from gateway.cache_backends import CacheBackend, CacheUnavailable, Clock, Entry, MemoryBackend
from gateway.cache_backends import RedisBackend as RedisBackend
from gateway.cache_keys import cache_key as cache_key
from gateway.cache_keys import issue_tag, site_prefix
from gateway.cache_keys import shared_key as shared_key

__all__ = [
    "Cache",
    "CacheConfig",
    "CacheOutcome",
    "CachePolicy",
    "CacheUnavailable",
    "Entry",
    "cache_key",
    "issue_tag",
    "shared_key",
]

log = logging.getLogger("gateway.cache")


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long one kind of data lives.

    ``ttl``: fresh seconds. ``revalidate``: seconds after that during which a read is answered
    from the stale entry while ONE background refresh runs (stale-while-revalidate).
    ``stale_ttl``: seconds after ``ttl`` during which the stale entry is kept as a fallback for
    when JIRA is unavailable (stale-if-error); beyond ``revalidate`` a read waits for JIRA.
    """

    ttl: float
    stale_ttl: float = 600.0
    revalidate: float = 30.0

    def __post_init__(self) -> None:
        if self.ttl <= 0 or self.stale_ttl < 0 or self.revalidate < 0:
            raise ValueError("ttl must be > 0, stale_ttl and revalidate >= 0")
        if self.revalidate > self.stale_ttl:
            raise ValueError("revalidate cannot exceed stale_ttl (the entry would be gone)")

    @property
    def lifetime(self) -> float:
        return self.ttl + self.stale_ttl


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """TTL policies per kind of data and the in-process bound (issue 5: 60 s / 60 s / 1 h)."""

    issues: CachePolicy = CachePolicy(ttl=60.0)
    searches: CachePolicy = CachePolicy(ttl=60.0)
    metadata: CachePolicy = CachePolicy(ttl=3600.0)
    response_ttl: float = 60.0
    max_memory_entries: int = 10_000
    lock_ttl: float = 10.0
    """Seconds a cross-process refresh lock lives; a failed refresh keeps it (backoff)."""

    @property
    def index_ttl(self) -> float:
        """Index sets must outlive every entry and response they list."""
        longest = max(p.lifetime for p in (self.issues, self.searches, self.metadata))
        return max(longest, self.response_ttl)


@dataclass(slots=True)
class CacheOutcome:
    """What the cache did for one GraphQL operation; loaders add to it, the endpoint reads it.

    ``stale_keys`` lists entries served past their TTL (during revalidation, or because JIRA was
    down); ``error_stale_keys`` the subset served because JIRA failed. A response built from any
    stale entry is never stored in the response cache.
    """

    hits: int = 0
    misses: int = 0
    refreshes: int = 0
    stale_keys: list[str] = field(default_factory=list)
    error_stale_keys: list[str] = field(default_factory=list)

    @property
    def served_stale(self) -> bool:
        return bool(self.stale_keys)

    @property
    def degraded(self) -> bool:
        """True when JIRA was unavailable and cached data stood in for it."""
        return bool(self.error_stale_keys)

    def extensions(self) -> dict[str, Any] | None:
        """The GraphQL ``extensions`` entry telling the client it got cached data, or None."""
        if not self.degraded:
            return None
        return {
            "cache": {
                "servedStale": True,
                "reason": "JIRA_UNAVAILABLE",
                "staleEntries": len(self.error_stale_keys),
            }
        }


class Cache:
    """Facade over a backend: entries with TTL windows, tags, invalidation. One per process."""

    def __init__(
        self,
        backend: CacheBackend,
        *,
        config: CacheConfig | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.backend = backend
        self.config = config or CacheConfig()
        self.clock = clock

    @classmethod
    def in_process(cls, *, config: CacheConfig | None = None, clock: Clock = time.time) -> Cache:
        """Embedded mode."""
        config = config or CacheConfig()
        backend = MemoryBackend(max_entries=config.max_memory_entries, clock=clock)
        return cls(backend, config=config, clock=clock)

    @classmethod
    def on_redis(
        cls, redis: Redis, *, config: CacheConfig | None = None, clock: Clock = time.time
    ) -> Cache:
        """Services mode; ``redis`` is the client the app lifespan created (and closes)."""
        return cls(RedisBackend(redis), config=config, clock=clock)

    @property
    def serializes(self) -> bool:
        return self.backend.serializes

    async def get_many(self, keys: Sequence[str]) -> list[Entry | None]:
        """Entries in key order (``None`` for misses). An unreachable store reads as all misses."""
        try:
            entries = await self.backend.get_many(keys)
        except CacheUnavailable as exc:
            log.warning("cache read failed, treating as misses: %s", exc)
            return [None] * len(keys)
        # The store expires entries itself; this also covers clock skew between processes.
        now = self.clock()
        return [entry if entry is not None and entry.is_usable(now) else None for entry in entries]

    async def set_many(
        self,
        items: Mapping[str, Any] | Iterable[tuple[str, Any]],
        ttl: float,
        stale_ttl: float,
        *,
        tags: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        """Store values fresh for ``ttl`` s and kept ``stale_ttl`` s longer as a fallback.

        ``tags`` maps a key to the ``issue_tag``s of every issue the value was built from (an
        issue's own entry, and every search/list result containing it). Failures are logged.
        """
        now = self.clock()
        pairs = items.items() if isinstance(items, Mapping) else items
        entries = [(key, Entry(value, now + ttl, now + ttl + stale_ttl)) for key, value in pairs]
        try:
            await self.backend.set_many(
                entries, now=now, tags=tags or {}, index_ttl=self.config.index_ttl
            )
        except CacheUnavailable as exc:
            log.warning("cache write failed, dropped %d entries: %s", len(entries), exc)

    async def delete(self, keys: Sequence[str]) -> None:
        """Remove entries (e.g. after a write through the gateway). Raises ``CacheUnavailable``."""
        await self.backend.delete(keys)

    async def invalidate_issues(self, site_id: str, issue_keys: Iterable[str]) -> int:
        """Drop every entry, search and response of every principal built from these issues."""
        tags = sorted({issue_tag(site_id, key) for key in issue_keys})
        return await self.backend.invalidate_tags(tags)

    async def invalidate_issue(self, site_id: str, issue_key: str) -> int:
        """What the webhook job calls: ``issue_key`` changed on ``site_id``."""
        return await self.invalidate_issues(site_id, [issue_key])

    async def invalidate_site(self, site_id: str) -> int:
        """Drop everything cached for a site (credentials or permission scheme changed).

        A prefix delete (Redis ``SCAN`` + ``UNLINK``) instead of a generation counter in the key:
        this is a rare admin action, and a generation would cost an extra read on every lookup.
        """
        return await self.backend.invalidate_prefix(site_prefix(site_id))
