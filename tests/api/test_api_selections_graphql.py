"""Selections and quick filter sets through GraphQL (embedded mode, 6,000-issue sandbox).

ALPHA holds 2,101 issues in this sandbox: toggleAllInSelection over it is one JIRA search.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import ApiUser, jira_calls, login, reset_calls, running_gateway
from tests.support import RunningServer, SandboxFactory

SELECTION = """
fragment S on Selection { id name size shared mine }
"""
CREATE = (
    SELECTION
    + """
mutation($name: String!, $keys: [String!], $shared: Boolean) {
  createSelection(name: $name, keys: $keys, shared: $shared) { ...S }
}"""
)
ADD = "mutation($id: ID!, $keys: [String!]!) { addToSelection(id: $id, keys: $keys) { size } }"
REMOVE = (
    "mutation($id: ID!, $keys: [String!]!) { removeFromSelection(id: $id, keys: $keys) { size } }"
)
TOGGLE = """
mutation($id: ID!, $filter: IssueFilter) {
  toggleAllInSelection(id: $id, filter: $filter) { added matched selection { size } }
}"""
ISSUES = """
query($id: ID!, $first: Int, $after: String) {
  selection(id: $id) {
    size
    issues(first: $first, after: $after) {
      nodes { key summary }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}"""
SYNCED = "{ viewer { sites { sync { lastSyncedAt state } } } }"


@pytest.fixture(scope="module")
def sandbox(sandbox_factory: SandboxFactory) -> RunningServer:
    return sandbox_factory(flavor="cloud", issues=6000)


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, sandbox: RunningServer
) -> Iterator[RunningServer]:
    with running_gateway(tmp_path_factory.mktemp("selections")) as server:
        yield server


@pytest.fixture(scope="module")
def alice(gateway: RunningServer, sandbox: RunningServer) -> ApiUser:
    return login(gateway, sandbox, "alice")


@pytest.fixture(scope="module")
def bob(gateway: RunningServer, sandbox: RunningServer, alice: ApiUser) -> ApiUser:
    return login(gateway, sandbox, "bob")


def ok(user: ApiUser, query: str, **variables: Any) -> dict[str, Any]:
    payload = user.query(query, variables)
    assert "errors" not in payload, payload
    data: dict[str, Any] = payload["data"]
    return data


def code(user: ApiUser, query: str, **variables: Any) -> str:
    payload = user.query(query, variables)
    assert payload.get("errors"), payload
    return str(payload["errors"][0]["extensions"]["code"])


def keys_of(sandbox: RunningServer, project: str) -> list[str]:
    return [k for k, i in sandbox.app.state.store.issues.items() if i.project_key == project]


def test_create_page_and_delete(alice: ApiUser, sandbox: RunningServer) -> None:
    keys = keys_of(sandbox, "BETA")[:7]
    made = ok(alice, CREATE, name="Release", keys=keys)["createSelection"]
    assert (made["name"], made["size"], made["mine"]) == ("Release", 7, True)
    seen: list[str] = []
    after = None
    while True:
        page = ok(alice, ISSUES, id=made["id"], first=3, after=after)["selection"]["issues"]
        assert page["totalCount"] == 7
        seen += [n["key"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == keys  # the order they were added, every key once
    assert ok(alice, "mutation($id: ID!) { deleteSelection(id: $id) }", id=made["id"])
    assert code(alice, ISSUES, id=made["id"]) == "NOT_FOUND"


def test_validation_errors(alice: ApiUser) -> None:
    assert code(alice, CREATE, name="x" * 201) == "BAD_USER_INPUT"
    assert code(alice, CREATE, name="ok", keys=["alpha one"]) == "BAD_USER_INPUT"
    too_many = [f"ALPHA-{n}" for n in range(1, 10_002)]
    assert code(alice, CREATE, name="big", keys=too_many) == "LIMIT_EXCEEDED"
    assert code(alice, ISSUES, id="no-such-selection") == "NOT_FOUND"


def test_private_selections_are_not_found_for_others(
    alice: ApiUser, bob: ApiUser, sandbox: RunningServer
) -> None:
    private = ok(alice, CREATE, name="Mine", keys=["ALPHA-1"])["createSelection"]
    shared = ok(alice, CREATE, name="Team", keys=["ALPHA-2"], shared=True)["createSelection"]
    assert code(bob, ISSUES, id=private["id"]) == "NOT_FOUND"
    assert code(bob, ADD, id=private["id"], keys=["ALPHA-3"]) == "NOT_FOUND"
    assert ok(bob, ISSUES, id=shared["id"])["selection"]["size"] == 1
    assert code(bob, ADD, id=shared["id"], keys=["ALPHA-3"]) == "FORBIDDEN"  # owner only
    listed = ok(bob, "{ selections { id mine } }")["selections"]
    assert {s["id"] for s in listed} == {shared["id"]}


def test_concurrent_add_and_remove_lose_nothing(alice: ApiUser, sandbox: RunningServer) -> None:
    alpha = keys_of(sandbox, "ALPHA")
    made = ok(alice, CREATE, name="Race", keys=alpha[:100])["createSelection"]
    added = alpha[100:300]
    removed = alpha[:100:2]
    failures: list[Any] = []

    def client(chunks: list[list[str]], query: str) -> None:
        user = ApiUser(alice.gateway, alice.token, alice.site_id)
        try:
            for chunk in chunks:
                payload = user.query(query, {"id": made["id"], "keys": chunk})
                if "errors" in payload:
                    failures.append(payload)
        finally:
            user.close()

    threads = [
        threading.Thread(target=client, args=([added[i : i + 10] for i in range(0, 200, 10)], ADD)),
        threading.Thread(
            target=client, args=([removed[i : i + 5] for i in range(0, 50, 5)], REMOVE)
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    expected = (set(alpha[:100]) - set(removed)) | set(added)
    final = ok(alice, ISSUES, id=made["id"], first=1)["selection"]
    assert final["size"] == len(expected) == 250


def test_toggle_all_over_two_thousand_issues_in_one_request(
    alice: ApiUser, sandbox: RunningServer
) -> None:
    # Wait for the gateway's own mirror sync to finish: its JIRA calls would be counted too.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        sync = ok(alice, SYNCED)["viewer"]["sites"][0]["sync"]
        if sync and sync["lastSyncedAt"] and sync["state"] == "IDLE":
            break
        time.sleep(0.5)
    alpha = keys_of(sandbox, "ALPHA")
    assert len(alpha) > 2000
    made = ok(alice, CREATE, name="All alpha", keys=alpha[:10])["createSelection"]
    reset_calls(sandbox)
    first = ok(alice, TOGGLE, id=made["id"], filter={"projects": ["ALPHA"]})
    searches = {k: v for k, v in jira_calls(sandbox).items() if "search" in k}
    assert sum(searches.values()) == 1, searches
    assert first["toggleAllInSelection"] == {
        "added": True,
        "matched": len(alpha),
        "selection": {"size": len(alpha)},
    }
    second = ok(alice, TOGGLE, id=made["id"], filter={"projects": ["ALPHA"]})
    assert second["toggleAllInSelection"]["added"] is False
    assert second["toggleAllInSelection"]["selection"]["size"] == 0


def test_quick_filter_sets_compose_presets_and_saved_filters(alice: ApiUser, bob: ApiUser) -> None:
    saved = ok(
        alice,
        'mutation { saveFilter(name: "Beta bugs", filter: {projects: ["BETA"], '
        'issueTypes: ["Bug"]}, jql: "priority = High") { id } }',
    )["saveFilter"]
    presets = ok(alice, "{ quickFilters { id } }")["quickFilters"]
    preset_ids = [q["id"] for q in presets]
    assert "my-open" in preset_ids
    made = ok(
        alice,
        'mutation($f: [String!]!) { saveQuickFilterSet(name: "Daily", filters: $f) '
        "{ id name filters { id name jql filter { projects issueTypes } } } }",
        f=[f"saved:{saved['id']}", "my-open"],
    )["saveQuickFilterSet"]
    mine = made["filters"][0]
    assert made["name"] == "Daily"
    assert mine["id"] == f"saved:{saved['id']}"
    assert mine["filter"] == {"projects": ["BETA"], "issueTypes": ["Bug"]}
    assert "priority = High" in mine["jql"]
    assert '"BETA"' in mine["jql"]
    quick = [q["id"] for q in ok(alice, "{ quickFilters { id } }")["quickFilters"]]
    assert quick[:2] == [f"saved:{saved['id']}", "my-open"]
    assert sorted(quick) == sorted({*preset_ids, f"saved:{saved['id']}"})
    # bob has no set: presets only; alice's private saved filter is not his to use.
    assert [q["id"] for q in ok(bob, "{ quickFilters { id } }")["quickFilters"]] == preset_ids
    bad = 'mutation($f: [String!]!) { saveQuickFilterSet(name: "x", filters: $f) { id } }'
    assert code(bob, bad, f=[f"saved:{saved['id']}"]) == "BAD_USER_INPUT"
    assert code(bob, bad, f=["no-such-preset"]) == "BAD_USER_INPUT"
    ok(alice, "mutation($id: ID!) { recordFilterUse(id: $id) }", id=f"saved:{saved['id']}")
    counts = ok(alice, "{ savedFilters { id useCount } }")["savedFilters"]
    assert {"id": saved["id"], "useCount": 1} in counts
    sets = ok(alice, "{ quickFilterSets { id } }")["quickFilterSets"]
    assert [s["id"] for s in sets] == [made["id"]]
    ok(alice, "mutation($id: ID!) { deleteQuickFilterSet(id: $id) }", id=made["id"])
    assert ok(alice, "{ quickFilterSets { id } }")["quickFilterSets"] == []
