"""Live issue changes as the ``issueChanged`` subscription delivers them."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gateway.events import IssueEvent as Event
from gateway.subscriptions import Resync, Seen
from gateway.webhook_registration import EventSourceView
from schema.activity import ChangeItem


@strawberry.enum(description="What happened to the issue.")
class IssueEventType(enum.Enum):
    CREATED = strawberry.enum_value("created", description="The issue was created.")
    UPDATED = strawberry.enum_value(
        "updated", description="Fields changed (see `changes`; empty when only polled)."
    )
    DELETED = strawberry.enum_value("deleted", description="The issue was deleted.")
    COMMENT_ADDED = strawberry.enum_value("comment_added", description="A comment was added.")
    COMMENT_UPDATED = strawberry.enum_value("comment_updated", description="A comment was edited.")
    COMMENT_DELETED = strawberry.enum_value("comment_deleted", description="A comment was deleted.")
    LINK_ADDED = strawberry.enum_value("link_added", description="An issue link was added.")
    LINK_REMOVED = strawberry.enum_value("link_removed", description="An issue link was removed.")
    ATTACHMENT_ADDED = strawberry.enum_value("attachment_added", description="A file was attached.")
    ATTACHMENT_REMOVED = strawberry.enum_value(
        "attachment_removed", description="An attachment was removed."
    )
    OTHER = strawberry.enum_value("other", description="Another change (e.g. a worklog).")
    RESYNC_REQUIRED = strawberry.enum_value(
        "resync_required",
        description="Not a change: events after `since` are gone; reload, then keep listening "
        "(see `resync`).",
    )


@strawberry.type(description="Who made a change.")
class EventActor:
    account_id: str = strawberry.field(
        description="Cloud accountId (Server/DC: the user key or name)."
    )
    display_name: str | None = strawberry.field(description="The person's display name.")


@strawberry.type(
    description="The gateway cannot replay every event since your cursor (it keeps a few "
    "minutes): reload the issues you show, then keep using this subscription (after a "
    "reconnect, resume from a later event's cursor or without `since`)."
)
class ResyncRequired:
    since: str = strawberry.field(description="The cursor you resumed from.")
    oldest_cursor: str | None = strawberry.field(
        description="The oldest event the gateway still holds (null when it holds none)."
    )


@strawberry.type(
    description="One change of one issue, delivered only when it matches your filter and you "
    "may see the issue. Keep `cursor`: pass it as `since` after a reconnect to miss nothing."
)
class IssueEvent:
    cursor: str = strawberry.field(
        description="Position of this event in the stream; resume after it with `since`."
    )
    type: IssueEventType = strawberry.field(description="What happened.")
    site: strawberry.ID = strawberry.field(description="The JIRA site's id.")
    issue_key: str | None = strawberry.field(
        description="The issue's key (null only for RESYNC_REQUIRED)."
    )
    issue_id: str | None = strawberry.field(description="JIRA's numeric issue id, when known.")
    project_key: str | None = strawberry.field(description="The issue's project key.")
    changes: list[ChangeItem] = strawberry.field(
        description="Changed fields with old and new values (empty when JIRA did not say)."
    )
    actor: EventActor | None = strawberry.field(description="Who made the change, when known.")
    time: datetime = strawberry.field(description="When JIRA says the change happened.")
    subject_id: str | None = strawberry.field(
        description="The comment, link or attachment id the event is about, if any."
    )
    resync: ResyncRequired | None = strawberry.field(
        description="Set only when `type` is RESYNC_REQUIRED."
    )


def issue_event(event: Event, seen: Seen) -> IssueEvent:
    """The GraphQL event; ``seen`` is JIRA's answer for this subscriber (key, project)."""
    actor = event.actor
    return IssueEvent(
        cursor=event.id,
        type=IssueEventType(event.type.value),
        site=strawberry.ID(event.site_id),
        issue_key=seen.key,
        issue_id=event.issue_id,
        project_key=seen.project_key,
        changes=[
            ChangeItem(
                field=c.field,
                field_id=c.field_id,
                from_=c.from_,
                from_string=c.from_string,
                to=c.to,
                to_string=c.to_string,
            )
            for c in event.changes
        ],
        actor=None
        if actor is None
        else EventActor(account_id=actor.account_id, display_name=actor.display_name),
        time=event.timestamp,
        subject_id=event.subject_id,
        resync=None,
    )


def resync_event(resync: Resync, site_id: str, now: datetime) -> IssueEvent:
    """The RESYNC_REQUIRED signal (its cursor: the oldest event still held, else ``since``)."""
    return IssueEvent(
        cursor=resync.oldest or resync.since,
        type=IssueEventType.RESYNC_REQUIRED,
        site=strawberry.ID(site_id),
        issue_key=None,
        issue_id=None,
        project_key=None,
        changes=[],
        actor=None,
        time=now,
        subject_id=None,
        resync=ResyncRequired(since=resync.since, oldest_cursor=resync.oldest),
    )


@strawberry.enum(description="How a site's issue changes reach the gateway.")
class EventSourceKind(enum.Enum):
    ADMIN_WEBHOOK = strawberry.enum_value("admin", description="A Server/DC admin webhook.")
    DYNAMIC_WEBHOOK = strawberry.enum_value(
        "dynamic", description="Cloud dynamic webhooks (refreshed before their 30-day expiry)."
    )
    POLLING = strawberry.enum_value(
        "polling", description="No webhook: the gateway searches for updated issues."
    )


@strawberry.type(description="How one JIRA site's changes reach live subscriptions.")
class EventSource:
    site: strawberry.ID = strawberry.field(description="The JIRA site's id.")
    kind: EventSourceKind = strawberry.field(description="Webhook or polling.")
    webhook_ids: list[int] = strawberry.field(description="JIRA's ids of our webhooks.")
    callback_url: str | None = strawberry.field(description="Where JIRA delivers them.")
    expires_at: datetime | None = strawberry.field(
        description="When Cloud drops the webhooks unless refreshed (the gateway refreshes)."
    )


def event_source(view: EventSourceView) -> EventSource:
    return EventSource(
        site=strawberry.ID(view.site_id),
        kind=EventSourceKind(view.kind),
        webhook_ids=list(view.webhook_ids),
        callback_url=view.callback_url,
        expires_at=view.expires_at,
    )


__all__ = [
    "EventActor",
    "EventSource",
    "EventSourceKind",
    "IssueEvent",
    "IssueEventType",
    "ResyncRequired",
    "event_source",
    "issue_event",
    "resync_event",
]
