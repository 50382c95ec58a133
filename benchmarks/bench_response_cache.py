"""Response-cache lookup cost in µs: in-process vs Redis (issue 5.6). A note, not a test.

Times what ``/graphql`` pays on a warm hit before any GraphQL work: the digest of the raw
request body, the lookup (one dict access / one Redis GET), the ETag comparison.

    .venv/bin/python benchmarks/bench_response_cache.py [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import orjson
from redis.asyncio import Redis

from gateway.cache import Cache, issue_tag
from gateway.response_cache import ResponseCache

QUERY = (
    "query Issues($first: Int) { issues(first: $first) { nodes { key summary status { name } "
    "assignee { displayName } reporter { displayName } comments(first: 5) { nodes { author "
    "{ displayName } body { text } } } } } }"
)
REQUEST = orjson.dumps({"query": QUERY, "operationName": "Issues", "variables": {"first": 50}})
# About the size of the 50-issue response of issue 5's budget query.
PAYLOAD = orjson.dumps(
    {"data": {"issues": {"nodes": [{"key": f"A-{n}", "summary": "x" * 300} for n in range(50)]}}}
)


async def measure(cache: Cache, site: str, rounds: int) -> float:
    responses = ResponseCache(cache)
    digest, _ = await responses.answer(REQUEST, site, "alice")
    assert digest is not None
    await responses.store(site, "alice", digest, PAYLOAD, issue_tags=[issue_tag(site, "A-1")])
    for _ in range(200):  # warm-up
        await responses.answer(REQUEST, site, "alice")
    started = time.perf_counter()
    for _ in range(rounds):
        _, answer = await responses.answer(REQUEST, site, "alice")
        assert answer is not None
    return (time.perf_counter() - started) / rounds * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args()
    site = f"bench-{uuid.uuid4().hex[:8]}"
    memory = await measure(Cache.in_process(), site, args.rounds)
    redis = Redis.from_url(args.redis)
    cache = Cache.on_redis(redis)
    try:
        on_redis = await measure(cache, site, args.rounds)
    finally:
        await cache.invalidate_site(site)
        await redis.aclose()
    print(f"response body {len(PAYLOAD)} bytes, {args.rounds} sequential hits")
    print(f"in-process lookup: {memory:8.1f} µs per hit")
    print(f"Redis lookup:      {on_redis:8.1f} µs per hit")


if __name__ == "__main__":
    asyncio.run(main())
