"""The webhook endpoint over real HTTP (embedded mode: SQLite, in-process broker and jobs).

Signed deliveries come from the sandbox JIRA itself (a real issue edit) and from the tests
(edge cases: bad signatures, replays, size limits, malformed JSON, unknown sites, JWT).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from webhooks_support import Harness, intake_app, new_harness, sign

from gateway.db.migrate import upgrade
from tests.support import RunningServer, SandboxFactory, serve_in_thread

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
UPDATED = CONTRACT / "webhooks/mattermost-plugin-jira/webhook-issue-updated-labels.json"
ALICE = ("alice@example.com", "alice-token")
SEED = 113  # this module edits issues: its own sandbox


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, RunningServer]]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('intake') / 'gateway.sqlite3'}"
    upgrade(url)
    harness = new_harness()
    server = serve_in_thread(intake_app(url, harness))
    harness.base_url = server.base_url
    yield harness, server
    server.stop()


@pytest.fixture
def harness(served: tuple[Harness, RunningServer]) -> Harness:
    return served[0]


def post(
    harness: Harness, body: bytes, *, identifier: str | None = None, **headers: str
) -> httpx.Response:
    sent = {"content-type": "application/json", **headers}
    if identifier is not None:
        sent["x-atlassian-webhook-identifier"] = identifier
    return httpx.post(harness.url, content=body, headers=sent, timeout=10)


def signed_post(harness: Harness, body: bytes, identifier: str | None = None) -> httpx.Response:
    return post(
        harness, body, identifier=identifier, **{"x-hub-signature": sign(harness.secret, body)}
    )


def body_for(key: str) -> bytes:
    data = json.loads(UPDATED.read_text(encoding="utf-8"))
    data["issue"]["key"] = key
    return json.dumps(data).encode()


def rows_for(harness: Harness, identifier: str) -> list[dict[str, object]]:
    return [d for d in harness.deliveries() if d["identifier"] == identifier]


def test_sandbox_edit_reaches_a_subscriber_with_the_changed_fields(
    harness: Harness, sandbox_factory: SandboxFactory
) -> None:
    sandbox = sandbox_factory(flavor="cloud", seed=SEED)
    with httpx.Client(base_url=sandbox.base_url, auth=ALICE, timeout=10) as jira:
        registered = jira.post(
            "/rest/api/3/webhook",
            json={
                "url": harness.url,
                "secret": harness.secret,
                "webhooks": [{"events": ["jira:issue_updated"], "jqlFilter": "project = ALPHA"}],
            },
        )
        assert registered.status_code == 200, registered.text
        [result] = registered.json()["webhookRegistrationResult"]
        try:
            edit = jira.put(
                "/rest/api/3/issue/ALPHA-5", json={"fields": {"summary": "Edited live"}}
            )
            assert edit.status_code == 204, edit.text
            events = harness.recorder.wait_for(
                lambda evs: any(e.issue_key == "ALPHA-5" for e in evs)
            )
        finally:
            jira.request(
                "DELETE", "/rest/api/3/webhook", json={"webhookIds": [result["createdWebhookId"]]}
            )
        delivered = jira.get("/_sandbox/webhooks/deliveries").json()["deliveries"]
    [event] = [e for e in events if e.issue_key == "ALPHA-5"]
    assert event.type.value == "updated"
    assert event.site_id == harness.site_id
    assert event.project_key == "ALPHA"
    [summary] = [c for c in event.changes if c.field == "summary"]
    assert summary.to_string == "Edited live"
    assert event.actor is not None
    assert event.actor.display_name
    ours = [d for d in delivered if d["url"] == harness.url]
    assert [(d["state"], d["status"]) for d in ours] == [("delivered", 202)]
    [row] = rows_for(harness, ours[0]["id"])
    assert row["status"] == "processed"
    assert row["event_id"] == event.id
    assert (harness.site_id, "ALPHA-5") in harness.recorder.invalidated


def test_bad_or_missing_signature_is_401_and_nothing_is_stored(harness: Harness) -> None:
    body = body_for("BAD-1")
    wrong = sign("not-the-secret", body)
    tampered_sig = sign(harness.secret, body + b" ")

    answers = [
        post(harness, body, identifier="bad-1", **{"x-hub-signature": wrong}),
        post(harness, body, identifier="bad-2", **{"x-hub-signature": tampered_sig}),
        post(harness, body, identifier="bad-3"),
        post(harness, body, identifier="bad-4", **{"x-hub-signature": "sha1=abc"}),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    time.sleep(0.3)
    assert not [d for d in harness.deliveries() if str(d["identifier"]).startswith("bad-")]
    assert not [e for e in harness.recorder.events if e.issue_key == "BAD-1"]


def test_replayed_delivery_is_202_and_yields_one_event(harness: Harness) -> None:
    body = body_for("REPLAY-1")

    first = signed_post(harness, body, identifier="replay-1")
    again = signed_post(harness, body, identifier="replay-1")

    assert (first.status_code, again.status_code) == (202, 202)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    harness.recorder.wait_for(lambda evs: any(e.issue_key == "REPLAY-1" for e in evs))
    time.sleep(0.3)  # room for a second (wrong) event to arrive
    assert len([e for e in harness.recorder.events if e.issue_key == "REPLAY-1"]) == 1
    assert [r["status"] for r in rows_for(harness, "replay-1")] == ["processed"]


def test_without_identifier_the_body_hash_dedupes(harness: Harness) -> None:
    body = body_for("NOID-1")

    answers = [signed_post(harness, body), signed_post(harness, body)]

    assert [a.json()["duplicate"] for a in answers] == [False, True]
    harness.recorder.wait_for(lambda evs: any(e.issue_key == "NOID-1" for e in evs))
    rows = [d for d in harness.deliveries() if str(d["identifier"]).startswith("sha256:")]
    assert len([r for r in rows if r["identifier"] == "sha256:" + _sha256(body)]) == 1


def _sha256(body: bytes) -> str:
    import hashlib

    return hashlib.sha256(body).hexdigest()


def test_body_limit_is_one_mebibyte(harness: Harness) -> None:
    skeleton = b'{"webhookEvent":"jira:issue_updated","pad":"'
    at_limit = skeleton + b"x" * (1024 * 1024 - len(skeleton) - 2) + b'"}'
    assert len(at_limit) == 1024 * 1024
    over = at_limit[:-2] + b'x"}'

    accepted = signed_post(harness, at_limit, identifier="size-ok")
    refused = signed_post(harness, over, identifier="size-over")
    # Chunked, without Content-Length: the counter still stops it.
    chunked = httpx.post(
        harness.url,
        content=iter([over[:600_000], over[600_000:]]),
        headers={"x-hub-signature": sign(harness.secret, over)},
        timeout=10,
    )

    assert accepted.status_code == 202
    assert (refused.status_code, chunked.status_code) == (413, 413)
    assert rows_for(harness, "size-over") == []
    # A body about no issue is stored and then ignored, not published.
    deadline = time.monotonic() + 5
    while rows_for(harness, "size-ok")[0]["status"] == "received" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows_for(harness, "size-ok")[0]["status"] == "ignored"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"no": "webhookEvent"}', b""])
def test_malformed_json_is_400(harness: Harness, body: bytes) -> None:
    answer = signed_post(harness, body, identifier="malformed")

    assert answer.status_code == 400
    assert rows_for(harness, "malformed") == []


def test_unknown_site_is_404(harness: Harness) -> None:
    body = body_for("ALPHA-1")
    answer = httpx.post(
        f"{harness.base_url}/webhooks/jira/no-such-site",
        content=body,
        headers={"x-hub-signature": sign(harness.secret, body)},
        timeout=10,
    )
    assert answer.status_code == 404


def test_cloud_jwt_instead_of_a_signature(harness: Harness) -> None:
    body = body_for("JWT-1")
    now = int(time.time())
    good = jwt.encode({"iss": "app", "iat": now, "exp": now + 180}, harness.secret, "HS256")
    expired = jwt.encode({"iss": "app", "iat": now - 600, "exp": now - 300}, harness.secret)
    no_exp = jwt.encode({"iss": "app", "iat": now}, harness.secret, "HS256")
    forged = jwt.encode({"iss": "app", "exp": now + 180}, "another-secret-of-32-bytes-or-more!")

    statuses = [
        post(harness, body, identifier=f"jwt-{n}", authorization=f"JWT {token}").status_code
        for n, token in enumerate([expired, no_exp, forged, good])
    ]

    assert statuses == [401, 401, 401, 202]
    harness.recorder.wait_for(lambda evs: any(e.issue_key == "JWT-1" for e in evs))
