"""Tenancy: bob (restricted on site a) and carol (site b) get nothing of alice's beyond what
JIRA itself lets them see, on every path of the schema that reaches a site-owned object.

The walk is built from introspection, so new fields are covered automatically:

- every root field (query, mutation, subscription) must be classified in ``ROOT_FIELDS``; an
  unclassified one fails ``test_every_root_field_is_classified`` (classify it, and if it
  reaches site-owned data, make sure the generic probes below can call it);
- every field with a ``site`` argument (root fields and ``Viewer`` fields) is called by carol
  with alice's site id: it must refuse (``SITE_NOT_CONNECTED``), never answer with data;
- every site-scoped query root field is called by bob with arguments aimed at projects JIRA
  hides from him (GAMMA, DELTA): no hidden project key or name may appear in his answer,
  while alice's answers show the data exists (so the check is not vacuous);
- objects the gateway stores (export jobs, export templates) are read and changed by bob and
  carol through their ids: NOT_FOUND / nothing, and alice's objects stay intact;
- subscriptions with a ``site`` argument refuse carol over a real WebSocket.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.auth.auth_api_support import Gateway, cloud_login, running_gateway
from tests.conftest import SandboxFactory

# kind of each root field:
#   public  - nothing per user;          self  - the caller's own gateway data (viewer);
#   auth    - sign-in mutations;         site  - reads JIRA on a site (site: ID);
#   owned   - gateway-stored objects of the caller, by id or listed;
#   write   - changes on a site / in the caller's own stored objects.
ROOT_FIELDS: dict[str, dict[str, str]] = {
    "query": {
        "gateway": "public",
        "viewer": "self",
        "issue": "site",
        "issues": "site",
        "node": "owned",
        "projects": "site",
        "statuses": "site",
        "priorities": "site",
        "issueTypes": "site",
        "users": "site",
        "quickFilters": "site",
        "exportJob": "owned",
        "exportTemplates": "owned",
        "searchIssues": "site",
        "issueStats": "site",
        "savedFilters": "owned",
        "selections": "owned",
        "selection": "owned",
        "searchHistory": "owned",
        "quickFilterSets": "owned",  # issue 6
    },
    "mutation": {
        "login": "auth",
        "refreshToken": "auth",
        "logout": "auth",
        "revokeSession": "auth",
        "mintToken": "auth",
        "setDefaultSite": "self",
        "registerWebhooks": "write",
        "exportIssuePdf": "write",
        "exportIssuesPdf": "write",
        "cancelExport": "owned",
        "createSelection": "owned",
        "addToSelection": "owned",
        "removeFromSelection": "owned",
        "toggleAllInSelection": "owned",
        "clearSelection": "owned",
        "deleteSelection": "owned",
        "saveFilter": "owned",
        "deleteFilter": "owned",
        "clearSearchHistory": "owned",
        "saveExportTemplate": "owned",
        "deleteExportTemplate": "owned",
        "saveQuickFilterSet": "owned",  # issue 6
        "deleteQuickFilterSet": "owned",  # issue 6
        "recordFilterUse": "owned",  # issue 6
    },
    "subscription": {"issueChanged": "site", "exportProgress": "owned"},
}
HIDDEN_FROM_BOB = ("GAMMA", "DELTA", "Gamma Mobile", "Delta Data")

INTROSPECT = """
{ __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { name kind fields { name args { name type { kind name ofType { kind name
      ofType { kind name ofType { kind name } } } } } type { kind name ofType { kind name
      ofType { kind name ofType { kind name } } } } } }
} }
"""


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, sandbox_factory: SandboxFactory
) -> Iterator[dict[str, Any]]:
    site_a = sandbox_factory(flavor="cloud", site="a")
    site_b = sandbox_factory(flavor="cloud", site="b")
    with running_gateway(tmp_path_factory.mktemp("isolation")) as gateway:
        alice = gateway.login_ok(site_a.base_url, **cloud_login("alice"))
        bob = gateway.login_ok(site_a.base_url, **cloud_login("bob"))
        carol = gateway.login_ok(site_b.base_url, **cloud_login("carol"))
        yield {
            "gateway": gateway,
            "alice": alice,
            "bob": bob,
            "carol": carol,
            "site_a": alice["site"]["id"],
            "schema": gateway.gql(INTROSPECT)["data"]["__schema"],
        }


def _unwrap(ref: dict[str, Any]) -> tuple[str, bool]:
    """(named type, required) of a type reference."""
    required = ref["kind"] == "NON_NULL"
    while ref.get("ofType") is not None:
        ref = ref["ofType"]
    return str(ref["name"]), required


def _types(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in schema["types"]}


def _root_fields(schema: dict[str, Any], root: str) -> list[dict[str, Any]]:
    ref = schema.get(f"{root}Type")
    return list(_types(schema)[ref["name"]]["fields"]) if ref else []


def _selection(types: dict[str, dict[str, Any]], type_name: str) -> str:
    kind = types[type_name]["kind"] if type_name in types else "SCALAR"
    return "" if kind in ("SCALAR", "ENUM") else " { __typename }"


def _token(world: dict[str, Any], who: str) -> str:
    return str(world[who]["accessToken"])


def _gql(world: dict[str, Any], who: str, query: str, variables: Any = None) -> Any:
    gateway: Gateway = world["gateway"]
    return gateway.gql(query, variables, token=_token(world, who))


def _codes(body: Any) -> set[str]:
    return {e.get("extensions", {}).get("code", "") for e in body.get("errors") or []}


def test_every_root_field_is_classified(world: dict[str, Any]) -> None:
    unclassified = [
        f"{root}.{field['name']}"
        for root in ROOT_FIELDS
        for field in _root_fields(world["schema"], root)
        if field["name"] not in ROOT_FIELDS[root]
    ]
    assert not unclassified, (
        f"classify {unclassified} in tests/test_isolation.py ROOT_FIELDS (and make sure the "
        "probes reach them)"
    )


# --- carol on alice's site: every field with a site argument refuses -------------------------

SAMPLE_ARGS = {"key": "ALPHA-1", "query": "a", "id": "x", "text": "a", "jql": "project = ALPHA"}


def _site_paths(world: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(operation keyword, query text, label) calling each site-taking field on site a."""
    types = _types(world["schema"])
    paths: list[tuple[str, str, str]] = []
    owners = [("query", "", _root_fields(world["schema"], "query"))]
    owners.append(("query", "viewer", types["Viewer"]["fields"]))
    owners.append(("mutation", "", _root_fields(world["schema"], "mutation")))
    for operation, prefix, fields in owners:
        for field in fields:
            args = {a["name"]: a for a in field["args"]}
            if "site" not in args:
                continue
            values = [f"site: {json.dumps(world['site_a'])}"]
            for name, arg in args.items():
                type_name, required = _unwrap(arg["type"])
                if name == "site" or not required:
                    continue
                if type_name not in ("String", "ID"):
                    values = []  # an input object we cannot fill generically
                    break
                values.append(f"{name}: {json.dumps(SAMPLE_ARGS.get(name, 'x'))}")
            if not values:
                continue
            returned, _ = _unwrap(field["type"])
            call = f"{field['name']}({', '.join(values)}){_selection(types, returned)}"
            body = f"{prefix} {{ {call} }}" if prefix else call
            paths.append((operation, f"{operation} {{ {body} }}", field["name"]))
    return paths


