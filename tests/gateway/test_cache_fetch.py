"""CachedFetch: read-through, single-flight, stale-while-revalidate, stale-if-error (issue 5.5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass

import pytest

from gateway.cache import CacheOutcome, CachePolicy, cache_key, issue_tag
from gateway.cache_fetch import CachedFetch, Codec
from gateway.jira.errors import JiraCircuitOpen, JiraForbidden, JiraUnavailable
from tests.gateway.cache_support import CacheEnv, open_cache

POLICY = CachePolicy(ttl=60, stale_ttl=600, revalidate=30)


@pytest.fixture(params=["memory", "redis"])
async def env(request: pytest.FixtureRequest) -> AsyncIterator[CacheEnv]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    async with open_cache(request.param, url) as opened:
        yield opened


class FakeJira:
    """A batch fetch that records every call; values are ``{"key", "version"}`` dicts."""

    def __init__(self, *, delay: float = 0.0, missing: Sequence[str] = ()) -> None:
        self.calls: list[list[str]] = []
        self.delay = delay
        self.version = 1
        self.missing = set(missing)
        self.error: BaseException | None = None

    async def __call__(self, issue_keys: list[str]) -> list[dict[str, object] | None]:
        self.calls.append(list(issue_keys))
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return [
            None if k in self.missing else {"key": k, "version": self.version} for k in issue_keys
        ]


def keys_for(env: CacheEnv, user: str, issue_keys: Sequence[str]) -> list[str]:
    return [cache_key(env.site, user, "issue", k) for k in issue_keys]


async def load(
    fetcher: CachedFetch,
    env: CacheEnv,
    jira: FakeJira,
    issue_keys: Sequence[str],
    *,
    user: str = "alice",
    outcome: CacheOutcome | None = None,
) -> list[dict[str, object] | None]:
    return await fetcher.load(
        keys_for(env, user, issue_keys),
        list(issue_keys),
        jira,
        policy=POLICY,
        tags=lambda key, _value: [issue_tag(env.site, key)],
        outcome=outcome,
    )


async def test_hits_and_misses_in_key_order_with_one_fetch_for_the_misses(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira(missing=["A-9"])
    await load(fetcher, env, jira, ["A-2"])
    outcome = CacheOutcome()
    values = await load(fetcher, env, jira, ["A-1", "A-2", "A-9", "A-3", "A-1"], outcome=outcome)
    assert [v["key"] if v else None for v in values] == ["A-1", "A-2", None, "A-3", "A-1"]
    assert jira.calls == [["A-2"], ["A-1", "A-9", "A-3"]]
    assert (outcome.hits, outcome.misses) == (1, 3)
    # Found values are cached; "not found" is not (asked again next time).
    await load(fetcher, env, jira, ["A-1", "A-3", "A-9"])
    assert jira.calls[-1] == ["A-9"]


async def test_principals_never_share_entries(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira()
    await load(fetcher, env, jira, ["A-1"], user="alice")
    await load(fetcher, env, jira, ["A-1"], user="bob")
    assert jira.calls == [["A-1"], ["A-1"]]


async def test_concurrent_identical_misses_make_one_fetch(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira(delay=0.05)
    results = await asyncio.gather(*(load(fetcher, env, jira, ["A-1", "A-2"]) for _ in range(50)))
    assert jira.calls == [["A-1", "A-2"]]
    assert all(r == results[0] for r in results)
    assert results[0][1] == {"key": "A-2", "version": 1}


async def test_overlapping_misses_fetch_each_key_once(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira(delay=0.05)
    first, second = await asyncio.gather(
        load(fetcher, env, jira, ["A-1", "A-2"]), load(fetcher, env, jira, ["A-2", "A-3"])
    )
    assert sorted(k for call in jira.calls for k in call) == ["A-1", "A-2", "A-3"]
    assert first[1] == second[0]


async def test_a_cancelled_caller_does_not_cancel_the_shared_fetch(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira(delay=0.1)
    leader = asyncio.create_task(load(fetcher, env, jira, ["A-1"]))
    await asyncio.sleep(0.02)
    follower = asyncio.create_task(load(fetcher, env, jira, ["A-1"]))
    await asyncio.sleep(0.02)
    leader.cancel()
    assert (await follower)[0] == {"key": "A-1", "version": 1}
    assert leader.cancelled()
    assert jira.calls == [["A-1"]]


async def test_stale_while_revalidate_refreshes_exactly_once(env: CacheEnv) -> None:
    # Two CachedFetch on one store stand for two gateway processes sharing Redis (or, in
    # embedded mode, two instances in one process): 50 readers, one refresh.
    processes = [CachedFetch(env.cache), CachedFetch(env.cache)]
    jira = FakeJira(delay=0.05)
    await load(processes[0], env, jira, ["A-1", "A-2"])
    jira.version = 2
    env.clock.advance(POLICY.ttl + 1)  # stale, within the revalidation window

    outcomes = [CacheOutcome() for _ in range(50)]
    results = await asyncio.gather(
        *(load(processes[n % 2], env, jira, ["A-1", "A-2"], outcome=outcomes[n]) for n in range(50))
    )
    # Everybody got the old value at once, without waiting for JIRA.
    assert all(r[0] == {"key": "A-1", "version": 1} for r in results)
    assert all(o.served_stale and not o.degraded for o in outcomes)
    await asyncio.gather(*(p.drain() for p in processes))
    assert jira.calls == [["A-1", "A-2"], ["A-1", "A-2"]]

    fresh = CacheOutcome()
    assert (await load(processes[1], env, jira, ["A-1"], outcome=fresh))[0] == {
        "key": "A-1",
        "version": 2,
    }
    assert (fresh.hits, fresh.stale_keys) == (1, [])


async def test_a_failed_refresh_keeps_serving_stale_and_backs_off(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira()
    await load(fetcher, env, jira, ["A-1"])
    jira.error = JiraUnavailable("down", status=503)
    env.clock.advance(POLICY.ttl + 1)
    assert (await load(fetcher, env, jira, ["A-1"]))[0] == {"key": "A-1", "version": 1}
    await fetcher.drain()
    assert len(jira.calls) == 2
    # The lock of the failed refresh stays until it expires: no hammering a JIRA that is down.
    assert (await load(fetcher, env, jira, ["A-1"]))[0] == {"key": "A-1", "version": 1}
    await fetcher.drain()
    assert len(jira.calls) == 2


async def test_stale_if_error_serves_stale_and_says_so(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira()
    await load(fetcher, env, jira, ["A-1"])
    env.clock.advance(POLICY.ttl + POLICY.revalidate + 5)  # past revalidation: a read waits
    jira.error = JiraCircuitOpen("breaker open")

    outcome = CacheOutcome()
    assert (await load(fetcher, env, jira, ["A-1"], outcome=outcome))[0] == {
        "key": "A-1",
        "version": 1,
    }
    assert outcome.degraded
    assert outcome.extensions() == {
        "cache": {"servedStale": True, "reason": "JIRA_UNAVAILABLE", "staleEntries": 1}
    }
    # A key with nothing to fall back on gets the error: alone (load) or in its place.
    with pytest.raises(JiraCircuitOpen):
        await load(fetcher, env, jira, ["A-1", "A-2"])
    mixed = await fetcher.load_or_errors(
        keys_for(env, "alice", ["A-1", "A-2"]), ["A-1", "A-2"], jira, policy=POLICY
    )
    assert mixed[0] == {"key": "A-1", "version": 1}
    assert isinstance(mixed[1], JiraCircuitOpen)


async def test_only_unavailability_falls_back_to_stale(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira()
    await load(fetcher, env, jira, ["A-1"])
    env.clock.advance(POLICY.ttl + POLICY.revalidate + 5)
    jira.error = JiraForbidden("no longer allowed", status=403)  # permissions changed: no stale
    with pytest.raises(JiraForbidden):
        await load(fetcher, env, jira, ["A-1"])
    env.clock.advance(POLICY.stale_ttl)  # beyond stale_until nothing is served either
    jira.error = JiraUnavailable("down")
    with pytest.raises(JiraUnavailable):
        await load(fetcher, env, jira, ["A-1"])


async def test_not_found_drops_the_stale_fallback(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira()
    await load(fetcher, env, jira, ["A-1"])
    env.clock.advance(POLICY.ttl + POLICY.revalidate + 5)
    jira.missing = {"A-1"}  # deleted, or hidden from alice now
    assert await load(fetcher, env, jira, ["A-1"]) == [None]
    jira.error = JiraUnavailable("down")
    with pytest.raises(JiraUnavailable):
        await load(fetcher, env, jira, ["A-1"])


async def test_invalidation_forces_a_fetch_for_every_principal(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    jira = FakeJira()
    for user in ("alice", "bob"):
        await load(fetcher, env, jira, ["A-1"], user=user)
    await env.cache.invalidate_issue(env.site, "A-1")
    jira.version = 2
    for user in ("alice", "bob"):
        assert (await load(fetcher, env, jira, ["A-1"], user=user))[0] == {
            "key": "A-1",
            "version": 2,
        }
    assert len(jira.calls) == 4


@dataclass(frozen=True)
class Issue:
    key: str
    summary: str


async def test_codec_turns_json_back_into_objects(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)
    codec = Codec[Issue](dump=asdict, load=lambda raw: Issue(**raw))

    async def fetch(issue_keys: list[str]) -> list[Issue | None]:
        return [Issue(k, f"summary of {k}") for k in issue_keys]

    keys = keys_for(env, "alice", ["A-1"])
    first = await fetcher.load(keys, ["A-1"], fetch, policy=POLICY, codec=codec)
    second = await fetcher.load(keys, ["A-1"], fetch, policy=POLICY, codec=codec)
    assert first == second == [Issue("A-1", "summary of A-1")]


async def test_mismatched_batch_results_are_an_error(env: CacheEnv) -> None:
    fetcher = CachedFetch(env.cache)

    async def short(issue_keys: list[str]) -> list[dict[str, str] | None]:
        return []

    with pytest.raises(ValueError, match="returned 0 values for 1 keys"):
        await fetcher.load(keys_for(env, "alice", ["A-1"]), ["A-1"], short, policy=POLICY)
    with pytest.raises(ValueError, match="arguments"):
        await fetcher.load(keys_for(env, "alice", ["A-1"]), [], short, policy=POLICY)
