"""Failed-login limiter, in-process and on real Redis: 10 failures a minute, then 429."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.auth.errors import LoginRateLimited
from gateway.auth.ratelimit import (
    FailedLoginLimiter,
    MemoryLoginLimiter,
    RedisLoginLimiter,
    login_keys,
)


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def limiter_and_clock(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[FailedLoginLimiter, FakeClock]]:
    clock = FakeClock(1_700_000_000.0)
    if request.param == "memory":
        yield MemoryLoginLimiter(limit=10, window_s=60, clock=clock), clock
        return
    # A sync fixture only: an async fixture cannot pull another async one by name.
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"jgw-test:{uuid.uuid4().hex}:"
    try:
        yield RedisLoginLimiter(client, prefix=prefix, limit=10, window_s=60, clock=clock), clock
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_auth_ratelimit_blocks_after_ten_failures_a_minute(
    limiter_and_clock: tuple[FailedLoginLimiter, FakeClock],
) -> None:
    limiter, clock = limiter_and_clock
    keys = login_keys("203.0.113.7", "https://acme.atlassian.net", "Alice@Example.com")
    for _ in range(10):
        await limiter.check(keys)  # attempts 1..10 are allowed
        await limiter.record_failure(keys)
        clock.now += 1
    with pytest.raises(LoginRateLimited) as caught:
        await limiter.check(keys)
    assert caught.value.status == 429
    assert caught.value.code == "RATE_LIMITED"
    # First failure at t=0, now t=10: it leaves the window at t=60.
    assert caught.value.retry_after == 50

    clock.now += 49
    with pytest.raises(LoginRateLimited):
        await limiter.check(keys)
    clock.now += 1.5  # the first failure has left the window: one attempt more is allowed
    await limiter.check(keys)


async def test_auth_ratelimit_counts_per_ip_and_per_account(
    limiter_and_clock: tuple[FailedLoginLimiter, FakeClock],
) -> None:
    limiter, clock = limiter_and_clock
    site = "https://acme.atlassian.net"
    # One IP spraying ten different accounts: the IP is blocked, the accounts are not.
    for n in range(10):
        await limiter.record_failure(login_keys("198.51.100.1", site, f"user{n}@example.com"))
        clock.now += 0.1
    with pytest.raises(LoginRateLimited):
        await limiter.check(login_keys("198.51.100.1", site, "fresh@example.com"))
    await limiter.check(login_keys("198.51.100.2", site, "user0@example.com"))

    # Ten IPs against one account: the account is blocked from any IP, case-insensitively.
    for n in range(10):
        await limiter.record_failure(login_keys(f"192.0.2.{n}", site, "carol@example.com"))
    with pytest.raises(LoginRateLimited):
        await limiter.check(login_keys("192.0.2.200", site, "Carol@Example.com"))
    # The same login name on another site is another account.
    await limiter.check(
        login_keys("192.0.2.200", "https://other.atlassian.net", "carol@example.com")
    )


async def test_auth_ratelimit_reset_clears_only_the_given_keys(
    limiter_and_clock: tuple[FailedLoginLimiter, FakeClock],
) -> None:
    limiter, _clock = limiter_and_clock
    ip_key, account_key = login_keys("203.0.113.9", "https://s", "dave")
    for _ in range(10):
        await limiter.record_failure([ip_key, account_key])
    await limiter.reset([account_key])
    await limiter.check([account_key])
    with pytest.raises(LoginRateLimited):
        await limiter.check([ip_key])


def test_auth_ratelimit_keys_hide_the_login_name() -> None:
    keys = login_keys("203.0.113.1", "https://acme.atlassian.net", "alice@example.com")
    assert keys[0] == "ip:203.0.113.1"
    assert "alice" not in keys[1]
    assert login_keys(None, "https://s", "x") == [login_keys("1.1.1.1", "https://s", "x")[1]]


async def test_auth_ratelimit_memory_is_bounded() -> None:
    limiter = MemoryLoginLimiter(limit=3, window_s=60, max_keys=100)
    for n in range(1000):
        await limiter.record_failure([f"ip:{n}"])
    assert len(limiter._failures) <= 100
    # The newest keys are still counted.
    for _ in range(2):
        await limiter.record_failure(["ip:999"])
    with pytest.raises(LoginRateLimited):
        await limiter.check(["ip:999"])


async def test_auth_ratelimit_redis_keys_expire(redis_client: Redis) -> None:
    prefix = f"jgw-test:{uuid.uuid4().hex}:"
    limiter = RedisLoginLimiter(redis_client, prefix=prefix, limit=10, window_s=60)
    try:
        for _ in range(25):
            await limiter.record_failure(["ip:203.0.113.50"])
        key = prefix + "ip:203.0.113.50"
        assert 0 < await redis_client.pttl(key) <= 60_000
        assert await redis_client.zcard(key) == 10  # trimmed to the limit under a flood
    finally:
        await redis_client.delete(prefix + "ip:203.0.113.50")