def test_carol_reaches_nothing_on_alices_site(world: dict[str, Any]) -> None:
    paths = _site_paths(world)
    assert {"issue", "issues", "jiraUser"} <= {label for _, _, label in paths}
    for _, query, label in paths:
        body = _gql(world, "carol", query)
        assert "SITE_NOT_CONNECTED" in _codes(body), (label, body)
        data = body.get("data")
        assert not data or all(v is None for v in data.values()) or data == {"viewer": None}, (
            label,
            body,
        )


# --- bob on site a: JIRA's permissions hold on every site-scoped read ------------------------


def _bob_probe(field: dict[str, Any], types: dict[str, dict[str, Any]]) -> str | None:
    """A query of ``field`` aimed at GAMMA/DELTA data, selecting every scalar it returns."""
    args = {a["name"]: a for a in field["args"]}
    values: list[str] = []
    aimed = {"key": "GAMMA-1", "jql": "project in (GAMMA, DELTA)", "query": "a", "text": "a"}
    for name, arg in args.items():
        type_name, required = _unwrap(arg["type"])
        if name in aimed and type_name == "String":
            values.append(f"{name}: {json.dumps(aimed[name])}")
        elif required:
            return None  # needs an input we cannot aim generically (covered by name below)
    returned, _ = _unwrap(field["type"])
    selection = _deep_selection(types, returned, depth=3)
    arguments = f"({', '.join(values)})" if values else ""
    return f"{{ {field['name']}{arguments}{selection} }}"


def _deep_selection(types: dict[str, dict[str, Any]], type_name: str, depth: int) -> str:
    t = types.get(type_name)
    if t is None or t["kind"] in ("SCALAR", "ENUM"):
        return ""
    if t["kind"] in ("INTERFACE", "UNION") or depth == 0:
        return " { __typename }"
    parts: list[str] = []
    for field in t["fields"]:
        if any(_unwrap(a["type"])[1] for a in field["args"]):
            continue
        inner, _ = _unwrap(field["type"])
        sub = _deep_selection(types, inner, depth - 1)
        if sub == " { __typename }" and types.get(inner, {}).get("kind") == "OBJECT":
            continue
        parts.append(field["name"] + sub)
    return " { " + " ".join(parts or ["__typename"]) + " }"


