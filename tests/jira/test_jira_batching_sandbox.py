"""Batching primitives and writes against the sandbox JIRA over real HTTP, both flavors.

Writes use sandboxes with their own seed, so other tests' data stays untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.client import Caller, ClientConfig, JiraClient
from gateway.jira.errors import JiraUnavailable
from gateway.jira.flavor import Flavor
from gateway.jira.transport import JiraTransport, TransportConfig
from tests.support import RunningServer, SandboxFactory

ALICE = Caller("alice", httpx.BasicAuth("alice@example.com", "alice-token"))
BOB = Caller("bob", httpx.BasicAuth("bob@example.com", "bob-token"))


def calls(server: RunningServer) -> dict[str, int]:
    data: dict[str, int] = httpx.get(f"{server.base_url}/_sandbox/calls").json()["by_endpoint"]
    return data


def control(server: RunningServer, path: str, body: object = None) -> None:
    httpx.post(f"{server.base_url}/_sandbox/{path}", json=body).raise_for_status()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def make_client(http: httpx.AsyncClient, server: RunningServer, **config: bool) -> JiraClient:
    flavor = Flavor(server.app.state.store.flavor)
    return JiraClient(
        JiraTransport(http, server.base_url, site="a"),
        config=ClientConfig(flavor=flavor, **config),
    )


def keys_of(server: RunningServer, projects: set[str] | None = None) -> list[str]:
    issues = server.app.state.store.issues.values()
    return [i.key for i in issues if projects is None or i.project_key in projects]


@pytest.mark.parametrize("flavor", ["cloud", "server"])
async def test_250_keys_in_three_calls(
    flavor: str, sandbox_factory: SandboxFactory, http: httpx.AsyncClient
) -> None:
    server = sandbox_factory(flavor=flavor)
    client = make_client(http, server)
    keys = keys_of(server)[:250]
    control(server, "calls/reset")
    found = await fetch_issues_by_key(client, ALICE, keys, fields=["summary", "status"])
    assert list(found) == keys
    assert all(issue is not None and issue.key == key for key, issue in found.items())
    assert all(i is not None and i.summary and i.status for i in found.values())
    endpoint = (
        "POST /rest/api/3/issue/bulkfetch" if flavor == "cloud" else "POST /rest/api/2/search"
    )
    assert calls(server) == {endpoint: 3}


@pytest.mark.parametrize("flavor", ["cloud", "server"])
async def test_missing_and_hidden_keys_are_none_without_failing_the_batch(
    flavor: str, sandbox_factory: SandboxFactory, http: httpx.AsyncClient
) -> None:
    server = sandbox_factory(flavor=flavor)
    client = make_client(http, server)
    visible = keys_of(server, {"ALPHA", "BETA"})[:5]
    hidden = keys_of(server, {"GAMMA", "DELTA"})[:3]
    wanted = [*visible, *hidden, "ALPHA-999999", "NOPE-1", "not a key", visible[0].lower()]
    control(server, "calls/reset")
    found = await fetch_issues_by_key(client, BOB, wanted, fields=["summary"])
    assert list(found) == wanted
    assert [k for k, v in found.items() if v is not None] == [*visible, visible[0].lower()]
    assert found[visible[0].lower()] == found[visible[0]]
    assert sum(calls(server).values()) == 1


async def test_large_bulkfetch_falls_back_to_100_when_the_site_refuses(
    sandbox_factory: SandboxFactory, http: httpx.AsyncClient
) -> None:
    server = sandbox_factory(flavor="cloud")
    client = make_client(http, server, large_bulkfetch=True)
    keys = keys_of(server)[:250]
    control(server, "calls/reset")
    found = await fetch_issues_by_key(client, ALICE, keys, fields=["summary", "status"])
    assert all(found[k] is not None for k in keys)
    # one refused 250-key call, then 100 + 100 + 50; the next batch goes straight to 100s
    assert calls(server) == {"POST /rest/api/3/issue/bulkfetch": 4}
    control(server, "calls/reset")
    await fetch_issues_by_key(client, ALICE, keys, fields=["summary"])
    assert calls(server) == {"POST /rest/api/3/issue/bulkfetch": 3}


async def test_only_requested_fields_travel(
    sandbox_factory: SandboxFactory, http: httpx.AsyncClient
) -> None:
    server = sandbox_factory(flavor="cloud")
    client = make_client(http, server)
    keys = keys_of(server)[:3]
    found = await fetch_issues_by_key(client, ALICE, keys, fields=["summary"])
    assert all(i is not None and i.fields_present == {"summary"} for i in found.values())
    everything = await fetch_issues_by_key(client, ALICE, keys[:1], fields=["*all"])
    issue = everything[keys[0]]
    assert issue is not None
    assert {"comment", "attachment", "summary"} <= issue.fields_present


async def test_chunk_calls_run_concurrently_within_the_site_limit(
    sandbox_factory: SandboxFactory, http: httpx.AsyncClient
) -> None:
    import time

    server = sandbox_factory(flavor="server")
    transport = JiraTransport(
        http, server.base_url, site="a", config=TransportConfig(concurrency=8)
    )
    client = JiraClient(transport, config=ClientConfig(flavor=Flavor.SERVER))
    keys = keys_of(server)[:300]
    control(server, "faults", {"latency_ms": 200})
    try:
        start = time.perf_counter()
        found = await fetch_issues_by_key(client, ALICE, keys, fields=["summary"])
        elapsed = time.perf_counter() - start
    finally:
        control(server, "faults", {})
    assert all(found[k] is not None for k in keys)
    assert elapsed < 0.55  # three 200 ms calls one after the other would take 0.6 s


@pytest.mark.parametrize("flavor", ["cloud", "server"])
async def test_comment_post_is_sent_exactly_once_even_when_it_fails(
    flavor: str, sandbox_factory: SandboxFactory, http: httpx.AsyncClient
) -> None:
    server = sandbox_factory(flavor=flavor, seed=71)
    client = make_client(http, server)
    key = keys_of(server)[0]
    control(server, "calls/reset")
    comment = await client.add_comment(ALICE, key, "Hello from the gateway\n\nsecond paragraph")
    assert comment.author is not None
    assert comment.author.display_name == "Alice Anderson"
    text = comment.body.wiki if flavor == "server" else str(comment.body.adf)
    assert text is not None
    assert "second paragraph" in text
    control(server, "faults", {"status": 503})
    try:
        with pytest.raises(JiraUnavailable):
            await client.add_comment(ALICE, key, "never retried")
    finally:
        control(server, "faults", {})
    assert calls(server) == {
        f"POST /rest/api/{'3' if flavor == 'cloud' else '2'}/issue/{{key}}/comment": 2
    }


@pytest.mark.parametrize("flavor", ["cloud", "server"])
async def test_edit_and_transition(
    flavor: str, sandbox_factory: SandboxFactory, http: httpx.AsyncClient
) -> None:
    server = sandbox_factory(flavor=flavor, seed=72)
    client = make_client(http, server)
    key = keys_of(server)[1]
    bob = (await client.search_users(ALICE, "bob"))[0]
    await client.edit_issue(
        ALICE,
        key,
        fields={"summary": "Renamed by the client", "assignee": await client.user_ref(ALICE, bob)},
        update={"labels": [{"add": "from-client"}]},
    )
    issue = await client.get_issue(ALICE, key, fields=["summary", "labels", "assignee", "status"])
    assert issue.summary == "Renamed by the client"
    assert "from-client" in issue.labels
    assert issue.assignee is not None
    assert issue.assignee.id == bob.id
    target = next(t for t in await client.transitions(ALICE, key) if t.to is not None)
    await client.do_transition(ALICE, key, target.id, comment="moved along")
    after = await client.get_issue(ALICE, key, fields=["status", "comment"])
    assert after.status is not None
    assert target.to is not None
    assert after.status.name == target.to.name
    assert after.comments is not None
    assert after.comments.total is not None
