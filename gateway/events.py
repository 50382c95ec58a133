"""Normalized live issue changes: ``IssueEvent`` and ``normalize(WebhookEvent) -> IssueEvent``.

One ``IssueEvent`` shape for every JIRA flavor and webhook version; the broker carries it as
JSON and subscriptions filter it. Mapping from JIRA's webhooks:

- ``jira:issue_created`` / ``jira:issue_deleted`` -> ``created`` / ``deleted``;
- ``comment_*`` and Server's ``jira:issue_updated`` with ``issue_commented`` /
  ``issue_comment_edited`` / ``issue_comment_deleted`` -> ``comment_added/updated/deleted``;
- ``issuelink_*`` and ``attachment_*`` events, and an ``issue_updated`` whose changelog only
  touches ``Link`` or ``Attachment`` -> ``link_*`` / ``attachment_*``;
- any other ``jira:issue_updated`` -> ``updated``; ``worklog_*`` -> ``other``;
- events about no issue at all (``project_created``, ``user_*``, ``sprint_*``...) -> ``None``.

JIRA sends one change several times (Cloud: ``comment_created`` AND ``jira:issue_updated``
with ``issue_commented``); each delivery is its own event here. Some bodies name the issue by id
only (Server ``comment_*`` without ``issue``, ``issuelink_*``, ``worklog_*``): ``issue_key`` is
None then, and ``issue_id`` comes from the body (``comment.self`` / ``worklog.self`` URLs).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gateway.jira.dto import ChangeItem, User, WebhookEvent


class EventType(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    COMMENT_ADDED = "comment_added"
    COMMENT_UPDATED = "comment_updated"
    COMMENT_DELETED = "comment_deleted"
    LINK_ADDED = "link_added"
    LINK_REMOVED = "link_removed"
    ATTACHMENT_ADDED = "attachment_added"
    ATTACHMENT_REMOVED = "attachment_removed"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changelog item: ids (``from``/``to``) and display text (``fromString``/``toString``)."""

    field: str
    field_id: str | None
    from_: str | None
    to: str | None
    from_string: str | None
    to_string: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "fieldId": self.field_id,
            "from": self.from_,
            "to": self.to,
            "fromString": self.from_string,
            "toString": self.to_string,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldChange:
        return cls(
            field=data["field"],
            field_id=data.get("fieldId"),
            from_=data.get("from"),
            to=data.get("to"),
            from_string=data.get("fromString"),
            to_string=data.get("toString"),
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: Cloud ``accountId`` (else Server user key/name) and the display name."""

    account_id: str
    display_name: str | None


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """A change of one issue on one site, as published by the ``Broker``.

    ``id`` is the broker's cursor (a Redis stream id ``<ms>-<seq>``; ``""`` before publication);
    resume a subscription with it. At least one of ``issue_key`` / ``issue_id`` is set.
    ``subject_id`` names the comment, link or attachment the event is about, when there is one.
    """

    id: str
    site_id: str
    type: EventType
    issue_key: str | None
    issue_id: str | None
    project_key: str | None
    changes: tuple[FieldChange, ...]
    actor: Actor | None
    timestamp: datetime
    webhook_event: str = ""
    subject_id: str | None = None

    def with_id(self, event_id: str) -> IssueEvent:
        return replace(self, id=event_id)

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (orjson/json); ``from_json`` reverses it exactly."""
        return {
            "id": self.id,
            "siteId": self.site_id,
            "type": self.type.value,
            "issueKey": self.issue_key,
            "issueId": self.issue_id,
            "projectKey": self.project_key,
            "changes": [c.to_json() for c in self.changes],
            "actor": (
                None
                if self.actor is None
                else {"accountId": self.actor.account_id, "displayName": self.actor.display_name}
            ),
            "timestamp": self.timestamp.isoformat(),
            "webhookEvent": self.webhook_event,
            "subjectId": self.subject_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IssueEvent:
        actor = data.get("actor")
        return cls(
            id=data.get("id") or "",
            site_id=data["siteId"],
            type=EventType(data["type"]),
            issue_key=data.get("issueKey"),
            issue_id=data.get("issueId"),
            project_key=data.get("projectKey"),
            changes=tuple(FieldChange.from_json(c) for c in data.get("changes") or ()),
            actor=None if actor is None else Actor(actor["accountId"], actor.get("displayName")),
            timestamp=datetime.fromisoformat(data["timestamp"]),
            webhook_event=data.get("webhookEvent") or "",
            subject_id=data.get("subjectId"),
        )


_OWN_TYPES: Mapping[str, EventType] = {
    "jira:issue_created": EventType.CREATED,
    "jira:issue_deleted": EventType.DELETED,
    "comment_created": EventType.COMMENT_ADDED,
    "comment_updated": EventType.COMMENT_UPDATED,
    "comment_deleted": EventType.COMMENT_DELETED,
    "issuelink_created": EventType.LINK_ADDED,
    "issuelink_deleted": EventType.LINK_REMOVED,
    "attachment_created": EventType.ATTACHMENT_ADDED,
    "attachment_deleted": EventType.ATTACHMENT_REMOVED,
}
# Server reports comment activity as jira:issue_updated with one of these type names.
_COMMENT_TYPES: Mapping[str, EventType] = {
    "issue_commented": EventType.COMMENT_ADDED,
    "issue_comment_edited": EventType.COMMENT_UPDATED,
    "issue_comment_deleted": EventType.COMMENT_DELETED,
}
_ISSUE_ID_IN_URL = re.compile(r"/issue/(\d+)/(?:comment|worklog)/")


def _type_of(event: WebhookEvent) -> EventType:
    own = _OWN_TYPES.get(event.webhook_event)
    if own is not None:
        return own
    if event.webhook_event != "jira:issue_updated":
        return EventType.OTHER
    comment_type = _COMMENT_TYPES.get(event.event_type)
    if comment_type is not None:
        return comment_type
    fields = {c.field.lower() for c in event.changes}
    if fields == {"attachment"}:
        added = any(c.to_id or c.to_string for c in event.changes)
        return EventType.ATTACHMENT_ADDED if added else EventType.ATTACHMENT_REMOVED
    if fields == {"link"}:
        added = any(c.to_id or c.to_string for c in event.changes)
        return EventType.LINK_ADDED if added else EventType.LINK_REMOVED
    return EventType.UPDATED


def _actor(user: User | None) -> Actor | None:
    return None if user is None else Actor(user.id, user.display_name)


def _change(item: ChangeItem) -> FieldChange:
    return FieldChange(
        field=item.field,
        field_id=item.field_id,
        from_=item.from_id,
        to=item.to_id,
        from_string=item.from_string,
        to_string=item.to_string,
    )


def _issue_id_from_body(body: Mapping[str, object] | None) -> str | None:
    if body is None:
        return None
    for key in ("comment", "worklog"):
        part = body.get(key)
        if isinstance(part, Mapping):
            match = _ISSUE_ID_IN_URL.search(str(part.get("self") or ""))
            if match:
                return match.group(1)
    return None


def normalize(
    event: WebhookEvent,
    site_id: str,
    *,
    body: Mapping[str, object] | None = None,
    now: datetime | None = None,
) -> IssueEvent | None:
    """``event`` (from ``parse_webhook``) as an unpublished ``IssueEvent``, or None.

    None means the delivery is about no issue (project, user, sprint... events). ``body`` is the
    decoded webhook body: it lets events that carry only an issue's URL (Server ``comment_*``,
    ``worklog_*``) still name the issue by id. Without a JIRA timestamp, ``now`` (default: the
    current time) stands in.
    """
    issue = event.issue
    link = event.issue_link
    changes = tuple(_change(c) for c in event.changes)
    subject_id: str | None = None
    if event.comment is not None:
        subject_id = event.comment.id
    elif event.attachment is not None:
        subject_id = event.attachment.id
    if issue is not None:
        key: str | None = issue.key
        issue_id: str | None = issue.id
        project_key = issue.project.key if issue.project else issue.key.rsplit("-", 1)[0]
    elif link is not None:
        key, issue_id, project_key = None, link.source_issue_id, None
        subject_id = link.id
        # JIRA's own changelog convention for links: the other issue's id as from/to.
        removed = event.webhook_event == "issuelink_deleted"
        changes = (
            FieldChange(
                field="Link",
                field_id="issuelinks",
                from_=link.destination_issue_id if removed else None,
                to=None if removed else link.destination_issue_id,
                from_string=link.outward if removed else None,
                to_string=None if removed else link.outward,
            ),
        )
    else:
        key, issue_id, project_key = None, _issue_id_from_body(body), None
        if issue_id is None:
            return None
    return IssueEvent(
        id="",
        site_id=site_id,
        type=_type_of(event),
        issue_key=key,
        issue_id=issue_id,
        project_key=project_key,
        changes=changes,
        actor=_actor(event.actor),
        timestamp=event.timestamp or now or datetime.now(UTC),
        webhook_event=event.webhook_event,
        subject_id=subject_id,
    )


__all__ = ["Actor", "EventType", "FieldChange", "IssueEvent", "normalize"]
