"""Test support for the cache tests: a controllable clock and caches on both backends."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.asyncio import Redis

from gateway.cache import Cache, CacheConfig


class FakeClock:
    """Epoch seconds that move only when told (starts at the real time, so Redis PX are sane)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class CacheEnv:
    kind: str
    cache: Cache
    clock: FakeClock
    site: str
    redis: Redis | None


@asynccontextmanager
async def open_cache(
    kind: str, redis_url: str | None, config: CacheConfig | None = None
) -> AsyncIterator[CacheEnv]:
    """A cache on ``kind`` ("memory" or "redis") with a fake clock and a unique site id.

    Every key of a test lives under its own site prefix, so Redis tests never see each other's
    keys; the site is dropped afterwards (never FLUSHALL).
    """
    clock = FakeClock()
    site = f"test-{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        yield CacheEnv(kind, Cache.in_process(config=config, clock=clock), clock, site, None)
        return
    assert redis_url is not None
    redis = Redis.from_url(redis_url)
    cache = Cache.on_redis(redis, config=config, clock=clock)
    try:
        yield CacheEnv(kind, cache, clock, site, redis)
    finally:
        await cache.invalidate_site(site)
        await cache.invalidate_site(site + "-other")
        await redis.aclose()
