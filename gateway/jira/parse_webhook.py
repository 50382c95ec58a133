"""Webhook bodies (Cloud and Server, any version) -> ``WebhookEvent``.

Shapes differ by event and by JIRA version (SOURCES.md quirk 7): ``comment_*`` events carry
no top-level ``user`` and only a minimal issue; Server reports comment activity as
``jira:issue_updated`` with a top-level ``comment``; older Server omits
``issue_event_type_name``, so we derive it; rich text is wiki markup even on Cloud.
Call this only after the HMAC of the raw body was verified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.jira.dto import ChangeItem, Comment, User, WebhookEvent, WebhookIssueLink
from gateway.jira.parse_activity import parse_attachment, parse_change_items, parse_comment
from gateway.jira.parse_base import (
    fail,
    obj,
    opt_id,
    opt_obj,
    opt_str,
    opt_user,
    req_id,
    req_str,
)
from gateway.jira.parse_issue import parse_issue
from gateway.jira.parse_meta import parse_project
from gateway.jira.timefmt import parse_datetime

_OWN_NAME_PREFIXES = ("comment_", "issuelink_", "attachment_", "worklog_", "project_")


def _timestamp(value: object) -> datetime | None:
    # Epoch milliseconds in real deliveries; some recorded fixtures wrap the body in a log
    # record whose "timestamp" is the logger's local text ("2018-12-20 15:45:59,695").
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and not value.isdigit():
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _derive_event_type(
    webhook_event: str, explicit: object, comment: Comment | None, changes: tuple[ChangeItem, ...]
) -> str:
    if isinstance(explicit, str) and explicit:
        return explicit
    if webhook_event.startswith(_OWN_NAME_PREFIXES):
        return webhook_event
    if webhook_event.startswith("jira:"):
        base = webhook_event[len("jira:") :]
        if base != "issue_updated":
            return base
    if comment is not None:
        # Old Server cannot tell us; an edited comment has updated != created.
        edited = comment.updated is not None and comment.updated != comment.created
        return "issue_comment_edited" if edited else "issue_commented"
    fields = {c.field.lower() for c in changes}
    if fields == {"assignee"}:
        return "issue_assigned"
    return "issue_updated"


def _issue_link(value: object, endpoint: str) -> WebhookIssueLink | None:
    data = opt_obj(value, endpoint, "$.issueLink")
    if data is None:
        return None
    link_type = opt_obj(data.get("issueLinkType"), endpoint, "$.issueLink.issueLinkType") or {}
    p = "$.issueLink"
    return WebhookIssueLink(
        id=req_id(data.get("id"), endpoint, f"{p}.id"),
        source_issue_id=req_id(data.get("sourceIssueId"), endpoint, f"{p}.sourceIssueId"),
        destination_issue_id=req_id(
            data.get("destinationIssueId"), endpoint, f"{p}.destinationIssueId"
        ),
        type_name=opt_str(link_type.get("name"), endpoint, f"{p}.issueLinkType.name"),
        inward=opt_str(link_type.get("inwardName"), endpoint, f"{p}.issueLinkType.inwardName"),
        outward=opt_str(link_type.get("outwardName"), endpoint, f"{p}.issueLinkType.outwardName"),
    )


def parse_webhook(body: object, *, endpoint: str = "webhook") -> WebhookEvent:
    """A decoded webhook body -> ``WebhookEvent``; a wrong shape raises JiraMalformedResponse.

    ``actor`` is the top-level ``user``; ``comment_*`` events have none, so the comment's
    (update) author stands in, which is who acted.
    """
    data: dict[str, Any] = obj(body, endpoint, "$")
    webhook_event = req_str(data.get("webhookEvent"), endpoint, "$.webhookEvent")
    comment_raw = data.get("comment")
    comment = (
        parse_comment(comment_raw, endpoint=endpoint, path="$.comment")
        if comment_raw is not None
        else None
    )
    changelog = opt_obj(data.get("changelog"), endpoint, "$.changelog")
    changes: tuple[ChangeItem, ...] = ()
    changelog_id = None
    if changelog is not None:
        changes = parse_change_items(changelog.get("items"), endpoint, "$.changelog.items")
        changelog_id = opt_id(changelog.get("id"), endpoint, "$.changelog.id")
    actor: User | None = opt_user(data.get("user"), endpoint, "$.user")
    if actor is None and comment is not None and webhook_event.startswith("comment_"):
        actor = comment.update_author or comment.author
    issue_raw = data.get("issue")
    attachment_raw = opt_obj(data.get("attachment"), endpoint, "$.attachment")
    project_raw = opt_obj(data.get("project"), endpoint, "$.project")
    if issue_raw is not None and not isinstance(issue_raw, dict):
        fail(endpoint, "$.issue", f"expected object, got {type(issue_raw).__name__}")
    return WebhookEvent(
        webhook_event=webhook_event,
        event_type=_derive_event_type(
            webhook_event, data.get("issue_event_type_name"), comment, changes
        ),
        timestamp=_timestamp(data.get("timestamp")),
        actor=actor,
        issue=parse_issue(issue_raw, endpoint=endpoint, path="$.issue") if issue_raw else None,
        changelog_id=changelog_id,
        changes=changes,
        comment=comment,
        issue_link=_issue_link(data.get("issueLink"), endpoint),
        attachment=(
            parse_attachment(attachment_raw, endpoint=endpoint, path="$.attachment")
            if attachment_raw is not None
            else None
        ),
        project=(
            parse_project(project_raw, endpoint=endpoint, path="$.project")
            if project_raw is not None
            else None
        ),
    )
