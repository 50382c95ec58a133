"""Cache keys, both backends and invalidation (issue 5, item 5)."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.cache import Cache, CacheConfig, CachePolicy, CacheUnavailable, issue_tag
from gateway.cache_backends import MemoryBackend, RedisBackend
from gateway.cache_keys import SHARED_RESOURCES, cache_key, fieldset_hash, shared_key, site_prefix
from tests.gateway.cache_support import CacheEnv, FakeClock, open_cache


@pytest.fixture(params=["memory", "redis"])
async def env(request: pytest.FixtureRequest) -> AsyncIterator[CacheEnv]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    async with open_cache(request.param, url) as opened:
        yield opened


# --- keys -------------------------------------------------------------------------------------


def test_no_key_api_without_a_principal() -> None:
    params = inspect.signature(cache_key).parameters
    assert list(params)[:3] == ["site_id", "principal_id", "resource"]
    assert all(params[name].default is inspect.Parameter.empty for name in list(params)[:3])
    for site, principal in [("", "alice"), ("s1", ""), ("s1", None)]:
        with pytest.raises(ValueError, match="non-empty"):
            cache_key(site, principal, "issue", "ALPHA-1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shared_key"):
        cache_key("s1", "*", "issue", "ALPHA-1")


def test_keys_separate_sites_principals_and_field_sets() -> None:
    keys = {
        cache_key("s1", "alice", "issue", "ALPHA-12"),
        cache_key("s1", "bob", "issue", "ALPHA-12"),
        cache_key("s2", "alice", "issue", "ALPHA-12"),
        cache_key("s1", "alice", "issue", "ALPHA-12", fields=["summary"]),
        cache_key("s1", "alice", "issue", "ALPHA-12", fields=["summary", "status"]),
    }
    assert len(keys) == 5
    alice = cache_key("s1", "alice", "issue", "ALPHA-12")
    assert alice.startswith("jgw:v1:s1:alice:issue:ALPHA-12")
    assert fieldset_hash(["status", "summary", "status"]) == fieldset_hash(["summary", "status"])


def test_parts_cannot_forge_segments() -> None:
    # A Cloud accountId contains ":"; escaped, it cannot pose as principal + resource.
    forged = cache_key("s1", "557058:f581", "issue", "X-1")
    honest = cache_key("s1", "557058", "f581", "issue", "X-1")
    assert forged != honest
    assert forged.count(":") == honest.count(":") - 1
    assert "*" not in cache_key("s*", "a*b", "issue", "K#1")
    assert "#" not in cache_key("s*", "a*b", "issue", "K#1")


def test_shared_keys_only_for_permission_neutral_resources() -> None:
    assert shared_key("s1", "priorities") == "jgw:v1:s1:*:priorities"
    for resource in ("statuses", "issue", "issuetypes", "fields", "projects", "users"):
        with pytest.raises(ValueError, match="not permission-neutral"):
            shared_key("s1", resource)
    assert "statuses" not in SHARED_RESOURCES
    # No principal id can produce the shared segment.
    assert cache_key("s1", "%2A", "priorities") != shared_key("s1", "priorities")


def test_index_and_every_key_of_a_site_share_its_prefix() -> None:
    prefix = site_prefix("s1")
    assert cache_key("s1", "bob", "search", "q").startswith(prefix)
    assert shared_key("s1", "resolutions").startswith(prefix)
    assert issue_tag("s1", "alpha-1") == issue_tag("s1", "ALPHA-1")
    assert issue_tag("s1", "ALPHA-1").startswith(prefix)
    # A site named "idx" cannot reach another site's index.
    assert not issue_tag("s1", "A-1").startswith(site_prefix("idx"))


# --- both backends ----------------------------------------------------------------------------


async def test_get_many_keeps_key_order_with_none_for_misses(env: CacheEnv) -> None:
    keys = [cache_key(env.site, "alice", "issue", f"ALPHA-{n}") for n in range(5)]
    await env.cache.set_many({keys[3]: {"n": 3}, keys[1]: {"n": 1}}, ttl=60, stale_ttl=60)
    entries = await env.cache.get_many(keys)
    assert [e.value if e else None for e in entries] == [None, {"n": 1}, None, {"n": 3}, None]
    assert await env.cache.get_many([]) == []


async def test_fresh_then_stale_then_gone(env: CacheEnv) -> None:
    key = cache_key(env.site, "alice", "issue", "ALPHA-1")
    await env.cache.set_many({key: "v"}, ttl=10, stale_ttl=20)
    (entry,) = await env.cache.get_many([key])
    assert entry is not None
    assert entry.fresh_until == pytest.approx(env.clock.now + 10)
    assert entry.stale_until == pytest.approx(env.clock.now + 30)
    env.clock.advance(9.9)
    (entry,) = await env.cache.get_many([key])
    assert entry is not None
    assert entry.is_fresh(env.clock())
    env.clock.advance(0.2)
    (entry,) = await env.cache.get_many([key])
    assert entry is not None
    assert not entry.is_fresh(env.clock())
    assert entry.value == "v"
    env.clock.advance(20)
    assert await env.cache.get_many([key]) == [None]


async def test_delete(env: CacheEnv) -> None:
    keys = [cache_key(env.site, "alice", "issue", k) for k in ("A-1", "A-2")]
    await env.cache.set_many(dict.fromkeys(keys, 1), ttl=60, stale_ttl=0)
    await env.cache.delete(keys[:1])
    assert [e is None for e in await env.cache.get_many(keys)] == [True, False]


async def test_invalidate_issue_reaches_every_principal(env: CacheEnv) -> None:
    site = env.site
    tag = issue_tag
    entries: dict[str, object] = {}
    tags: dict[str, list[str]] = {}
    for user in ("alice", "bob"):
        issue = cache_key(site, user, "issue", "ALPHA-1", fields=["summary"])
        search = cache_key(site, user, "search", "project = ALPHA", "page-1")
        entries[issue] = {"key": "ALPHA-1"}
        entries[search] = {"keys": ["ALPHA-1", "ALPHA-2"]}
        tags[issue] = [tag(site, "ALPHA-1")]
        tags[search] = [tag(site, "ALPHA-1"), tag(site, "ALPHA-2")]
    survivors = {
        cache_key(site, "alice", "issue", "ALPHA-2"): [tag(site, "ALPHA-2")],
        cache_key(site, "bob", "search", "project = BETA"): [tag(site, "BETA-7")],
        cache_key(site + "-other", "alice", "issue", "ALPHA-1"): [tag(site + "-other", "ALPHA-1")],
    }
    entries.update(dict.fromkeys(survivors, "keep"))
    tags.update(survivors)
    await env.cache.set_many(entries, ttl=60, stale_ttl=600, tags=tags)
    assert all(await env.cache.get_many(list(entries)))

    removed = await env.cache.invalidate_issue(site, "alpha-1")  # case-insensitive, like JIRA

    assert removed == 4
    after = dict(zip(entries, await env.cache.get_many(list(entries)), strict=True))
    assert [k for k, e in after.items() if e is not None] == list(survivors)
    # Invalidating again finds nothing: the index set went with its members.
    assert await env.cache.invalidate_issue(site, "ALPHA-1") == 0


async def test_invalidate_site_drops_only_that_site(env: CacheEnv) -> None:
    mine = cache_key(env.site, "alice", "issue", "A-1")
    other = cache_key(env.site + "-other", "alice", "issue", "A-1")
    shared = shared_key(env.site, "priorities")
    await env.cache.set_many(
        {mine: 1, other: 2, shared: 3},
        ttl=60,
        stale_ttl=0,
        tags={mine: [issue_tag(env.site, "A-1")]},
    )
    assert await env.cache.invalidate_site(env.site) >= 2
    assert [e is None for e in await env.cache.get_many([mine, other, shared])] == [
        True,
        False,
        True,
    ]
    if env.redis is not None:
        assert await env.redis.keys(site_prefix(env.site) + "*") == []


# --- backend specifics ------------------------------------------------------------------------


async def test_memory_backend_is_a_bounded_lru() -> None:
    clock = FakeClock()
    cache = Cache(MemoryBackend(max_entries=3, clock=clock), clock=clock)
    keys = [cache_key("s", "alice", "issue", f"A-{n}") for n in range(4)]
    await cache.set_many({k: k for k in keys[:3]}, ttl=60, stale_ttl=0)
    await cache.get_many([keys[0]])  # touch: A-1 becomes the least recently used
    await cache.set_many({keys[3]: "new"}, ttl=60, stale_ttl=0, tags={keys[3]: ["t"]})
    present = [e is not None for e in await cache.get_many(keys)]
    assert present == [True, False, True, True]
    assert len(cache.backend) == 3  # type: ignore[arg-type]


async def test_memory_backend_forgets_index_entries_of_evicted_keys() -> None:
    clock = FakeClock()
    backend = MemoryBackend(max_entries=2, clock=clock)
    cache = Cache(backend, clock=clock)
    for n in range(50):
        key = cache_key("s", "alice", "issue", f"A-{n}")
        await cache.set_many({key: n}, ttl=60, stale_ttl=0, tags={key: [issue_tag("s", f"A-{n}")]})
    assert len(backend._index) == 2


async def test_redis_entries_and_index_expire_for_real(redis_url: str) -> None:
    async with open_cache("redis", redis_url) as env:
        env.cache.clock = time.time  # real time for real expiry
        assert env.redis is not None
        key = cache_key(env.site, "alice", "issue", "A-1")
        tag = issue_tag(env.site, "A-1")
        await env.cache.set_many({key: 1}, ttl=0.15, stale_ttl=0.1, tags={key: [tag]})
        assert 0 < await env.redis.pttl(key) <= 250
        # The index outlives the longest policy (metadata: 1 h + 10 min of stale data).
        assert await env.redis.pttl(tag) >= CacheConfig().index_ttl * 1000 - 1000
        await asyncio.sleep(0.35)
        assert await env.redis.exists(key) == 0
        assert await env.cache.get_many([key]) == [None]


async def test_unreachable_redis_degrades_reads_but_not_invalidation() -> None:
    redis = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    cache = Cache(RedisBackend(redis))
    try:
        key = cache_key("s", "alice", "issue", "A-1")
        assert await cache.get_many([key]) == [None]
        await cache.set_many({key: 1}, ttl=60, stale_ttl=0)  # dropped, not raised
        with pytest.raises(CacheUnavailable):
            await cache.invalidate_issue("s", "A-1")
    finally:
        await redis.aclose()


def test_policy_validation_and_defaults() -> None:
    config = CacheConfig()
    assert (config.issues.ttl, config.searches.ttl, config.metadata.ttl) == (60, 60, 3600)
    assert config.index_ttl >= config.metadata.lifetime
    with pytest.raises(ValueError, match="ttl"):
        CachePolicy(ttl=0)
    with pytest.raises(ValueError, match="revalidate"):
        CachePolicy(ttl=60, stale_ttl=10, revalidate=20)


async def test_invalidation_works_with_a_decoding_redis_client(redis_url: str) -> None:
    """The arq worker hands the cache a ``decode_responses=True`` client (its broker needs str)."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        cache = Cache.on_redis(client)
        site = f"decoding-{uuid.uuid4().hex}"
        key = cache_key(site, "alice", "issue", "ALPHA-1")
        await cache.set_many({key: {"k": 1}}, 60, 60, tags={key: [issue_tag(site, "ALPHA-1")]})
        assert (await cache.get_many([key]))[0] is not None
        assert await cache.invalidate_issue(site, "ALPHA-1") == 1
        assert await cache.get_many([key]) == [None]
    finally:
        await client.aclose()