def test_bob_sees_no_hidden_project_through_any_site_read(world: dict[str, Any]) -> None:
    types = _types(world["schema"])
    probed: list[str] = []
    alice_saw_hidden = False
    for field in _root_fields(world["schema"], "query"):
        if ROOT_FIELDS["query"].get(field["name"]) != "site":
            continue
        query = _bob_probe(field, types)
        if query is None:
            continue
        probed.append(field["name"])
        bob = _gql(world, "bob", query)
        text = json.dumps(bob.get("data"))
        leaked = [marker for marker in HIDDEN_FROM_BOB if marker in text]
        assert not leaked, (field["name"], leaked, text[:500])
        alice = _gql(world, "alice", query)
        alice_text = json.dumps(alice.get("data"))
        alice_saw_hidden = alice_saw_hidden or any(m in alice_text for m in HIDDEN_FROM_BOB)
    assert {"issue", "issues", "projects"} <= set(probed)
    assert alice_saw_hidden  # the hidden data exists: the check above is not vacuous


def test_bob_cannot_reach_alices_issue_by_global_id_even_after_alice_cached_it(
    world: dict[str, Any],
) -> None:
    query = '{ issue(key: "GAMMA-1") { id key summary } }'
    seen = _gql(world, "alice", query)["data"]["issue"]
    assert seen["key"] == "GAMMA-1"
    bob = _gql(world, "bob", query)  # cold for bob, warm in alice's cache
    assert bob["data"]["issue"] is None
    by_id = _gql(world, "bob", "query($id: ID!) { node(id: $id) { id } }", {"id": seen["id"]})
    assert not by_id["data"] or by_id["data"]["node"] is None
    carol = _gql(world, "carol", "query($id: ID!) { node(id: $id) { id } }", {"id": seen["id"]})
    assert not carol["data"] or carol["data"]["node"] is None


def test_viewer_shows_only_the_callers_own_sites_and_sessions(world: dict[str, Any]) -> None:
    query = "{ viewer { user { id } sites { id url } sessions { id } } }"
    views = {who: _gql(world, who, query)["data"]["viewer"] for who in ("alice", "bob", "carol")}
    assert len({v["user"]["id"] for v in views.values()}) == 3
    for who, view in views.items():
        assert [s["id"] for s in view["sessions"]] == [world[who]["sessionId"]]
        assert [s["id"] for s in view["sites"]] == [world[who]["site"]["id"]]


# --- objects the gateway stores: export jobs and templates ----------------------------------


def test_bob_and_carol_cannot_touch_alices_stored_objects(world: dict[str, Any]) -> None:
    saved = _gql(
        world,
        "alice",
        'mutation { saveExportTemplate(name: "alice-secret", options: {headerText: "A"}) '
        "{ name } }",
    )
    assert saved["data"]["saveExportTemplate"]["name"] == "alice-secret", saved
    job = _gql(world, "alice", 'mutation { exportIssuePdf(key: "GAMMA-1") { id } }')
    job_id = job["data"]["exportIssuePdf"]["id"]

    for who in ("bob", "carol"):
        templates = _gql(world, who, "{ exportTemplates { name } }")["data"]["exportTemplates"]
        assert "alice-secret" not in [t["name"] for t in templates]
        read = _gql(world, who, "query($id: ID!) { exportJob(id: $id) { id } }", {"id": job_id})
        assert "NOT_FOUND" in _codes(read), read
        cancel = _gql(
            world, who, "mutation($id: ID!) { cancelExport(id: $id) { id } }", {"id": job_id}
        )
        assert "NOT_FOUND" in _codes(cancel), cancel
        deleted = _gql(world, who, 'mutation { deleteExportTemplate(name: "alice-secret") }')
        assert deleted["data"] in (None, {"deleteExportTemplate": False}), deleted
    # bob cannot export an issue JIRA hides from him: refused at once, or the job fails.
    bob_export = _gql(world, "bob", 'mutation { exportIssuePdf(key: "GAMMA-1") { id } }')
    if not bob_export.get("errors"):
        final = _finished(world, "bob", bob_export["data"]["exportIssuePdf"]["id"])
        assert final["status"] != "DONE" or "GAMMA-1" in final["skipped"], final
        assert final["pageCount"] in (None, 0) or "GAMMA-1" in final["skipped"], final
    # alice's objects are intact.
    mine = _gql(world, "alice", "{ exportTemplates { name } }")["data"]["exportTemplates"]
    assert "alice-secret" in [t["name"] for t in mine]
    still = _gql(world, "alice", "query($id: ID!) { exportJob(id: $id) { id } }", {"id": job_id})
    assert still["data"]["exportJob"]["id"] == job_id


