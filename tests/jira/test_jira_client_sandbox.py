"""JiraClient against the sandbox JIRA over real HTTP, on both flavors.

What reached JIRA is read from the sandbox's own counter (``/_sandbox/calls``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from gateway.jira.adapter_base import InvalidCursor
from gateway.jira.client import Caller, ClientConfig, JiraClient
from gateway.jira.dto import ChangelogEntry, Comment, CustomField, Issue, User
from gateway.jira.errors import JiraAuthError, JiraBadRequest, JiraNotFound
from gateway.jira.flavor import Flavor
from gateway.jira.transport import JiraTransport
from tests.support import RunningServer, SandboxFactory

ALICE = Caller("alice", httpx.BasicAuth("alice@example.com", "alice-token"))
BOB = Caller("bob", httpx.BasicAuth("bob@example.com", "bob-token"))
FLAVORS = ["cloud", "server"]


def calls(server: RunningServer) -> dict[str, int]:
    by_endpoint: dict[str, int] = httpx.get(f"{server.base_url}/_sandbox/calls").json()[
        "by_endpoint"
    ]
    return by_endpoint


def reset_calls(server: RunningServer) -> None:
    httpx.post(f"{server.base_url}/_sandbox/calls/reset").raise_for_status()


@pytest.fixture(params=FLAVORS)
def sandbox(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> RunningServer:
    return sandbox_factory(flavor=request.param)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient, sandbox: RunningServer) -> Iterator[JiraClient]:
    reset_calls(sandbox)
    return JiraClient(JiraTransport(http, sandbox.base_url, site="a"))


def _flavor(sandbox: RunningServer) -> Flavor:
    return Flavor(sandbox.app.state.store.flavor)


async def test_flavor_is_detected_once_from_server_info(
    client: JiraClient, sandbox: RunningServer
) -> None:
    flavors = {await client.flavor(ALICE), await client.flavor(BOB)}
    assert flavors == {_flavor(sandbox)}
    info = await client.server_info(ALICE)
    assert info.flavor is _flavor(sandbox)
    assert info.deployment_type in {"Cloud", "Server", "DataCenter"}
    # one detection call, one explicit server_info call
    assert calls(sandbox) == {"GET /rest/api/2/serverInfo": 2}


async def test_explicit_flavor_skips_detection(
    http: httpx.AsyncClient, sandbox: RunningServer
) -> None:
    reset_calls(sandbox)
    client = JiraClient(
        JiraTransport(http, sandbox.base_url, site="a"),
        config=ClientConfig(flavor=_flavor(sandbox)),
    )
    me = await client.myself(ALICE)
    assert me.display_name == "Alice Anderson"
    assert list(calls(sandbox)) == [f"GET /rest/api/{client_api(sandbox)}/myself"]


def client_api(sandbox: RunningServer) -> str:
    return "3" if _flavor(sandbox) is Flavor.CLOUD else "2"


async def test_myself_identifies_users_the_flavors_way(
    client: JiraClient, sandbox: RunningServer
) -> None:
    me = await client.myself(BOB)
    assert isinstance(me, User)
    if _flavor(sandbox) is Flavor.CLOUD:
        assert me.account_id is not None
        assert me.id == me.account_id
        assert me.name is None
    else:
        assert me.name == "bob"
        assert me.key is not None
        assert me.id == me.key


async def test_get_issue_returns_only_requested_fields_with_raw_rich_text(
    client: JiraClient, sandbox: RunningServer
) -> None:
    page = await client.search(ALICE, "project = ALPHA order by key", fields=["summary"])
    key = page.issues[0].key
    issue = await client.get_issue(ALICE, key, fields=["summary", "description", "status"])
    assert isinstance(issue, Issue)
    assert issue.key == key
    assert issue.fields_present <= {"summary", "description", "status"}
    assert issue.status is not None
    assert issue.summary
    assert issue.assignee is None
    assert "assignee" not in issue.fields_present
    if issue.description is not None:
        if _flavor(sandbox) is Flavor.CLOUD:
            assert issue.description.adf is not None
            assert issue.description.wiki is None
        else:
            assert isinstance(issue.description.wiki, str)
            assert issue.description.adf is None


async def test_search_walks_every_issue_exactly_once(
    client: JiraClient, sandbox: RunningServer
) -> None:
    jql = "project in (ALPHA, BETA) order by key"
    expected = await client.approximate_count(ALICE, jql)
    reset_calls(sandbox)
    keys = [i.key async for i in client.search_all(ALICE, jql, fields=["summary"], page_size=17)]
    assert len(keys) == expected > 17 * 2
    assert len(set(keys)) == len(keys)
    pages = -(-expected // 17)
    search = (
        "POST /rest/api/3/search/jql"
        if _flavor(sandbox) is Flavor.CLOUD
        else "POST /rest/api/2/search"
    )
    assert calls(sandbox) == {search: pages}


async def test_search_page_cursor_and_totals(client: JiraClient, sandbox: RunningServer) -> None:
    first = await client.search(ALICE, "order by key", fields=["summary"], page_size=5)
    assert len(first.issues) == 5
    assert first.next_cursor is not None
    second = await client.search(
        ALICE, "order by key", fields=["summary"], page_size=5, cursor=first.next_cursor
    )
    assert {i.key for i in first.issues}.isdisjoint(i.key for i in second.issues)
    if _flavor(sandbox) is Flavor.CLOUD:
        assert first.total is None  # /search/jql has no total
    else:
        assert first.total == await client.approximate_count(ALICE, "order by key")
    with pytest.raises(InvalidCursor):
        await client.search(ALICE, "order by key", fields=["summary"], cursor="bm9wZQ")


async def test_permissions_follow_the_caller(client: JiraClient) -> None:
    alice = await client.approximate_count(ALICE, "project = GAMMA")
    bob = await client.approximate_count(BOB, "project in (ALPHA, BETA)")
    assert alice > 0
    assert bob > 0
    page = await client.search(ALICE, "project = GAMMA order by key", fields=["summary"])
    with pytest.raises(JiraNotFound):
        await client.get_issue(BOB, page.issues[0].key, fields=["summary"])


async def test_bad_jql_and_bad_credentials_map_to_typed_errors(client: JiraClient) -> None:
    with pytest.raises(JiraBadRequest) as caught:
        await client.search(ALICE, "project = = ALPHA", fields=["summary"])
    assert caught.value.error_messages
    with pytest.raises(JiraBadRequest) as unknown:
        await client.search(ALICE, "nosuchfield = 3", fields=["summary"])
    assert any("nosuchfield" in m for m in unknown.value.error_messages)
    intruder = Caller("mallory", httpx.BasicAuth("alice@example.com", "wrong"))
    with pytest.raises(JiraAuthError):
        await client.get_issue(intruder, "ALPHA-1", fields=["summary"])


async def test_comments_remainder_is_fetched_from_where_the_embedded_page_stopped(
    client: JiraClient,
) -> None:
    many: Issue | None = None
    async for issue in client.search_all(ALICE, "order by key", fields=["comment"]):
        if issue.comments is not None and issue.comments.truncated:
            many = issue
            break
    assert many is not None, "the seed has an issue with more than 20 comments"
    assert many.comments is not None
    embedded = many.comments
    assert embedded.total is not None
    assert len(embedded.items) < embedded.total
    everything = await client.complete_comments(ALICE, many.key, embedded)
    assert len(everything) == embedded.total
    assert len({c.id for c in everything}) == embedded.total
    page = await client.get_comments(ALICE, many.key, start_at=3, max_results=4)
    assert all(isinstance(c, Comment) for c in page.items)
    assert [c.id for c in page.items] == [c.id for c in everything[3:7]]


async def test_changelog_pages_in_both_flavors(client: JiraClient, sandbox: RunningServer) -> None:
    page = await client.search(ALICE, "order by key", fields=["summary"], page_size=30)
    key = page.issues[0].key
    full = await client.get_changelog(ALICE, key, max_results=100)
    assert full.total is not None
    assert len(full.items) == full.total > 2
    assert all(isinstance(e, ChangelogEntry) for e in full.items)
    middle = await client.get_changelog(ALICE, key, start_at=1, max_results=2)
    assert [e.id for e in middle.items] == [e.id for e in full.items[1:3]]
    assert not middle.is_last
    source = (
        "GET /rest/api/3/issue/{key}/changelog"
        if _flavor(sandbox) is Flavor.CLOUD
        else "GET /rest/api/2/issue/{key}"
    )
    assert source in calls(sandbox)


async def test_users_search_and_bulk(client: JiraClient, sandbox: RunningServer) -> None:
    found = await client.search_users(ALICE, "bob")
    assert [u.display_name for u in found] == ["Bob Brown"]
    me = await client.myself(ALICE)
    reset_calls(sandbox)
    users = await client.get_users(ALICE, [found[0].id, me.id, "nobody-at-all"])
    assert users[found[0].id] == found[0]
    assert users[me.id] is not None
    assert users[me.id].display_name == "Alice Anderson"
    assert users["nobody-at-all"] is None
    seen = calls(sandbox)
    if _flavor(sandbox) is Flavor.CLOUD:
        assert seen == {"GET /rest/api/3/user/bulk": 1}
    else:  # no bulk endpoint: concurrent single lookups (key, then username for the miss)
        assert seen == {"GET /rest/api/2/user": 4}


async def test_metadata_endpoints_return_dtos(client: JiraClient, sandbox: RunningServer) -> None:
    projects = await client.projects(BOB)
    assert sorted(p.key for p in projects) == ["ALPHA", "BETA"]
    statuses = await client.statuses(ALICE)
    assert {s.category.key for s in statuses} >= {"new", "indeterminate", "done"}
    assert await client.priorities(ALICE)
    assert any(t.subtask for t in await client.issue_types(ALICE))
    defs = await client.fields(ALICE)
    assert all(isinstance(d, CustomField) for d in defs.values())
    assert any(d.custom and d.type == "array" for d in defs.values())
    reset_calls(sandbox)
    assert await client.fields(BOB) is defs  # cached for the site
    assert calls(sandbox) == {}


async def test_custom_fields_are_named_from_field_definitions(client: JiraClient) -> None:
    defs = await client.fields(ALICE)
    sprint = next(d for d in defs.values() if d.name == "Sprint")
    page = await client.search(ALICE, "order by key", fields=[sprint.id], page_size=50)
    values = [i.custom_fields[sprint.id] for i in page.issues if sprint.id in i.custom_fields]
    assert values
    assert all(v.name == "Sprint" for v in values)


async def test_transitions_and_attachments(client: JiraClient) -> None:
    page = await client.search(ALICE, "order by key", fields=["attachment"], page_size=100)
    with_files = next(i for i in page.issues if i.attachments)
    transitions = await client.transitions(ALICE, with_files.key)
    assert transitions
    assert all(t.to is not None for t in transitions)
    attachment = with_files.attachments[0]
    content = await client.attachment_content(ALICE, attachment.id)
    assert attachment.size is None or len(content) == attachment.size
    with pytest.raises(JiraNotFound):
        await client.attachment_content(BOB, "999999999", filename="x.txt")


async def test_parse_jql_where_available(client: JiraClient, sandbox: RunningServer) -> None:
    result = await client.parse_jql(ALICE, ["project = ALPHA", "project = = x"])
    if _flavor(sandbox) is Flavor.CLOUD:
        assert result is not None
        assert not result[0].errors
        assert result[0].structure is not None
        assert result[1].errors
    else:
        assert result is None
