"""Every real webhook body normalizes to an IssueEvent (or, about no issue, explicitly to None)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.events import EventType, IssueEvent, normalize
from gateway.jira.parse_webhook import parse_webhook

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
WEBHOOKS = CONTRACT / "webhooks"
MM = "mattermost-plugin-jira/"
# Bodies about no issue: nothing for an issue subscription to show.
NOT_ABOUT_AN_ISSUE = {"project_created"}


def load(rel: str) -> Any:
    return json.loads((WEBHOOKS / rel).read_text(encoding="utf-8"))


def event_of(rel: str) -> IssueEvent | None:
    body = load(rel)
    return normalize(parse_webhook(body), "site-1", body=body)


def test_every_recorded_webhook_normalizes() -> None:
    files = sorted(WEBHOOKS.rglob("*.json"))
    assert len(files) >= 80
    by_type: Counter[str] = Counter()
    without_issue: list[str] = []
    for path in files:
        body = json.loads(path.read_text(encoding="utf-8"))
        event = normalize(parse_webhook(body), "site-1", body=body)
        if event is None:
            assert body["webhookEvent"] in NOT_ABOUT_AN_ISSUE, path
            without_issue.append(path.name)
            continue
        assert event.issue_key or event.issue_id, path
        assert event.site_id == "site-1"
        if event.issue_key is not None:
            assert event.project_key == event.issue_key.rsplit("-", 1)[0], path
        assert event.timestamp.tzinfo is not None
        # The JSON form survives the broker's encoding unchanged.
        assert IssueEvent.from_json(orjson.loads(orjson.dumps(event.to_json()))) == event
        by_type[event.type.value] += 1
    print(  # the count issue 7 asks for
        f"\n{len(files)} webhook bodies: {sum(by_type.values())} IssueEvents "
        f"{dict(sorted(by_type.items()))}, {len(without_issue)} about no issue {without_issue}"
    )
    assert sum(by_type.values()) + len(without_issue) == len(files)
    assert len(without_issue) == 1
    expected_types = {t.value for t in EventType} - {"attachment_removed"}
    assert expected_types <= set(by_type)


@pytest.mark.parametrize(
    ("rel", "event_type", "key"),
    [
        (MM + "webhook-issue-created.json", EventType.CREATED, "TES-41"),
        (MM + "webhook-issue-deleted.json", EventType.DELETED, None),
        (MM + "webhook-cloud-comment-created.json", EventType.COMMENT_ADDED, "TES-41"),
        (MM + "webhook-cloud-comment-updated.json", EventType.COMMENT_UPDATED, None),
        (MM + "webhook-cloud-comment-deleted.json", EventType.COMMENT_DELETED, None),
        # Server: comment activity as jira:issue_updated, with and without the type name.
        (MM + "webhook-server-issue-updated-commented-1.json", EventType.COMMENT_ADDED, None),
        (
            MM + "webhook-server-old-issue-updated-no-event-type-comment-edited.json",
            EventType.COMMENT_UPDATED,
            None,
        ),
        (MM + "webhook-issue-updated-assigned.json", EventType.UPDATED, None),
        ("jira-to-matrix/issuelink/created.json", EventType.LINK_ADDED, None),
        ("jira-to-matrix/issuelink/deleted.json", EventType.LINK_REMOVED, None),
        ("zulip/attachment_created.json", EventType.ATTACHMENT_ADDED, None),
        ("zulip/worklog_created.json", EventType.OTHER, None),
    ],
)
def test_event_types(rel: str, event_type: EventType, key: str | None) -> None:
    event = event_of(rel)
    assert event is not None
    assert event.type is event_type
    if key is not None:
        assert event.issue_key == key


def test_changed_fields_keep_ids_and_display_text() -> None:
    body = load(MM + "webhook-issue-updated-raised-priority.json")
    event = event_of(MM + "webhook-issue-updated-raised-priority.json")
    assert event is not None
    items = body["changelog"]["items"]
    assert [c.field for c in event.changes] == [i["field"] for i in items]
    priority = next(c for c in event.changes if c.field == "priority")
    raw = next(i for i in items if i["field"] == "priority")
    assert (priority.from_, priority.to) == (raw["from"], raw["to"])
    assert (priority.from_string, priority.to_string) == (raw["fromString"], raw["toString"])
    assert event.actor is not None
    assert event.actor.display_name == body["user"]["displayName"]
    assert event.timestamp == datetime.fromtimestamp(body["timestamp"] / 1000, UTC)


def test_cloud_comment_event_without_user_names_the_comment_author() -> None:
    body = load(MM + "webhook-cloud-comment-created.json")
    event = event_of(MM + "webhook-cloud-comment-created.json")
    assert "user" not in body
    assert event is not None
    assert event.actor is not None
    assert event.actor.display_name == body["comment"]["updateAuthor"]["displayName"]
    assert event.subject_id == body["comment"]["id"]


def test_server_comment_event_without_issue_names_the_issue_by_id() -> None:
    body = load(MM + "webhook-server-comment-created.json")
    assert "issue" not in body
    event = event_of(MM + "webhook-server-comment-created.json")
    assert event is not None
    assert event.issue_key is None
    assert body["comment"]["self"].endswith(f"/issue/{event.issue_id}/comment/{event.subject_id}")


def test_link_event_carries_the_other_issue() -> None:
    body = load("jira-to-matrix/issuelink/created.json")
    event = event_of("jira-to-matrix/issuelink/created.json")
    assert event is not None
    assert event.issue_id == str(body["issueLink"]["sourceIssueId"])
    [change] = event.changes
    assert change.to == str(body["issueLink"]["destinationIssueId"])
    assert change.to_string == body["issueLink"]["issueLinkType"]["outwardName"]


def test_project_event_is_none() -> None:
    assert event_of("jira-to-matrix/project/created.json") is None
