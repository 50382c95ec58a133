"""Sandbox webhooks: signed delivery with retries, registration permissions, JIRA-shaped bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import RunningServer, SandboxFactory, serve_in_thread


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """A tiny webhook receiver: records every POST and answers from a scripted status list."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append(Received(body, dict(request.headers)))
                status = self.statuses.pop(0) if self.statuses else 204
            return Response(status_code=status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, RunningServer]]:
    rec = Receiver()
    server = serve_in_thread(rec.app())
    yield rec, server
    server.stop()


def _valid(secret: str, got: Received) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, got.headers["x-hub-signature"])


# --- through the sandbox app over real HTTP ---------------------------------------------------

ALICE = ("alice@example.com", "alice-token")
BOB = ("bob@example.com", "bob-token")
DYN_SECRET = "dyn-secret"
SEED = 31  # these tests write: their own sandbox, never the shared seed-1 ones


def _wait_for(rec: Receiver, count: int, within: float = 5.0) -> list[Received]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with rec.lock:
            if len(rec.received) >= count:
                return list(rec.received)
        time.sleep(0.02)
    with rec.lock:
        return list(rec.received)


def _server_auth(who: tuple[str, str]) -> tuple[str, str]:
    return (who[0].split("@")[0], who[1])


@pytest.fixture
def cloud(sandbox_factory: SandboxFactory) -> Iterator[httpx.Client]:
    server = sandbox_factory(flavor="cloud", seed=SEED)
    with httpx.Client(base_url=server.base_url, auth=ALICE, timeout=10) as c:
        yield c
        for hook in c.get("/rest/api/3/webhook").json()["values"]:
            c.request("DELETE", "/rest/api/3/webhook", json={"webhookIds": [hook["id"]]})


@pytest.fixture
def server(sandbox_factory: SandboxFactory) -> Iterator[httpx.Client]:
    running = sandbox_factory(flavor="server", seed=SEED)
    with httpx.Client(base_url=running.base_url, auth=_server_auth(ALICE), timeout=10) as c:
        yield c
        for hook in c.get("/rest/webhooks/1.0/webhook").json():
            c.delete(hook["self"])


def _register_dynamic(
    client: httpx.Client, url: str, jql: str, events: list[str], secret: str = DYN_SECRET
) -> int:
    answer = client.post(
        "/rest/api/3/webhook",
        json={"url": url, "secret": secret, "webhooks": [{"events": events, "jqlFilter": jql}]},
    )
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["webhookRegistrationResult"]
    return int(result["createdWebhookId"])


def test_admin_webhooks_are_for_administrators_only(server: httpx.Client) -> None:
    hook = {
        "name": "gateway",
        "url": "http://127.0.0.1:9/hook",
        "events": ["jira:issue_updated"],
        "filters": {"issue-related-events-section": "project = ALPHA"},
        "excludeBody": False,
        "secret": "s",
    }
    as_bob = {"auth": _server_auth(BOB)}

    assert server.post("/rest/webhooks/1.0/webhook", json=hook, **as_bob).status_code == 403
    assert server.get("/rest/webhooks/1.0/webhook", **as_bob).status_code == 403
    anonymous = httpx.get(server.base_url.join("/rest/webhooks/1.0/webhook"))
    assert anonymous.status_code == 401

    created = server.post("/rest/webhooks/1.0/webhook", json=hook)
    assert created.status_code == 201
    shown = created.json()
    assert shown["self"].endswith(f"/rest/webhooks/1.0/webhook/{shown['self'].rsplit('/', 1)[1]}")
    assert shown["filters"] == {"issue-related-events-section": "project = ALPHA"}
    assert "secret" not in shown  # never echoed back
    assert server.get(shown["self"], **as_bob).status_code == 403
    assert server.delete(shown["self"], **as_bob).status_code == 403

    updated = server.put(shown["self"], json={**hook, "name": "renamed"})
    assert updated.json()["name"] == "renamed"
    assert [h["name"] for h in server.get("/rest/webhooks/1.0/webhook").json()] == ["renamed"]
    assert server.delete(shown["self"]).status_code == 204
    assert server.get(shown["self"]).status_code == 404


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"url": "not-a-url"}, "url"),
        ({"events": ["jira:nonsense"]}, "events"),
        ({"filters": {"issue-related-events-section": "project = "}}, "filters"),
        ({"name": ""}, "name"),
        ({"excludeBody": "yes"}, "excludeBody"),
    ],
)
def test_admin_webhook_validation(
    server: httpx.Client, patch: dict[str, object], field: str
) -> None:
    hook = {"name": "x", "url": "http://127.0.0.1:9/h", "events": ["jira:issue_updated"]}

    answer = server.post("/rest/webhooks/1.0/webhook", json={**hook, **patch})

    assert answer.status_code == 400
    assert field in answer.json()["errors"]


