"""Limits, typed errors, metadata, quick filters, stale-if-error and the response cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_support import ApiUser, login, reset_calls, running_gateway, total_calls
from tests.conftest import RunningServer


@pytest.fixture(scope="module")
def alice(
    cloud_sandbox: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiUser]:
    with running_gateway(tmp_path_factory.mktemp("limits")) as gateway:
        user = login(gateway, cloud_sandbox, "alice")
        yield user
        user.close()


def _code(payload: dict[str, object]) -> str:
    errors = payload["errors"]
    assert isinstance(errors, list)
    return str(errors[0]["extensions"]["code"])


def test_first_over_100_is_a_limit_error_not_a_silent_cap(alice: ApiUser) -> None:
    payload = alice.query("{ issues(first: 10000) { nodes { key } } }")
    assert _code(payload) == "LIMIT_EXCEEDED"
    assert payload["errors"][0]["extensions"]["field"] == "first"
    assert _code(alice.query("{ issues(first: 0) { nodes { key } } }")) == "BAD_USER_INPUT"


def test_bad_jql_comes_back_with_jiras_message(alice: ApiUser) -> None:
    payload = alice.query('{ issues(jql: "project = = 1") { nodes { key } } }')
    assert _code(payload) == "BAD_JQL"
    assert "Error in the JQL Query" in payload["errors"][0]["message"]
    both = alice.query(
        '{ issues(jql: "project = ALPHA ORDER BY key", orderBy: [{field: CREATED}]) '
        "{ nodes { key } } }"
    )
    assert _code(both) == "BAD_JQL"


def test_filter_results_match_the_filter(alice: ApiUser) -> None:
    payload = alice.query(
        """{ issues(first: 100, filter: {projects: ["BETA"], statusCategories: [DONE]},
             orderBy: [{field: KEY, direction: ASC}]) {
             nodes { key project { key } status { category } } } }"""
    )
    nodes = payload["data"]["issues"]["nodes"]
    assert nodes
    assert {n["project"]["key"] for n in nodes} == {"BETA"}
    assert {n["status"]["category"] for n in nodes} == {"DONE"}
    bad = alice.query("{ issues(filter: {projects: []}) { nodes { key } } }")
    assert bad["errors"][0]["extensions"]["field"] == "filter.projects"


def test_metadata_and_quick_filters(alice: ApiUser) -> None:
    meta = alice.query(
        "{ projects { key } priorities { name } statuses { name category } "
        'issueTypes { name } users(query: "bob") { displayName } }'
    )["data"]
    assert {p["key"] for p in meta["projects"]} == {"ALPHA", "BETA", "GAMMA", "DELTA"}
    assert meta["priorities"]
    assert meta["statuses"]
    assert meta["issueTypes"]
    assert [u["displayName"] for u in meta["users"]] == ["Bob Brown"]
    presets = alice.query(
        "{ quickFilters { id jql filter { projects statuses priorities statusCategories "
        "assignedToMe reportedByMe unassigned updatedAfter dueAfter dueBefore } } }"
    )["data"]["quickFilters"]
    ids = {p["id"] for p in presets}
    assert {
        "my-open",
        "reported-by-me",
        "recently-updated",
        "due-this-week",
        "high-priority",
        "unassigned",
    } <= ids
    for preset in presets[:8]:  # each preset's JQL and its filter find the same issues
        by_jql = alice.query(
            "query($q: String!) { issues(jql: $q, first: 20) { nodes { key } } }",
            {"q": preset["jql"]},
        )
        assert "errors" not in by_jql, (preset["id"], by_jql)
        value = {k: v for k, v in preset["filter"].items() if v is not None}
        by_filter = alice.query(
            "query($f: IssueFilter) { issues(filter: $f, first: 20) { nodes { key } } }",
            {"f": value},
        )
        assert by_filter["data"]["issues"]["nodes"] is not None
        if "ORDER BY created DESC" in preset["jql"]:
            assert by_filter == by_jql


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("{ " + " ".join(f"a{i}: gateway {{ version }}" for i in range(16)) + " }", "alias"),
        ("{ " + " ".join(["gateway { version }"] * 4) + " }", "at most 3"),
        ("{ " + " ".join(f"g{i}: __typename" for i in range(11)) + " }", "root fields"),
        ('{ issue(key: "A-1") { ' + "parent { " * 10 + "key" + " }" * 12, "depth"),
        ("{ " + "__typename " * 1200 + "}", "token"),
    ],
)
def test_operation_limits(alice: ApiUser, query: str, needle: str) -> None:
    payload = alice.post(query).json()
    assert payload.get("errors"), payload
    assert needle in " ".join(e["message"] for e in payload["errors"]).lower()


def test_at_most_three_validation_errors(alice: ApiUser) -> None:
    payload = alice.post("{ a1: nope b1: nope2 c1: nope3 d1: nope4 e1: nope5 }").json()
    assert len(payload["errors"]) == 3


def test_response_cache_hit_etag_304_and_invalidation(
    alice: ApiUser, cloud_sandbox: RunningServer
) -> None:
    query = '{ issues(first: 3, filter: {projects: ["DELTA"]}) { nodes { key summary } } }'
    first = alice.post(query)
    etag = first.headers["etag"]
    reset_calls(cloud_sandbox)
    second = alice.post(query)
    assert second.content == first.content
    assert second.headers["etag"] == etag
    assert alice.post(query, **{"if-none-match": etag}).status_code == 304
    assert total_calls(cloud_sandbox) == 0
    state = alice.gateway.app.state.gateway
    key = first.json()["data"]["issues"]["nodes"][0]["key"]
    # What the webhook job does; the in-process backend is plain dicts, safe from this thread.
    assert asyncio.run(state.cache.invalidate_issue(alice.site_id, key)) > 0
    third = alice.post(query)
    assert third.json() == first.json()
    assert total_calls(cloud_sandbox) == 1  # the response and the search were dropped


def test_stale_if_error_says_so_in_extensions(cloud_sandbox: RunningServer, tmp_path: Path) -> None:
    query = '{ issues(first: 2, jql: "project = ALPHA") { nodes { key } } }'
    with running_gateway(tmp_path, cache_search_ttl_s=0.2) as gateway:
        user = login(gateway, cloud_sandbox, "alice")
        try:
            fresh = user.query(query)
            cache = gateway.app.state.gateway.cache
            cache.clock = lambda: time.time() + 120  # past ttl + revalidate, within stale_ttl
            httpx.post(
                f"{cloud_sandbox.base_url}/_sandbox/faults", json={"status": 503, "error_rate": 1.0}
            ).raise_for_status()
            stale = user.query(query.replace("{ issues", "{ again: issues"))
        finally:
            httpx.post(f"{cloud_sandbox.base_url}/_sandbox/faults", json={}).raise_for_status()
            user.close()
    assert stale["data"]["again"] == fresh["data"]["issues"]
    assert stale["extensions"]["cache"]["servedStale"] is True
