"""Failed-login limiter: after ``limit`` failures within ``window`` per IP or per account, the
next attempt is refused with ``LoginRateLimited`` (HTTP 429 with ``retry_after``).

Sliding window: a failure counts for exactly ``window`` after it happened. The login flow::

    await limiter.check(keys)           # before calling JIRA: blocked -> 429, JIRA never sees it
    ... JIRA says 401 ...
    await limiter.record_failure(keys)
    ... or on success:
    await limiter.reset([account_key])  # not the IP key: one good account must not unlock an IP

Two backends behind :class:`FailedLoginLimiter`: :class:`MemoryLoginLimiter` (embedded mode,
one process) and :class:`RedisLoginLimiter` (services mode, shared by every gateway process; a
sorted set per key, updated atomically by a Lua script). Keys are built with :func:`login_keys`;
the account part is hashed so that no user name or email lands in Redis.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from redis.asyncio import Redis

from gateway.auth.errors import LoginRateLimited

DEFAULT_LIMIT: Final = 10
DEFAULT_WINDOW_S: Final = 60.0
# The in-process limiter forgets the oldest keys beyond this many (bounded memory under a
# spray of distinct IPs); ~100 bytes a key.
MAX_MEMORY_KEYS: Final = 100_000


def login_keys(ip: str | None, site_url: str, login: str) -> list[str]:
    """The limiter keys of one login attempt: the client IP and the (site, login name) pair."""
    account = hashlib.sha256(f"{site_url}\n{login.strip().lower()}".encode()).hexdigest()[:32]
    keys = [f"account:{account}"]
    if ip:
        keys.insert(0, f"ip:{ip}")
    return keys


class FailedLoginLimiter(Protocol):
    async def check(self, keys: Sequence[str]) -> None:
        """Raise ``LoginRateLimited`` if any key has ``limit`` failures in the window."""

    async def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against every key."""

    async def reset(self, keys: Sequence[str]) -> None:
        """Forget the failures of ``keys`` (a successful login resets its account key)."""


class MemoryLoginLimiter:
    """In-process sliding windows (embedded mode); a deque of failure times per key."""

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_MEMORY_KEYS,
    ) -> None:
        self._limit = limit
        self._window = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    async def check(self, keys: Sequence[str]) -> None:
        now = self._clock()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if times is not None and len(times) >= self._limit:
                # Blocked until enough of the oldest failures have left the window.
                wait = max(wait, times[-self._limit] + self._window - now)
        if wait > 0:
            raise LoginRateLimited(wait)

    async def record_failure(self, keys: Sequence[str]) -> None:
        now = self._clock()
        for key in keys:
            times = self._recent(key, now)
            if times is None:
                if len(self._failures) >= self._max_keys:
                    del self._failures[next(iter(self._failures))]  # oldest inserted key
                times = self._failures[key] = deque(maxlen=self._limit)
            times.append(now)

    async def reset(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


# KEYS[1] = window key; ARGV = now_ms, window_ms, limit. Returns ms to wait (0: not blocked).
_CHECK_LUA: Final = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

# KEYS[1] = window key; ARGV = now_ms, window_ms, limit, unique member.
_RECORD_LUA: Final = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
-- Only the newest `limit` failures matter; keep the set small under a flood.
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 1))
redis.call('PEXPIRE', KEYS[1], window)
return 1
"""


class RedisLoginLimiter:
    """Sliding windows in Redis sorted sets, shared by all gateway processes (services mode).

    One script call per key (not one for all keys) keeps it valid on Redis Cluster, where the
    keys of one script must share a slot. Times come from this host's wall clock.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "jgw:login-failures:",
        limit: int = DEFAULT_LIMIT,
        window_s: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._limit = limit
        self._window_ms = int(window_s * 1000)
        self._clock = clock
        self._check = redis.register_script(_CHECK_LUA)
        self._record = redis.register_script(_RECORD_LUA)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def check(self, keys: Sequence[str]) -> None:
        now = self._now_ms()
        wait_ms = 0
        for key in keys:
            result = await self._check(
                keys=[self._prefix + key], args=[now, self._window_ms, self._limit]
            )
            wait_ms = max(wait_ms, int(result))
        if wait_ms > 0:
            raise LoginRateLimited(wait_ms / 1000)

    async def record_failure(self, keys: Sequence[str]) -> None:
        now = self._now_ms()
        for key in keys:
            await self._record(
                keys=[self._prefix + key],
                args=[now, self._window_ms, self._limit, f"{now}:{uuid.uuid4().hex}"],
            )

    async def reset(self, keys: Sequence[str]) -> None:
        if keys:
            await self._redis.delete(*(self._prefix + key for key in keys))


__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_WINDOW_S",
    "FailedLoginLimiter",
    "MemoryLoginLimiter",
    "RedisLoginLimiter",
    "login_keys",
]