def test_cloud_dynamic_webhooks_register_list_refresh_delete(cloud: httpx.Client) -> None:
    answer = cloud.post(
        "/rest/api/3/webhook",
        json={
            "url": "http://127.0.0.1:9/hook",
            "webhooks": [
                {
                    "events": ["jira:issue_created", "jira:issue_updated"],
                    "jqlFilter": "project = ALPHA",
                    "fieldIdsFilter": ["summary"],
                },
                {"events": ["jira:issue_updated"], "jqlFilter": "project = NOPE"},
                {"events": ["jira:bogus"], "jqlFilter": "project = ALPHA"},
            ],
        },
    )

    assert answer.status_code == 200
    created, bad_jql, bad_event = answer.json()["webhookRegistrationResult"]
    hook_id = created["createdWebhookId"]
    assert isinstance(hook_id, int)
    assert bad_jql["errors"]
    assert "NOPE" in bad_jql["errors"][0]
    assert bad_event["errors"]

    page = cloud.get("/rest/api/3/webhook").json()
    assert page["isLast"] is True
    [listed] = page["values"]
    assert listed["id"] == hook_id
    assert listed["jqlFilter"] == "project = ALPHA"
    assert listed["fieldIdsFilter"] == ["summary"]
    days = (listed["expirationDate"] / 1000 - time.time()) / 86400
    assert 29.9 < days <= 30.0
    # another user (another "app") does not see it
    assert cloud.get("/rest/api/3/webhook", auth=BOB).json()["values"] == []

    refreshed = cloud.put("/rest/api/3/webhook/refresh", json={"webhookIds": [hook_id]})
    assert refreshed.status_code == 200
    assert refreshed.json()["expirationDate"] >= listed["expirationDate"]
    bad = cloud.put("/rest/api/3/webhook/refresh", json={"webhookIds": "all"})
    assert bad.status_code == 400

    deleted = cloud.request("DELETE", "/rest/api/3/webhook", json={"webhookIds": [hook_id]})
    assert deleted.status_code == 202
    assert cloud.get("/rest/api/3/webhook").json()["values"] == []


