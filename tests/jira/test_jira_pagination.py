"""The three pagination styles over a JiraTransport, with real JIRA page envelopes and items."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.jira.errors import JiraMalformedResponse
from gateway.jira.pagination import (
    Page,
    PageRequest,
    iterate_items,
    paginate_offset,
    paginate_token,
    paginate_values,
)
from gateway.jira.transport import JiraTransport

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract" / "rest"
Handler = Callable[[httpx.Request], httpx.Response]


def _load(relative: str) -> Any:
    return json.loads((CONTRACT / relative).read_text())


def _openapi_example(operation: str) -> dict[str, Any]:
    examples = _load("atlassian-openapi-examples/platform-v3.examples.json")
    return next(e["example"] for e in examples if e["operationId"] == operation)


class Jira:
    """Records requests; serves pages computed by ``page(request)``."""

    def __init__(self, page: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self._page = page

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._page(request)

    def query(self, index: int) -> dict[str, str]:
        return dict(self.requests[index].url.params)

    def body(self, index: int) -> dict[str, Any]:
        return json.loads(self.requests[index].content)


@pytest.fixture
async def make() -> AsyncIterator[Callable[[Handler], tuple[Jira, JiraTransport]]]:
    clients: list[httpx.AsyncClient] = []

    def build(page: Handler) -> tuple[Jira, JiraTransport]:
        jira = Jira(page)
        client = httpx.AsyncClient(transport=httpx.MockTransport(jira))
        clients.append(client)
        return jira, JiraTransport(client, "https://jira.example.com", site="s")

    yield build
    for client in clients:
        await client.aclose()


async def _collect(pages: AsyncIterator[Page]) -> list[Page]:
    return [page async for page in pages]


def _issues(count: int) -> list[dict[str, Any]]:
    """``count`` real issue objects (from a recorded Server search), with distinct keys."""
    recorded = _load("server-jrjc/search/many-issues.json")["issues"]
    issues = []
    for n in range(count):
        issue = copy.deepcopy(recorded[n % len(recorded)])
        issue["key"] = f"TST-{n + 1}"
        issues.append(issue)
    return issues


async def test_offset_pages_advance_by_items_served_when_jira_caps_max_results(
    make: Callable[[Handler], tuple[Jira, JiraTransport]],
) -> None:
    issues = _issues(15)
    envelope = _load("server-jrjc/search/many-issues.json")

    def page(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        start, cap = body["startAt"], min(body["maxResults"], 8)  # JIRA caps at 8
        data = {**envelope, "startAt": start, "maxResults": cap, "total": 15}
        data["issues"] = issues[start : start + cap]
        return httpx.Response(200, json=data)

    jira, transport = make(page)
    req = PageRequest(
        "POST", "/rest/api/2/search", "alice", "issues", body={"jql": "project = TST"}
    )

    pages = await _collect(paginate_offset(transport, req))

    assert [len(p.items) for p in pages] == [8, 7]
    assert [p.is_last for p in pages] == [False, True]
    assert pages[0].total == 15
    assert [jira.body(i)["startAt"] for i in range(2)] == [0, 8]
    assert jira.body(1)["jql"] == "project = TST"
    keys = [item["key"] async for item in iterate_items(paginate_offset(transport, req))]
    assert keys == [f"TST-{n}" for n in range(1, 16)]


async def test_values_pages_follow_is_last_and_never_fetch_next_page_urls(
    make: Callable[[Handler], tuple[Jira, JiraTransport]],
) -> None:
    example = _openapi_example("getChangeLogs")
    histories = [{**copy.deepcopy(example["values"][n % 2]), "id": str(n)} for n in range(5)]

    def page(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startAt"])
        size = int(request.url.params["maxResults"])
        data = {
            **example,
            "startAt": start,
            "maxResults": size,
            "values": histories[start : start + size],
            "isLast": start + size >= 5,
        }
        return httpx.Response(200, json=data)

    jira, transport = make(page)
    req = PageRequest(
        "GET",
        "/rest/api/3/issue/{issueIdOrKey}/changelog",
        "alice",
        "values",
        path_params={"issueIdOrKey": "TT-1"},
        page_size=2,
    )

    pages = await _collect(paginate_values(transport, req))

    assert [[v["id"] for v in p.items] for p in pages] == [["0", "1"], ["2", "3"], ["4"]]
    assert all(r.url.host == "jira.example.com" for r in jira.requests)
    assert [jira.query(i)["startAt"] for i in range(3)] == ["0", "2", "4"]


async def test_token_pages_in_query_for_get_and_body_for_post(
    make: Callable[[Handler], tuple[Jira, JiraTransport]],
) -> None:
    issue = _openapi_example("searchAndReconsileIssuesUsingJqlPost")["issues"][0]
    tokens = {None: ("t1", 0), "t1": ("t2", 1), "t2": (None, 2)}

    def page(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            token = json.loads(request.content).get("nextPageToken")
        else:
            token = request.url.params.get("nextPageToken")
        following, n = tokens[token]
        data: dict[str, Any] = {"issues": [{**issue, "id": str(n)}], "isLast": following is None}
        if following:
            data["nextPageToken"] = following
        return httpx.Response(200, json=data)

    for method in ("GET", "POST"):
        jira, transport = make(page)
        req = PageRequest(method, "/rest/api/3/search/jql", "alice", "issues", params={"jql": "x"})

        pages = await _collect(paginate_token(transport, req))

        assert [p.items[0]["id"] for p in pages] == ["0", "1", "2"]
        assert all(p.total is None for p in pages)
        if method == "GET":
            assert [jira.query(i).get("nextPageToken") for i in range(3)] == [None, "t1", "t2"]
            assert jira.query(2)["jql"] == "x"
        else:
            assert [jira.body(i).get("nextPageToken") for i in range(3)] == [None, "t1", "t2"]


async def test_a_server_that_never_ends_is_stopped(
    make: Callable[[Handler], tuple[Jira, JiraTransport]],
) -> None:
    counter = iter(range(10**6))

    def endless(request: httpx.Request) -> httpx.Response:
        n = next(counter)
        return httpx.Response(
            200, json={"issues": [{"id": str(n)}], "nextPageToken": f"t{n}", "isLast": False}
        )

    jira, transport = make(endless)
    req = PageRequest("GET", "/rest/api/3/search/jql", "a", "issues", max_pages=25)

    with pytest.raises(JiraMalformedResponse) as caught:
        await _collect(paginate_token(transport, req))

    assert caught.value.endpoint == "/rest/api/3/search/jql"
    assert len(jira.requests) == 25


@pytest.mark.parametrize(
    "data",
    [
        {"startAt": 0, "maxResults": 50, "total": 100, "issues": []},
        {"values": [], "isLast": False},
    ],
)
async def test_an_empty_page_that_claims_more_ends_the_offset_iteration(
    data: dict[str, Any], make: Callable[[Handler], tuple[Jira, JiraTransport]]
) -> None:
    jira, transport = make(lambda r: httpx.Response(200, json=data))
    key = "issues" if "issues" in data else "values"

    pages = await _collect(paginate_offset(transport, PageRequest("GET", "/x", "a", key)))

    assert [p.items for p in pages] == [[]]
    assert len(jira.requests) == 1


async def test_empty_or_repeated_token_pages_end_the_token_iteration(
    make: Callable[[Handler], tuple[Jira, JiraTransport]],
) -> None:
    jira, transport = make(
        lambda r: httpx.Response(200, json={"issues": [], "nextPageToken": "t", "isLast": False})
    )
    assert (
        len(await _collect(paginate_token(transport, PageRequest("GET", "/x", "a", "issues")))) == 1
    )

    jira, transport = make(
        lambda r: httpx.Response(
            200, json={"issues": [{"id": "1"}], "nextPageToken": "same", "isLast": False}
        )
    )
    pages = await _collect(paginate_token(transport, PageRequest("GET", "/x", "a", "issues")))
    assert len(pages) == 2
    assert len(jira.requests) == 2


async def test_recorded_comment_page_with_a_lying_total_is_one_page(
    make: Callable[[Handler], tuple[Jira, JiraTransport]],
) -> None:
    recorded = _load("go-atlassian/v3/get-issue-comments.json")  # total 1, 14 comments
    _jira, transport = make(lambda r: httpx.Response(200, json=recorded))
    req = PageRequest(
        "GET", "/rest/api/3/issue/{key}/comment", "a", "comments", path_params={"key": "K-1"}
    )

    pages = await _collect(paginate_offset(transport, req))

    assert len(pages) == 1
    assert len(pages[0].items) == len(recorded["comments"])


@pytest.mark.parametrize(
    "data",
    [[{"id": "1"}], {"issues": {"id": "1"}}, {"issues": ["TST-1"]}, "page"],
)
async def test_wrong_page_shapes_are_malformed_with_the_endpoint(
    data: object, make: Callable[[Handler], tuple[Jira, JiraTransport]]
) -> None:
    _jira, transport = make(lambda r: httpx.Response(200, json=data))
    req = PageRequest("GET", "/rest/api/2/search", "a", "issues")

    with pytest.raises(JiraMalformedResponse) as caught:
        await _collect(paginate_offset(transport, req))

    assert caught.value.endpoint == "/rest/api/2/search"
