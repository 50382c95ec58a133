"""Users in every identity form, and webhook bodies of every event and JIRA version."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.jira.errors import JiraMalformedResponse
from gateway.jira.parse_base import parse_user
from gateway.jira.parse_webhook import parse_webhook

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
MM = "webhooks/mattermost-plugin-jira/"


def load(rel: str) -> Any:
    return json.loads((CONTRACT / rel).read_text(encoding="utf-8"))


def user(rel: str) -> Any:
    return parse_user(load(rel), endpoint="/rest/api/2/user")


def test_hidden_and_masked_emails_become_none() -> None:
    assert user("rest/server-jrjc/user/valid-with-hidden-email.json").email is None
    masked = load("rest/server-jrjc/user/valid-with-masked-email.json")
    assert "@" not in masked["emailAddress"]
    assert parse_user(masked, endpoint="u").email is None
    assert user("rest/server-jrjc/user/valid.json").email == "user@atlassian.com"


def test_deleted_and_anonymous_users() -> None:
    deleted = user("rest/server-jrjc/user/valid-basic-deleted-JRA-30263.json")
    assert (deleted.id, deleted.deleted, deleted.active) == ("mark", True, False)
    assert deleted.display_name == "mark"
    anonymous = user("rest/server-jrjc/user/valid-basic-anonymous.json")
    assert (anonymous.id, anonymous.deleted, anonymous.active) == ("Anonymous", False, True)
    # An inactive Cloud user with a display name is inactive, not deleted.
    inactive = parse_user(
        {"accountId": "abc", "displayName": "Mia", "active": False, "self": "x"}, endpoint="u"
    )
    assert (inactive.active, inactive.deleted) == (False, False)


def test_account_id_wins_and_transitional_payloads_keep_both() -> None:
    both = user("rest/server-jrjc/user/valid-with-accountId.json")
    assert (both.id, both.account_id, both.name) == (
        "uuid-accountId-admin",
        "uuid-accountId-admin",
        "admin",
    )
    only_account = user("rest/server-jrjc/user/valid-with-accountId-without-name.json")
    assert (only_account.id, only_account.name) == ("uuid-accountId-admin", None)
    server = user("rest/server-jrjc/user/valid-5.0.json")
    assert (server.id, server.account_id, server.time_zone) == ("wseliga", None, "Europe/Warsaw")
    author = parse_user(
        load("webhooks/zulip/attachment_created.json")["attachment"]["author"], endpoint="w"
    )
    assert author.account_id == "5c76b994e1bcdf6294d0eb0f"
    assert (author.name, author.key, author.id) == ("admin", "admin", author.account_id)
    assert author.avatar_url is not None
    assert author.avatar_url.endswith("size=48")


def test_user_identified_only_by_self_url() -> None:
    body = load("webhooks/jira-to-matrix/issue/created.json")
    assert not {"name", "key", "accountId"} & set(body["user"])
    assert parse_webhook(body).actor is not None
    assert parse_user(body["user"], endpoint="w").id == "jira_test"


def test_cloud_comment_event_has_no_user_and_a_minimal_issue() -> None:
    body = load(MM + "webhook-cloud-comment-created.json")
    assert "user" not in body
    event = parse_webhook(body)
    assert (event.webhook_event, event.event_type) == ("comment_created", "comment_created")
    assert event.timestamp == datetime(2019, 2, 16, 3, 11, 18, 321000, tzinfo=UTC)
    assert event.comment is not None
    assert event.comment.body.wiki == "Added a comment"
    # The comment's author stands in for the missing top-level user.
    assert event.actor == event.comment.update_author
    assert event.issue is not None
    assert event.issue.key == "TES-41"
    assert event.issue.status is not None
    assert event.issue.comments is None


@pytest.mark.parametrize(
    ("name", "event_type"),
    [
        ("webhook-server-issue-updated-commented-1.json", "issue_commented"),
        ("webhook-server-issue-updated-comment-edited.json", "issue_comment_edited"),
        ("webhook-server-issue-updated-resolved.json", "issue_resolved"),
        # Older Server sends no issue_event_type_name: derived from the body.
        ("webhook-server-old-issue-updated-no-event-type-commented.json", "issue_commented"),
        (
            "webhook-server-old-issue-updated-no-event-type-comment-edited.json",
            "issue_comment_edited",
        ),
        ("webhook-server-old-issue-updated-no-event-type-assigned.json", "issue_assigned"),
        ("webhook-server-old-issue-updated-no-event-type-edited.json", "issue_updated"),
        ("webhook-issue-deleted.json", "issue_deleted"),
    ],
)
def test_event_type_explicit_or_derived(name: str, event_type: str) -> None:
    body = load(MM + name)
    event = parse_webhook(body)
    assert event.event_type == event_type
    assert event.actor is not None
    assert event.issue is not None
    if "no-event-type" in name:
        assert "issue_event_type_name" not in body


def test_server_comment_activity_arrives_as_issue_updated_with_comment() -> None:
    body = load(MM + "webhook-server-issue-updated-commented-1.json")
    event = parse_webhook(body)
    assert event.webhook_event == "jira:issue_updated"
    assert event.comment is not None
    assert event.comment.id == body["comment"]["id"]
    assert event.comment.body.wiki == body["comment"]["body"]
    assert event.actor is not None
    assert event.actor.name == body["user"]["name"]


def test_changelog_items_and_empty_changelog() -> None:
    assigned = parse_webhook(load(MM + "webhook-issue-updated-assigned.json"))
    assert [c.field for c in assigned.changes] == ["assignee"]
    assert assigned.changelog_id is not None
    empty = parse_webhook(load(MM + "webhook-issue-assigned-empty-changelog.json"))
    assert empty.changes == ()
    assert empty.event_type == "issue_assigned"


def test_issuelink_attachment_and_project_events() -> None:
    link = parse_webhook(load("webhooks/jira-to-matrix/issuelink/created.json"))
    assert link.issue_link is not None
    assert (link.issue_link.id, link.issue_link.source_issue_id) == ("10656", "11442")
    assert (link.issue_link.type_name, link.issue_link.outward) == ("Blocks", "blocks")
    # This fixture was logged by its bot: "timestamp" is logger text, not epoch ms.
    assert link.timestamp is None
    attachment = parse_webhook(load("webhooks/zulip/attachment_created.json"))
    assert attachment.attachment is not None
    assert (attachment.attachment.filename, attachment.attachment.size) == ("screenshot.png", 12345)
    assert attachment.issue is not None
    assert attachment.issue.key == "BUG-15"
    assert attachment.actor is None
    project = parse_webhook(load("webhooks/jira-to-matrix/project/created.json"))
    assert project.project is not None
    assert project.event_type == "project_created"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([], "$"),
        ({"timestamp": 1}, "$.webhookEvent"),
        ({"webhookEvent": "jira:issue_updated", "issue": "TES-41"}, "$.issue"),
        (
            {"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1", "fields": {}}},
            "$.issue.id",
        ),
        (
            {"webhookEvent": "jira:issue_updated", "changelog": {"items": {"field": "x"}}},
            "$.changelog.items",
        ),
        (
            {"webhookEvent": "comment_created", "comment": {"id": "1", "author": "bob"}},
            "$.comment.author",
        ),
    ],
)
def test_malformed_webhooks_name_the_path(body: object, where: str) -> None:
    with pytest.raises(JiraMalformedResponse) as info:
        parse_webhook(body, endpoint="/webhooks/jira/{site}")
    assert info.value.endpoint == "/webhooks/jira/{site}"
    assert info.value.detail.startswith(where)
