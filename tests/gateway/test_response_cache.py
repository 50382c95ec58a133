"""Response cache: keys, hits, ETag/304, what is never stored, invalidation by issue (issue 5.6)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from gateway.cache import CacheOutcome, issue_tag
from gateway.response_cache import (
    GZIP_MIN_BYTES,
    ResponseCache,
    accepts_gzip,
    etag_for,
    etag_matches,
    operation_digest,
    send_answer,
)
from tests.gateway.cache_support import CacheEnv, open_cache

QUERY = (
    "query Issues($first: Int, $jql: String) { issues(first: $first, jql: $jql) { nodes { key } } }"
)


def body(variables: object = None, *, query: str = QUERY, name: str | None = "Issues") -> bytes:
    return orjson.dumps({"query": query, "operationName": name, "variables": variables})


@pytest.fixture(params=["memory", "redis"])
async def env(request: pytest.FixtureRequest) -> AsyncIterator[CacheEnv]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    async with open_cache(request.param, url) as opened:
        yield opened


def test_digest_ignores_json_layout_but_not_meaning() -> None:
    base = operation_digest(body({"first": 5, "jql": "project = A"}))
    assert base is not None
    reordered = (
        b'{ "variables": {"jql": "project = A", "first": 5},\n "operationName": "Issues", "query": '
    )
    assert operation_digest(reordered + orjson.dumps(QUERY) + b"}") == base
    different = [
        body({"first": 6, "jql": "project = A"}),
        body({"first": 5, "jql": "project = A"}, name=None),
        body({"first": 5, "jql": "project = A"}, query=QUERY + " "),
        orjson.dumps(
            {
                "query": QUERY,
                "operationName": "Issues",
                "variables": {"first": 5, "jql": "project = A"},
                "extensions": {"x": 1},
            }
        ),
    ]
    assert len({operation_digest(b) for b in different} | {base}) == 5
    assert operation_digest(body(None)) == operation_digest(body({}))


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'[{"query": "{ a }"}]',
        b'{"extensions": {"persistedQuery": {}}}',
        b'{"query": ""}',
        b'{"query": "{ a }", "operationName": 3}',
    ],
)
def test_uncacheable_bodies(raw: bytes) -> None:
    assert operation_digest(raw) is None


def test_if_none_match_forms() -> None:
    tag = etag_for(b"{}")
    assert len(tag) == 34
    assert tag.startswith('"')
    assert tag.endswith('"')
    assert etag_matches(tag, tag)
    assert etag_matches(f'"other", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches(None, tag)
    assert not etag_matches('"other"', tag)


async def test_miss_store_hit_and_304(env: CacheEnv) -> None:
    responses = ResponseCache(env.cache)
    request = body({"first": 2})
    digest, answer = await responses.answer(request, env.site, "alice")
    assert digest is not None
    assert answer is None
    payload = b'{"data":{"issues":{"nodes":[{"key":"A-1"},{"key":"A-2"}]}}}'
    cached, stored = await responses.store(
        env.site, "alice", digest, payload, issue_tags=[issue_tag(env.site, "A-1")]
    )
    assert stored
    assert cached.etag == etag_for(payload)

    _, hit = await responses.answer(request, env.site, "alice")
    assert hit is not None
    assert hit.status == 200
    assert hit.body == payload
    headers = dict(hit.headers)
    assert headers[b"etag"] == cached.etag.encode()
    assert headers[b"cache-control"] == b"private, no-cache"

    _, revalidated = await responses.answer(request, env.site, "alice", f"W/{cached.etag}")
    assert revalidated is not None
    assert revalidated.status == 304
    assert revalidated.body == b""
    _, changed = await responses.answer(request, env.site, "alice", '"stale-etag"')
    assert changed is not None
    assert changed.status == 200

    # Another principal, another site, other variables: all misses.
    assert (await responses.answer(request, env.site, "bob"))[1] is None
    assert (await responses.answer(request, env.site + "-other", "alice"))[1] is None
    assert (await responses.answer(body({"first": 3}), env.site, "alice"))[1] is None


async def test_never_stored(env: CacheEnv) -> None:
    responses = ResponseCache(env.cache)
    stale = CacheOutcome(stale_keys=["k"])
    cases = [
        {"has_errors": True},
        {"operation_type": "mutation"},
        {"operation_type": "subscription"},
        {"outcome": stale},
    ]
    for n, kwargs in enumerate(cases):
        request = body({"first": n})
        digest, _ = await responses.answer(request, env.site, "alice")
        assert digest is not None
        cached, stored = await responses.store(
            env.site,
            "alice",
            digest,
            b'{"data":null}',
            issue_tags=[],
            **kwargs,  # type: ignore[arg-type]
        )
        assert not stored
        assert cached.etag == etag_for(b'{"data":null}')
        assert (await responses.answer(request, env.site, "alice"))[1] is None


async def test_issue_invalidation_kills_every_response_containing_it(env: CacheEnv) -> None:
    responses = ResponseCache(env.cache)
    site = env.site
    stored: dict[tuple[str, int], list[str]] = {
        ("alice", 1): ["A-1", "A-2"],
        ("bob", 1): ["A-1"],
        ("alice", 2): ["A-2"],
        ("bob", 3): [],
    }
    for (user, n), issues in stored.items():
        digest = operation_digest(body({"first": n}))
        assert digest is not None
        await responses.store(
            site, user, digest, b"{}", issue_tags=[issue_tag(site, k) for k in issues]
        )
    await env.cache.invalidate_issue(site, "A-1")
    alive = {
        (user, n)
        for user, n in stored
        if (await responses.answer(body({"first": n}), site, user))[1] is not None
    }
    assert alive == {("alice", 2), ("bob", 3)}


async def test_responses_expire(env: CacheEnv) -> None:
    if env.kind == "redis":
        responses = ResponseCache(env.cache, ttl=0.15)  # physical expiry, real time
    else:
        responses = ResponseCache(env.cache)
    request = body({"first": 1})
    digest = operation_digest(request)
    assert digest is not None
    await responses.store(env.site, "alice", digest, b"{}", issue_tags=[])
    assert (await responses.answer(request, env.site, "alice"))[1] is not None
    if env.kind == "redis":
        await asyncio.sleep(0.3)
    else:
        env.clock.advance(60.01)
    assert (await responses.answer(request, env.site, "alice"))[1] is None


async def test_pure_asgi_endpoint_serves_hits_and_304(redis_url: str) -> None:
    async with open_cache("redis", redis_url) as env:
        responses = ResponseCache(env.cache)
        executions: list[bytes] = []

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            raw = b""
            while True:
                message = await receive()
                raw += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = dict(scope["headers"])
            inm = headers.get(b"if-none-match", b"").decode() or None
            digest, answer = await responses.answer(raw, env.site, "alice", inm)
            if answer is None:  # "execute" the operation
                executions.append(raw)
                payload = b'{"data":{"n":%d}}' % len(executions)
                cached, _ = await responses.store(
                    env.site,
                    "alice",
                    digest or "",
                    payload,
                    issue_tags=[issue_tag(env.site, "A-1")],
                )
                answer_headers = [(b"etag", cached.etag.encode())]
                await send(
                    {"type": "http.response.start", "status": 200, "headers": answer_headers}
                )
                await send({"type": "http.response.body", "body": payload})
                return
            await send_answer(send, answer)

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            first = await client.post("/graphql", content=body({"first": 1}))
            second = await client.post("/graphql", content=body({"first": 1}))
            assert first.content == second.content == b'{"data":{"n":1}}'
            assert second.headers["etag"] == first.headers["etag"]
            not_modified = await client.post(
                "/graphql",
                content=body({"first": 1}),
                headers={"if-none-match": first.headers["etag"]},
            )
            assert not_modified.status_code == 304
            assert not_modified.content == b""
            await env.cache.invalidate_issue(env.site, "A-1")
            third = await client.post(
                "/graphql",
                content=body({"first": 1}),
                headers={"if-none-match": first.headers["etag"]},
            )
            assert third.status_code == 200
            assert third.content == b'{"data":{"n":2}}'
            assert len(executions) == 2


async def test_large_bodies_are_kept_and_served_gzipped(env: CacheEnv) -> None:
    responses = ResponseCache(env.cache)
    request = body({"first": 50})
    digest, _ = await responses.answer(request, env.site, "alice")
    assert digest is not None
    nodes = [{"key": f"A-{i}", "summary": "a repeated summary " * 4} for i in range(200)]
    payload = orjson.dumps({"data": {"issues": {"nodes": nodes}}})
    assert len(payload) > GZIP_MIN_BYTES
    await responses.store(env.site, "alice", digest, payload, issue_tags=[])

    _, zipped = await responses.answer(request, env.site, "alice", accept_gzip=True)
    assert zipped is not None
    headers = dict(zipped.headers)
    assert headers[b"content-encoding"] == b"gzip"
    assert headers[b"vary"] == b"accept-encoding"
    assert int(headers[b"content-length"]) == len(zipped.body) < len(payload) // 4
    assert gzip.decompress(zipped.body) == payload

    _, plain = await responses.answer(request, env.site, "alice", accept_gzip=False)
    assert plain is not None
    assert plain.body == payload
    assert b"content-encoding" not in dict(plain.headers)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("gzip;q=0", False),
        ("identity", False),
        (None, False),
    ],
)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected
