"""Wire-level edge cases of batching and the adapters the sandbox cannot produce: moved keys,
Server's 400 for a missing key in ``key in (...)``, the large-bulkfetch rule, cursors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.jira.adapter_base import InvalidCursor, decode_cursor, encode_cursor
from gateway.jira.adapter_cloud import BULKFETCH_LIMIT, LARGE_BULKFETCH_LIMIT, CloudAdapter
from gateway.jira.adapter_server import ServerAdapter
from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.client import Caller, ClientConfig, JiraClient
from gateway.jira.dto import CustomField
from gateway.jira.errors import JiraBadRequest
from gateway.jira.flavor import Flavor, flavor_of
from gateway.jira.transport import JiraTransport

BASE = "https://jira.example.com"
ALICE = Caller("alice", httpx.BasicAuth("alice", "secret"))
Handler = Callable[[httpx.Request], httpx.Response]


def issue(ident: int, key: str) -> dict[str, Any]:
    return {"id": str(ident), "key": key, "fields": {"summary": f"issue {key}"}}


def make(flavor: Flavor, handler: Handler) -> tuple[JiraClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(record))
    client = JiraClient(JiraTransport(http, BASE, site="x"), config=ClientConfig(flavor=flavor))
    return client, seen


async def test_a_moved_issue_is_mapped_back_to_the_requested_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # OLD-7 moved to NEW-3: bulkfetch answers under the new key, no issueErrors
        return httpx.Response(
            200, json={"issues": [issue(1, "A-1"), issue(9, "NEW-3")], "issueErrors": []}
        )

    client, seen = make(Flavor.CLOUD, handler)
    found = await fetch_issues_by_key(client, ALICE, ["A-1", "OLD-7"], fields=["summary"])
    assert found["OLD-7"] is not None
    assert found["OLD-7"].key == "NEW-3"
    assert found["A-1"] is not None
    assert found["A-1"].id == "1"
    assert len(seen) == 1


async def test_several_moved_issues_are_told_apart_by_single_lookups() -> None:
    moved = {"OLD-1": issue(11, "NEW-1"), "OLD-2": issue(12, "NEW-2")}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/bulkfetch"):
            issues = [moved["OLD-2"], moved["OLD-1"]]
            return httpx.Response(200, json={"issues": issues, "issueErrors": []})
        key = request.url.path.rsplit("/", 1)[1]
        if key in moved:
            return httpx.Response(200, json=moved[key])
        return httpx.Response(404, json={"errorMessages": ["Issue does not exist"], "errors": {}})

    client, seen = make(Flavor.CLOUD, handler)
    found = await fetch_issues_by_key(client, ALICE, ["OLD-1", "OLD-2", "GONE-1"], fields=["key"])
    assert {k: v.key if v else None for k, v in found.items()} == {
        "OLD-1": "NEW-1",
        "OLD-2": "NEW-2",
        "GONE-1": None,
    }
    assert len(seen) == 4  # one bulkfetch + one lookup per unresolved key


async def test_server_400_for_a_missing_key_retries_without_it() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if "ZZ-404" in body["jql"]:
            message = "An issue with key 'ZZ-404' does not exist for field 'key'."
            return httpx.Response(400, json={"errorMessages": [message], "errors": {}})
        return httpx.Response(
            200, json={"startAt": 0, "maxResults": 2, "total": 1, "issues": [issue(5, "A-5")]}
        )

    client, _seen = make(Flavor.SERVER, handler)
    found = await fetch_issues_by_key(client, ALICE, ["A-5", "zz-404"], fields=["summary"])
    assert found["zz-404"] is None
    assert found["A-5"] is not None
    assert [b["jql"] for b in bodies] == ["key in (A-5, ZZ-404)", "key in (A-5)"]
    assert all(b["validateQuery"] is False for b in bodies)


async def test_server_400_that_names_no_key_fails_the_batch() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errorMessages": ["Something else"], "errors": {}})

    client, _seen = make(Flavor.SERVER, handler)
    with pytest.raises(JiraBadRequest):
        await fetch_issues_by_key(client, ALICE, ["A-1"], fields=["summary"])


def test_server_chunks_bound_keys_and_jql_length() -> None:
    adapter = ServerAdapter()
    short = [f"A-{i}" for i in range(1, 251)]
    assert [len(c) for c in adapter.chunks(short, 100)] == [100, 100, 50]
    long = [f"{'P' * 200}-{i}" for i in range(1, 101)]
    chunks = adapter.chunks(long, 100)
    assert len(chunks) > 1
    assert sum(map(len, chunks)) == 100
    assert all(len(", ".join(c)) < 6000 for c in chunks)


def test_large_bulkfetch_rule() -> None:
    adapter = CloudAdapter(large_bulkfetch=True)
    defs = {
        "customfield_1": CustomField("customfield_1", "Points", True, type="number"),
        "customfield_2": CustomField("customfield_2", "Sprint", True, type="array"),
    }
    assert adapter.bulk_limit(["summary", "status", "customfield_1"], [], defs) == 1000
    assert adapter.bulk_limit(["summary"], ["changelog"], defs) == BULKFETCH_LIMIT
    assert adapter.bulk_limit(["summary", "labels"], [], defs) == BULKFETCH_LIMIT
    assert adapter.bulk_limit(["customfield_2"], [], defs) == BULKFETCH_LIMIT
    assert adapter.bulk_limit(["customfield_9"], [], defs) == BULKFETCH_LIMIT  # unknown
    assert adapter.bulk_limit(["*navigable"], [], defs) == BULKFETCH_LIMIT
    assert adapter.bulk_limit([f"f{i}" for i in range(101)], [], defs) == BULKFETCH_LIMIT
    assert CloudAdapter().bulk_limit(["summary"], [], defs) == BULKFETCH_LIMIT
    assert adapter.bulk_rejected(LARGE_BULKFETCH_LIMIT) == BULKFETCH_LIMIT
    assert adapter.bulk_limit(["summary"], [], defs) == BULKFETCH_LIMIT


def test_cursors_are_opaque_and_flavor_bound() -> None:
    token = encode_cursor("t", "CAEaAggD")
    assert "CAEaAggD" not in token
    assert decode_cursor(token, "t") == "CAEaAggD"
    with pytest.raises(InvalidCursor):
        decode_cursor(token, "o")
    with pytest.raises(InvalidCursor):
        ServerAdapter().search_request("x", ["key"], [], 5, encode_cursor("o", "abc"))
    with pytest.raises(InvalidCursor):
        decode_cursor("%%%", "t")


@pytest.mark.parametrize(
    ("deployment", "base", "expected"),
    [
        ("Cloud", None, Flavor.CLOUD),
        ("Server", None, Flavor.SERVER),
        ("DataCenter", None, Flavor.SERVER),
        (None, "https://old.example.com", Flavor.SERVER),
        (None, "https://acme.atlassian.net", Flavor.CLOUD),
    ],
)
def test_flavor_of_deployment_type(
    deployment: str | None, base: str | None, expected: Flavor
) -> None:
    assert flavor_of(deployment, base) is expected


def test_rich_bodies_follow_the_api_version() -> None:
    adf = CloudAdapter().rich_body("one\ntwo\n\nthree")
    assert isinstance(adf, dict)
    assert adf["type"] == "doc"
    paragraphs = adf["content"]
    assert isinstance(paragraphs, list)
    assert len(paragraphs) == 2
    assert ServerAdapter().rich_body("h1. wiki") == "h1. wiki"
    with pytest.raises(TypeError):
        ServerAdapter().rich_body({"type": "doc", "version": 1, "content": []})
