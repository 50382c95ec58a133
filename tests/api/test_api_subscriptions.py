"""``issueChanged`` end to end: sandbox REST edit -> signed webhook -> gateway -> WebSocket.

The admin registers the gateway's webhook with ``registerWebhooks`` (the sandbox stores our
secret and signs its deliveries with it); users subscribe over ``graphql-transport-ws`` with a
real ``websockets`` client.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.app import create_app
from gateway.db.migrate import upgrade
from tests.api.subscriptions_support import (
    REGISTER,
    SANDBOX,
    SignedIn,
    admin_token,
    collect,
    edit_summary,
    gateway_settings,
    gql,
    issue_in,
    login,
    next_message,
    subscribe,
    webhook_secret,
    ws_session,
)
from tests.support import RunningServer, SandboxFactory, serve_in_thread

pytestmark = pytest.mark.timeout(120)


@dataclass
class World:
    gateway: RunningServer
    sandbox_url: str
    database_url: str
    alice: SignedIn
    bob: SignedIn


@pytest.fixture(scope="module")
def world(
    sandbox_factory: SandboxFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("subscriptions")
    database_url = f"sqlite+aiosqlite:///{tmp / 'gw.sqlite3'}"
    upgrade(database_url)
    sandbox = sandbox_factory(**SANDBOX)
    gateway = serve_in_thread(create_app(gateway_settings(database_url, tmp)))
    try:
        alice = login(gateway.base_url, sandbox.base_url, "alice")
        bob = login(gateway.base_url, sandbox.base_url, "bob")
        admin = admin_token(database_url, alice.principal_id)
        body = gql(gateway.base_url, REGISTER, admin, base=gateway.base_url)
        assert "errors" not in body, body
        source = body["data"]["registerWebhooks"]
        assert source["kind"] == "DYNAMIC_WEBHOOK"
        assert source["callbackUrl"].endswith(f"/webhooks/jira/{alice.site_id}")
        yield World(gateway, sandbox.base_url, database_url, alice, bob)
    finally:
        gateway.stop()


def test_register_needs_the_admin_scope(world: World) -> None:
    body = gql(world.gateway.base_url, REGISTER, world.alice.token, base=world.gateway.base_url)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_edit_reaches_subscriber_with_changed_fields(world: World) -> None:
    key = issue_in(world.sandbox_url, "ALPHA")
    summary = f"Live edit {uuid.uuid4().hex[:8]}"

    async def run() -> dict[str, object]:
        async with ws_session(world.gateway.base_url, world.alice.token) as ws:
            await subscribe(ws, "1", f'(issueKeys: ["{key}"])')
            await asyncio.sleep(0.3)  # the subscription is registered with the broker
            await asyncio.to_thread(edit_summary, world.sandbox_url, key, summary)
            return await next_message(ws, 15)

    message = asyncio.run(run())
    assert message["type"] == "next", message
    event = message["payload"]["data"]["issueChanged"]  # type: ignore[index]
    assert event["type"] == "UPDATED"
    assert event["issueKey"] == key
    assert event["projectKey"] == "ALPHA"
    assert event["site"] == world.alice.site_id
    summary_change = [c for c in event["changes"] if c["field"] == "summary"]
    assert summary_change
    assert summary_change[0]["toString"] == summary
    assert event["actor"]["displayName"] == "Alice Anderson"
    assert event["cursor"]


def test_bob_receives_nothing_from_projects_hidden_from_him(world: World) -> None:
    hidden = issue_in(world.sandbox_url, "GAMMA")  # bob sees ALPHA and BETA only
    visible = issue_in(world.sandbox_url, "BETA")

    async def run() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        async with (
            ws_session(world.gateway.base_url, world.bob.token) as bob_ws,
            ws_session(world.gateway.base_url, world.alice.token) as alice_ws,
        ):
            await subscribe(bob_ws, "b")
            await subscribe(alice_ws, "a", '(projectKeys: ["GAMMA", "BETA"])')
            await asyncio.sleep(0.3)
            await asyncio.to_thread(edit_summary, world.sandbox_url, hidden, "hidden change")
            await asyncio.to_thread(edit_summary, world.sandbox_url, visible, "visible change")
            return await collect(bob_ws, 4), await collect(alice_ws, 1)

    bob_seen, alice_seen = asyncio.run(run())
    bob_keys = [m["payload"]["data"]["issueChanged"]["issueKey"] for m in bob_seen]  # type: ignore[index]
    alice_keys = [m["payload"]["data"]["issueChanged"]["issueKey"] for m in alice_seen]  # type: ignore[index]
    assert bob_keys == [visible]
    assert alice_keys == [hidden, visible]


def _sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _post_webhook(world: World, body: dict[str, object], identifier: str) -> int:
    raw = json.dumps(body).encode()
    secret = webhook_secret(world.database_url, world.alice.site_id)
    assert secret is not None
    answer = httpx.post(
        f"{world.gateway.base_url}/webhooks/jira/{world.alice.site_id}",
        content=raw,
        headers={
            "content-type": "application/json",
            "x-hub-signature": _sign(secret, raw),
            "x-atlassian-webhook-identifier": identifier,
        },
        timeout=10,
    )
    return answer.status_code


def _comment_bodies(key: str, comment_id: str) -> list[dict[str, object]]:
    issue = {"id": "1", "key": key, "fields": {"project": {"id": "1", "key": key.split("-")[0]}}}
    comment = {"id": comment_id, "body": "hello", "created": "2025-01-01T00:00:00.000+0000"}
    return [
        {
            "webhookEvent": "comment_created",
            "timestamp": 1735689600000,
            "issue": issue,
            "comment": comment,
        },
        {
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_commented",
            "timestamp": 1735689600000,
            "issue": issue,
            "comment": comment,
        },
    ]


def test_duplicate_delivery_and_cloud_comment_pair_give_one_event_each(world: World) -> None:
    key = issue_in(world.sandbox_url, "ALPHA")
    edit = {
        "webhookEvent": "jira:issue_updated",
        "timestamp": 1735689600000,
        "issue": {"id": "1", "key": key, "fields": {"project": {"id": "1", "key": "ALPHA"}}},
        "changelog": {
            "id": "9",
            "items": [
                {"field": "priority", "fieldtype": "jira", "fromString": "Low", "toString": "High"}
            ],
        },
    }
    identifier = str(uuid.uuid4())
    comment_pair = _comment_bodies(key, f"99{uuid.uuid4().int % 10**6}")

    async def run() -> list[dict[str, object]]:
        async with ws_session(world.gateway.base_url, world.alice.token) as ws:
            await subscribe(ws, "1", f'(issueKeys: ["{key}"])')
            await asyncio.sleep(0.3)
            statuses = [
                await asyncio.to_thread(_post_webhook, world, edit, identifier),
                await asyncio.to_thread(_post_webhook, world, edit, identifier),  # JIRA retry
            ]
            for body in comment_pair:  # two deliveries, two identifiers, one comment
                statuses.append(
                    await asyncio.to_thread(_post_webhook, world, body, str(uuid.uuid4()))
                )
            assert statuses == [202, 202, 202, 202]
            return await collect(ws, 3)

    events = [m["payload"]["data"]["issueChanged"] for m in asyncio.run(run())]  # type: ignore[index]
    assert [e["type"] for e in events] == ["UPDATED", "COMMENT_ADDED"]
    assert events[0]["changes"][0]["toString"] == "High"


def test_since_resumes_missed_events(world: World) -> None:
    key = issue_in(world.sandbox_url, "BETA")

    async def run() -> list[dict[str, object]]:
        async with ws_session(world.gateway.base_url, world.alice.token) as ws:
            await subscribe(ws, "1", f'(issueKeys: ["{key}"])')
            await asyncio.sleep(0.3)
            await asyncio.to_thread(edit_summary, world.sandbox_url, key, "first")
            first = (await next_message(ws, 15))["payload"]["data"]["issueChanged"]  # type: ignore[index]
        # offline: a change happens, then the client comes back with the last cursor
        await asyncio.to_thread(edit_summary, world.sandbox_url, key, "while away")
        await asyncio.sleep(1.5)
        async with ws_session(world.gateway.base_url, world.alice.token) as ws:
            await subscribe(ws, "2", f'(issueKeys: ["{key}"], since: "{first["cursor"]}")')
            return await collect(ws, 2)

    resumed = asyncio.run(run())
    changes = [m["payload"]["data"]["issueChanged"]["changes"] for m in resumed]  # type: ignore[index]
    assert [c[0]["toString"] for c in changes] == ["while away"]


def test_invalid_jql_fails_only_that_subscription(world: World) -> None:
    key = issue_in(world.sandbox_url, "ALPHA")

    async def run() -> tuple[dict[str, object], dict[str, object]]:
        async with ws_session(world.gateway.base_url, world.alice.token) as ws:
            await subscribe(ws, "bad", '(jql: "project = = ALPHA")')
            await subscribe(ws, "good", f'(jql: "project = ALPHA AND key = {key}")')
            failure = await next_message(ws, 10)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(edit_summary, world.sandbox_url, key, "jql matched")
            while (message := await next_message(ws, 15))["id"] == "bad":
                assert message["type"] == "complete"  # the failed one ends, nothing else
            return failure, message

    failure, delivered = asyncio.run(run())
    assert failure["id"] == "bad"
    payload = failure["payload"]
    errors = payload if isinstance(payload, list) else payload["errors"]  # type: ignore[index]
    assert errors[0]["extensions"]["code"] == "BAD_JQL"
    assert delivered["id"] == "good"
    assert delivered["payload"]["data"]["issueChanged"]["issueKey"] == key  # type: ignore[index]


def test_subscriptions_need_a_token(world: World) -> None:
    async def run() -> dict[str, object]:
        async with ws_session(world.gateway.base_url, world.bob.token) as ws:
            await subscribe(ws, "1", '(site: "not-a-site-of-bob")')
            return await next_message(ws, 10)

    message = asyncio.run(run())
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload["errors"]  # type: ignore[index]
    assert errors[0]["extensions"]["code"] == "SITE_NOT_CONNECTED"


def test_sandbox_deliveries_were_accepted_by_the_gateway(world: World) -> None:
    deliveries = httpx.get(f"{world.sandbox_url}/_sandbox/webhooks/deliveries", timeout=10).json()
    ours = [d for d in deliveries["deliveries"] if world.alice.site_id in d["url"]]
    assert ours
    assert {d["status"] for d in ours if d["state"] != "pending"} == {202}
