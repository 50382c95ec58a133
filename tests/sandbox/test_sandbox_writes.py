"""Writes over real HTTP: edit, transition and comment round trips and their ChangeEvents."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.sandbox.model import ChangeEvent

ALICE = ("alice@example.com", "alice-token")
BOB = ("bob@example.com", "bob-token")
ADF_HELLO = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hello there"}]}],
}


@pytest.fixture
def sandbox(sandbox_factory) -> Iterator[tuple[httpx.Client, list[ChangeEvent]]]:
    """A cloud sandbox of its own seed, reset before each test, with recorded events."""
    server = sandbox_factory(flavor="cloud", issues=120, seed=42)
    events: list[ChangeEvent] = []
    store = server.app.state.store
    with httpx.Client(base_url=server.base_url, auth=ALICE, timeout=30) as client:
        assert client.post("/_sandbox/reset").status_code == 200
        store.subscribe(events.append)
        yield client, events
        store._subscribers.remove(events.append)


def _open_issue(client: httpx.Client, project: str = "ALPHA") -> dict:
    jql = f"project = {project} AND statusCategory != Done ORDER BY key ASC"
    page = client.post("/rest/api/3/search/jql", json={"jql": jql, "fields": ["*all"]}).json()
    return page["issues"][0]


def test_edit_round_trip_and_event(sandbox) -> None:
    client, events = sandbox
    issue = _open_issue(client)
    key = issue["key"]
    before = client.get(f"/rest/api/3/issue/{key}").json()["fields"]
    body = {
        "fields": {
            "summary": "Renamed by test",
            "description": ADF_HELLO,
            "duedate": "2030-01-02",
            "customfield_10016": 8,
            "priority": {"name": "Highest"},
        },
        "update": {"labels": [{"add": "from-test"}]},
    }
    res = client.put(f"/rest/api/3/issue/{key}", json=body)
    assert res.status_code == 204, res.text
    after = client.get(f"/rest/api/3/issue/{key}", params={"expand": "changelog"}).json()
    fields = after["fields"]
    assert fields["summary"] == "Renamed by test"
    assert fields["description"]["content"][0]["content"][0]["text"] == "hello there"
    assert fields["duedate"] == "2030-01-02"
    assert fields["customfield_10016"] == 8
    assert fields["priority"]["name"] == "Highest"
    assert "from-test" in fields["labels"]
    assert fields["updated"] > before["updated"]
    wiki = client.get(f"/rest/api/2/issue/{key}", params={"fields": "description"}).json()
    assert wiki["fields"]["description"] == "hello there"
    last = after["changelog"]["histories"][-1]
    changed = {item["field"] for item in last["items"]}
    assert {"summary", "description", "labels", "priority", "duedate"} <= changed
    (event,) = events
    assert event.kind == "issue_updated"
    assert event.issue_key == key
    assert {i.field for i in event.items} == changed
    summary = next(i for i in event.items if i.field == "summary")
    assert (summary.from_string, summary.to_string) == (before["summary"], "Renamed by test")
    # the write is visible to search immediately (cache keyed by data version)
    found = client.post(
        "/rest/api/3/search/jql", json={"jql": 'summary ~ "Renamed"', "fields": ["key"]}
    ).json()
    assert [i["key"] for i in found["issues"]] == [key]


def test_edit_errors(sandbox) -> None:
    client, events = sandbox
    key = _open_issue(client)["key"]
    res = client.put(f"/rest/api/3/issue/{key}", json={"fields": {"nonsense": 1}})
    assert res.status_code == 400
    assert "nonsense" in res.json()["errors"]
    res = client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": ""}})
    assert res.status_code == 400
    assert "summary" in res.json()["errors"]
    res = client.put(f"/rest/api/3/issue/{key}", json={"fields": {"description": "wiki on v3"}})
    assert res.status_code == 400
    erin = client.put(
        f"/rest/api/3/issue/{key}",
        auth=("erin@example.com", "erin-token"),
        json={"fields": {"summary": "x"}},
    )
    assert erin.status_code == 403
    assert events == []


def test_assign_and_transition(sandbox) -> None:
    client, events = sandbox
    key = _open_issue(client)["key"]
    bob_id = client.get("/rest/api/3/myself", auth=BOB).json()["accountId"]
    res = client.put(
        f"/rest/api/3/issue/{key}", json={"fields": {"assignee": {"accountId": bob_id}}}
    )
    assert res.status_code == 204
    assert events[-1].event_type_name == "issue_assigned"
    transitions = client.get(f"/rest/api/3/issue/{key}/transitions").json()["transitions"]
    done = next(t for t in transitions if t["to"]["statusCategory"]["key"] == "done")
    res = client.post(
        f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": done["id"]}}
    )
    assert res.status_code == 204
    fields = client.get(f"/rest/api/3/issue/{key}").json()["fields"]
    assert fields["assignee"]["accountId"] == bob_id
    assert fields["status"]["statusCategory"]["key"] == "done"
    assert fields["resolution"]["name"] == "Done"
    assert fields["resolutiondate"]
    assert {i.field for i in events[-1].items} == {"status", "resolution"}
    bad = client.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "999"}})
    assert bad.status_code == 400


def test_comment_round_trip_and_events(sandbox) -> None:
    client, events = sandbox
    key = _open_issue(client)["key"]
    total = client.get(f"/rest/api/3/issue/{key}/comment").json()["total"]
    created = client.post(f"/rest/api/3/issue/{key}/comment", json={"body": ADF_HELLO})
    assert created.status_code == 201
    cid = created.json()["id"]
    page = client.get(f"/rest/api/3/issue/{key}/comment", params={"startAt": total}).json()
    assert page["total"] == total + 1
    assert page["comments"][0]["id"] == cid
    v2 = client.get(f"/rest/api/2/issue/{key}/comment/{cid}").json()
    assert v2["body"] == "hello there"
    res = client.put(f"/rest/api/2/issue/{key}/comment/{cid}", json={"body": "edited *bold*"})
    assert res.status_code == 200
    assert res.json()["body"] == "edited *bold*"
    assert client.delete(f"/rest/api/3/issue/{key}/comment/{cid}", auth=BOB).status_code == 403
    assert client.delete(f"/rest/api/3/issue/{key}/comment/{cid}").status_code == 204
    assert client.get(f"/rest/api/3/issue/{key}/comment/{cid}").status_code == 404
    assert [e.kind for e in events] == ["comment_created", "comment_updated", "comment_deleted"]
    assert all(e.comment_id == cid and e.issue_key == key for e in events)
    # the store has removed the comment when it emits: the event carries it for webhooks
    deleted = events[-1].deleted_comment
    assert deleted is not None
    assert str(deleted.id) == cid
    assert [e.deleted_comment for e in events[:2]] == [None, None]
    empty = client.post(f"/rest/api/3/issue/{key}/comment", json={})
    assert empty.status_code == 400


def test_changelog_endpoints(sandbox) -> None:
    client, _events = sandbox
    key = _open_issue(client)["key"]
    client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "one"}})
    client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "two"}})
    first = client.get(f"/rest/api/3/issue/{key}/changelog", params={"maxResults": 1}).json()
    total = first["total"]
    assert total >= 2
    assert not first["isLast"]
    assert len(first["values"]) == 1
    last = client.get(f"/rest/api/3/issue/{key}/changelog", params={"startAt": total - 1}).json()
    assert last["isLast"]
    assert last["values"][0]["items"][0]["toString"] == "two"
    bulk = client.post(
        "/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": [key], "fieldIds": ["summary"]}
    ).json()
    (log,) = bulk["issueChangeLogs"]
    assert len(log["changeHistories"]) == 2


def test_reset_restores_seeded_state(sandbox) -> None:
    client, _events = sandbox
    key = _open_issue(client)["key"]
    original = client.get(f"/rest/api/3/issue/{key}").json()["fields"]["summary"]
    client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": "temporary"}})
    client.post("/_sandbox/reset")
    assert client.get(f"/rest/api/3/issue/{key}").json()["fields"]["summary"] == original