def _finished(world: dict[str, Any], who: str, job_id: str) -> dict[str, Any]:
    query = "query($id: ID!) { exportJob(id: $id) { status skipped pageCount error { code } } }"
    deadline = time.monotonic() + 30
    while True:
        job = _gql(world, who, query, {"id": job_id})["data"]["exportJob"]
        if job["status"] not in ("PENDING", "RUNNING") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.2)


def _refused(body: Any, field: str) -> bool:
    """Refused: a NOT_FOUND/FORBIDDEN error, or a null / false answer."""
    if _codes(body) & {"NOT_FOUND", "FORBIDDEN", "SITE_NOT_CONNECTED"}:
        return True
    data = body.get("data") or {}
    return not body.get("errors") and data.get(field) in (None, False)


def test_bob_and_carol_cannot_touch_alices_selections_and_filters(world: dict[str, Any]) -> None:
    created = _gql(
        world,
        "alice",
        'mutation { createSelection(name: "alice-private", keys: ["GAMMA-1"], shared: false) '
        "{ id size } }",
    )
    assert "errors" not in created, created
    selection = created["data"]["createSelection"]
    saved = _gql(
        world,
        "alice",
        'mutation { saveFilter(name: "alice-gamma", jql: "project = GAMMA", shared: false) '
        "{ id } }",
    )
    assert "errors" not in saved, saved
    filter_id = saved["data"]["saveFilter"]["id"]
    by_id = {"id": selection["id"]}
    for who in ("bob", "carol"):
        listed = _gql(world, who, "{ selections { id name } savedFilters { id name } }")
        text = json.dumps(listed.get("data"))
        assert "alice-private" not in text
        assert "alice-gamma" not in text
        read = _gql(world, who, "query($id: ID!) { selection(id: $id) { id } }", by_id)
        assert _refused(read, "selection"), read
        for mutation, field in [
            ('addToSelection(id: $id, keys: ["ALPHA-1"]) { id }', "addToSelection"),
            ('removeFromSelection(id: $id, keys: ["GAMMA-1"]) { id }', "removeFromSelection"),
            ("clearSelection(id: $id) { id }", "clearSelection"),
            ("deleteSelection(id: $id)", "deleteSelection"),
        ]:
            body = _gql(world, who, f"mutation($id: ID!) {{ {mutation} }}", by_id)
            assert _refused(body, field), (who, mutation, body)
        gone = _gql(world, who, "mutation($id: ID!) { deleteFilter(id: $id) }", {"id": filter_id})
        assert _refused(gone, "deleteFilter"), gone
    # alice's objects are intact.
    mine = _gql(world, "alice", "query($id: ID!) { selection(id: $id) { id size } }", by_id)
    assert mine["data"]["selection"] == selection
    filters = _gql(world, "alice", "{ savedFilters { id } }")["data"]["savedFilters"]
    assert filter_id in [f["id"] for f in filters]


# --- subscriptions ------------------------------------------------------------------------------


async def _subscribe(world: dict[str, Any], who: str, query: str, variables: Any) -> Any:
    gateway: Gateway = world["gateway"]
    url = gateway.url.replace("http://", "ws://")
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        init = {"type": "connection_init", "payload": {"accessToken": _token(world, who)}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        message = {"id": "1", "type": "subscribe", "payload": {"query": query}}
        message["payload"]["variables"] = variables
        await ws.send(json.dumps(message))
        while True:
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if answer["type"] != "ping":
                return answer


def test_subscriptions_refuse_other_tenants(world: dict[str, Any]) -> None:
    fields = {f["name"]: f for f in _root_fields(world["schema"], "subscription")}
    with_site = [name for name, f in fields.items() if "site" in {a["name"] for a in f["args"]}]
    assert "issueChanged" in with_site
    for name in with_site:
        answer = asyncio.run(
            _subscribe(
                world,
                "carol",
                f"subscription($s: ID) {{ {name}(site: $s) {{ __typename }} }}",
                {"s": world["site_a"]},
            )
        )
        # An "error" message, or a "next" result carrying errors and no data.
        assert answer["type"] in ("error", "next"), answer
        payload = answer["payload"]
        errors = payload if answer["type"] == "error" else payload.get("errors") or []
        assert answer["type"] == "error" or payload.get("data") is None, answer
        codes = {e.get("extensions", {}).get("code") for e in errors}
        assert "SITE_NOT_CONNECTED" in codes, answer