def test_cloud_update_delivers_a_signed_jira_webhook(
    cloud: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    rec, hook_server = receiver
    hook_id = _register_dynamic(
        cloud, f"{hook_server.base_url}/hook", "project = ALPHA", ["jira:issue_updated"]
    )

    edit = cloud.put("/rest/api/3/issue/ALPHA-2", json={"fields": {"summary": "Signed summary"}})
    assert edit.status_code == 204
    other = cloud.put("/rest/api/3/issue/GAMMA-2", json={"fields": {"summary": "Not for us"}})
    assert other.status_code == 204

    [got] = _wait_for(rec, 1)
    time.sleep(0.3)  # the GAMMA edit, filtered out by the JQL, must not arrive late either
    assert len(rec.received) == 1
    assert _valid("dyn-secret", got)
    body = json.loads(got.body)
    assert body["webhookEvent"] == "jira:issue_updated"
    assert body["issue_event_type_name"] == "issue_updated"
    assert isinstance(body["timestamp"], int)
    assert body["user"]["accountId"]
    assert body["user"]["displayName"] == "Alice Anderson"
    assert body["issue"]["key"] == "ALPHA-2"
    assert body["issue"]["fields"]["summary"] == "Signed summary"
    assert isinstance(body["issue"]["fields"]["description"], str | None)  # wiki, not ADF
    [item] = body["changelog"]["items"]
    assert item["field"] == "summary"
    assert item["fieldId"] == "summary"
    assert item["toString"] == "Signed summary"
    history = cloud.get("/rest/api/3/issue/ALPHA-2/changelog").json()["values"]
    assert body["changelog"]["id"] in {h["id"] for h in history}

    log = cloud.get("/_sandbox/webhooks/deliveries").json()["deliveries"]
    mine = [d for d in log if d["webhookId"] == hook_id]
    assert mine[-1]["id"] == got.headers["x-atlassian-webhook-identifier"]
    assert mine[-1]["state"] == "delivered"


def test_cloud_comment_events_have_no_user_and_a_minimal_issue(
    cloud: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    rec, hook_server = receiver
    _register_dynamic(cloud, f"{hook_server.base_url}/hook", "project = ALPHA", ["comment_created"])

    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hello webhook"}]}],
    }
    added = cloud.post("/rest/api/3/issue/ALPHA-3/comment", json={"body": adf})
    assert added.status_code == 201

    [got] = _wait_for(rec, 1)
    body = json.loads(got.body)
    assert body["webhookEvent"] == "comment_created"
    assert "user" not in body
    assert body["comment"]["id"] == added.json()["id"]
    assert body["comment"]["body"] == "Hello webhook"  # wiki markup even on Cloud
    assert set(body["issue"]["fields"]) == {
        "summary",
        "issuetype",
        "project",
        "assignee",
        "priority",
        "status",
    }


def test_server_comment_fires_comment_created_and_issue_commented(
    server: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    rec, hook_server = receiver
    created = server.post(
        "/rest/webhooks/1.0/webhook",
        json={
            "name": "gw",
            "url": f"{hook_server.base_url}/hook",
            "events": ["comment_created", "jira:issue_updated"],
            "filters": {"issue-related-events-section": "project = BETA"},
            "secret": "srv-secret",
        },
    )
    assert created.status_code == 201

    added = server.post("/rest/api/2/issue/BETA-2/comment", json={"body": "*bold* words"})
    assert added.status_code == 201

    received = _wait_for(rec, 2)
    bodies = {json.loads(r.body)["webhookEvent"]: json.loads(r.body) for r in received}
    assert all(_valid("srv-secret", r) for r in received)
    assert set(bodies) == {"comment_created", "jira:issue_updated"}
    assert set(bodies["comment_created"]) == {"timestamp", "webhookEvent", "comment"}
    commented = bodies["jira:issue_updated"]
    assert commented["issue_event_type_name"] == "issue_commented"
    assert commented["user"]["name"] == "alice"
    assert commented["comment"]["body"] == "*bold* words"
    assert "changelog" not in commented
    assert len({r.headers["x-atlassian-webhook-identifier"] for r in received}) == 2


def test_webhooks_respect_the_owners_permissions(
    cloud: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    rec, hook_server = receiver
    url = f"{hook_server.base_url}/hook"
    hidden = cloud.post(
        "/rest/api/3/webhook",
        auth=BOB,
        json={
            "url": url,
            "webhooks": [{"events": ["jira:issue_updated"], "jqlFilter": "project = GAMMA"}],
        },
    )
    assert hidden.json()["webhookRegistrationResult"][0]["errors"]
    answer = cloud.post(
        "/rest/api/3/webhook",
        auth=BOB,
        json={
            "url": url,
            "webhooks": [
                {
                    "events": ["jira:issue_updated"],
                    "jqlFilter": "priority is not EMPTY OR priority is EMPTY",
                }
            ],
        },
    )
    hook_id = answer.json()["webhookRegistrationResult"][0]["createdWebhookId"]
    try:
        cloud.put("/rest/api/3/issue/GAMMA-3", json={"fields": {"summary": "bob cannot see"}})
        cloud.put("/rest/api/3/issue/ALPHA-4", json={"fields": {"summary": "bob can see"}})

        received = _wait_for(rec, 1)
        time.sleep(0.3)
        assert [json.loads(r.body)["issue"]["key"] for r in rec.received] == ["ALPHA-4"]
        assert "x-hub-signature" not in received[0].headers  # registered without a secret
    finally:
        cloud.request("DELETE", "/rest/api/3/webhook", auth=BOB, json={"webhookIds": [hook_id]})


def test_a_failing_receiver_gets_retries_with_the_same_identifier(
    cloud: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    rec, hook_server = receiver
    rec.statuses = [503, 200]
    hook_id = _register_dynamic(
        cloud, f"{hook_server.base_url}/hook", "project = ALPHA", ["jira:issue_updated"]
    )

    cloud.put("/rest/api/3/issue/ALPHA-5", json={"fields": {"summary": "retry me"}})

    first, second = _wait_for(rec, 2)
    assert first.body == second.body
    assert (
        first.headers["x-atlassian-webhook-identifier"]
        == (second.headers["x-atlassian-webhook-identifier"])
    )
    assert second.headers["x-atlassian-webhook-retry"] == "1"
    assert _valid("dyn-secret", second)
    log = cloud.get("/_sandbox/webhooks/deliveries").json()["deliveries"]
    [mine] = [d for d in log if d["webhookId"] == hook_id]
    assert (mine["attempts"], mine["status"], mine["state"]) == (2, 200, "delivered")


def test_a_deleted_comment_is_carried_whole(
    cloud: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    rec, hook_server = receiver
    _register_dynamic(cloud, f"{hook_server.base_url}/hook", "project = ALPHA", ["comment_deleted"])
    added = cloud.post("/rest/api/2/issue/ALPHA-6/comment", json={"body": "short-lived"})
    shown = cloud.get(f"/rest/api/2/issue/ALPHA-6/comment/{added.json()['id']}").json()

    assert cloud.delete(f"/rest/api/3/issue/ALPHA-6/comment/{shown['id']}").status_code == 204

    [got] = _wait_for(rec, 1)
    body = json.loads(got.body)
    assert body["webhookEvent"] == "comment_deleted"
    assert body["comment"] == shown  # as REST v2 showed it before the deletion
    assert body["issue"]["key"] == "ALPHA-6"


def test_a_seeded_comment_deleted_before_any_event_is_carried_whole(
    cloud: httpx.Client, receiver: tuple[Receiver, RunningServer]
) -> None:
    rec, hook_server = receiver
    for n in range(7, 60):  # a seeded comment no earlier event has touched
        page = cloud.get(f"/rest/api/2/issue/ALPHA-{n}/comment").json()
        if page.get("comments"):
            key, shown = f"ALPHA-{n}", page["comments"][0]
            break
    else:
        pytest.fail("no seeded comment in ALPHA-7..59")
    _register_dynamic(cloud, f"{hook_server.base_url}/hook", "project = ALPHA", ["comment_deleted"])

    assert cloud.delete(f"/rest/api/2/issue/{key}/comment/{shown['id']}").status_code == 204

    [got] = _wait_for(rec, 1)
    body = json.loads(got.body)
    assert body["webhookEvent"] == "comment_deleted"
    assert body["comment"] == shown
    assert body["comment"]["body"]  # the text, not only the id
