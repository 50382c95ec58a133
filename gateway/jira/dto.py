"""Normalized JIRA data: one shape for Cloud and Server/Data Center, every quirk absorbed.

Built only by the ``gateway.jira.parse_*`` normalizers; everything above ``gateway/jira``
consumes these and never sees a raw payload. Conventions:

- ids are ``str`` (JIRA mixes ``"10305"`` and ``10305``);
- timestamps are timezone-aware ``datetime``; plain dates are ``date``;
- "absent" and "present but null" both become ``None`` (``Issue.fields_present`` tells them
  apart when it matters: a field that was not requested is not in it);
- collections are tuples, so DTOs are immutable and safe to share through caches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, Literal, TypeAlias, TypeVar

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class User:
    """A JIRA user. ``id`` is the Cloud ``accountId``, else the Server ``key``, else ``name``."""

    id: str
    account_id: str | None
    name: str | None
    key: str | None
    display_name: str
    email: str | None  # None when hidden by privacy settings or masked ("joedotdoeatexample")
    active: bool
    avatar_url: str | None
    time_zone: str | None
    account_type: str | None
    deleted: bool  # the shrunken {"name": ..., "active": false} form of a deleted user


@dataclass(frozen=True, slots=True)
class StatusCategory:
    id: str
    key: str  # new | indeterminate | done | undefined
    name: str
    color: str | None


# JIRA's own category for statuses that have none (statusCategory id 1).
UNDEFINED_CATEGORY = StatusCategory(
    id="1", key="undefined", name="No Category", color="medium-gray"
)


@dataclass(frozen=True, slots=True)
class Status:
    id: str
    name: str
    category: StatusCategory  # UNDEFINED_CATEGORY when JIRA (pre-6.1 Server) sends none
    description: str | None = None
    icon_url: str | None = None


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    name: str
    icon_url: str | None = None
    color: str | None = None


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    subtask: bool
    hierarchy_level: int | None = None
    icon_url: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    key: str
    name: str
    project_type: str | None = None
    avatar_url: str | None = None


@dataclass(frozen=True, slots=True)
class Component:
    id: str
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Version:
    id: str
    name: str
    released: bool | None = None
    archived: bool | None = None
    release_date: date | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    id: str
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class RichText:
    """Raw rich text: ADF (REST v3) or wiki markup (v2, agile, every webhook), plus JIRA's HTML.

    ``gateway.markup`` turns this into sanitized HTML and plain text; nothing here renders.
    """

    adf: dict[str, JsonValue] | None = None
    wiki: str | None = None
    rendered_html: str | None = None  # from expand=renderedFields: unsanitized upstream HTML


@dataclass(frozen=True, slots=True)
class Visibility:
    type: str  # "role" | "group"
    value: str


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    author: User | None  # None for anonymous comments whose author vanished
    update_author: User | None
    body: RichText
    created: datetime | None
    updated: datetime | None
    visibility: Visibility | None = None


@dataclass(frozen=True, slots=True)
class ChangeItem:
    field: str
    field_id: str | None  # Cloud only
    field_type: str | None  # "jira" | "custom"
    from_id: str | None
    from_string: str | None  # raw text: a description change holds wiki markup even on Cloud
    to_id: str | None
    to_string: str | None


@dataclass(frozen=True, slots=True)
class ChangelogEntry:
    id: str | None  # a few recorded histories have none; never invent one
    author: User | None
    created: datetime | None
    items: tuple[ChangeItem, ...]


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    filename: str
    size: int | None
    mime_type: str | None
    author: User | None
    created: datetime | None
    content_url: str | None
    thumbnail_url: str | None


@dataclass(frozen=True, slots=True)
class IssueRef:
    """The small issue JIRA embeds in links, subtasks and ``parent``."""

    id: str
    key: str
    summary: str | None = None
    status: Status | None = None
    issuetype: IssueType | None = None
    priority: Priority | None = None


@dataclass(frozen=True, slots=True)
class IssueLink:
    id: str
    type_name: str
    inward: str | None  # "is blocked by"
    outward: str | None  # "blocks"
    direction: Literal["inward", "outward"]  # which side `other` is on
    other: IssueRef


@dataclass(frozen=True, slots=True)
class CustomField:
    """A field definition from ``/field`` or from ``expand=names,schema``."""

    id: str
    name: str
    custom: bool
    type: str | None = None  # schema.type: string, number, array, option, user, any, ...
    custom_type: str | None = None  # schema.custom: com.atlassian.jira.plugin.system...:select
    items: str | None = None  # schema.items for arrays
    clause_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomFieldValue:
    """One custom field of one issue, normalized.

    ``value`` is JSON-compatible: options become their value (cascading: ``[parent, child]``),
    users ``{"id", "displayName"}``, legacy Sprint strings parsed dicts, LexoRank stays a string,
    the empty dev-summary ``"{}"`` becomes None. ``text`` is what a person would read.
    """

    id: str
    name: str
    type: str | None
    custom_type: str | None
    text: str | None
    value: JsonValue
    unavailable_reason: str | None = None  # nonEditableReason.message (e.g. Premium-only field)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of a paginated list, in any of JIRA's three styles.

    ``total`` is None when unknown (``/search/jql``), ``next_page_token`` only for token style.
    """

    items: tuple[T, ...]
    start_at: int
    max_results: int | None
    total: int | None
    is_last: bool
    next_page_token: str | None = None

    @property
    def truncated(self) -> bool:
        """True when JIRA holds more than this page (embedded pages: fetch the remainder)."""
        return not self.is_last


@dataclass(frozen=True, slots=True)
class TimeTracking:
    original_estimate_seconds: int | None
    remaining_estimate_seconds: int | None
    time_spent_seconds: int | None


@dataclass(frozen=True, slots=True)
class Issue:
    id: str
    key: str
    self_url: str | None
    browse_url: str | None
    summary: str | None
    description: RichText | None
    environment: RichText | None
    status: Status | None
    priority: Priority | None
    issuetype: IssueType | None
    project: Project | None
    assignee: User | None
    reporter: User | None
    creator: User | None
    labels: tuple[str, ...]
    components: tuple[Component, ...]
    fix_versions: tuple[Version, ...]
    versions: tuple[Version, ...]
    created: datetime | None
    updated: datetime | None
    duedate: date | None
    resolution: Resolution | None
    resolutiondate: datetime | None
    parent: IssueRef | None
    subtasks: tuple[IssueRef, ...]
    links: tuple[IssueLink, ...]
    attachments: tuple[Attachment, ...]
    comments: Page[Comment] | None  # None when the comment field was not requested
    changelog: Page[ChangelogEntry] | None  # None unless expand=changelog
    worklog_total: int | None
    time_tracking: TimeTracking | None  # None for JIRA's "{}" (time tracking off)
    work_ratio: int | None  # JIRA's -1 ("no estimate") becomes None
    custom_fields: Mapping[str, CustomFieldValue]
    fields_present: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class WebhookIssueLink:
    """The ``issueLink`` of ``issuelink_created/deleted`` webhooks (numeric ids, no keys)."""

    id: str
    source_issue_id: str
    destination_issue_id: str
    type_name: str | None
    inward: str | None
    outward: str | None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A JIRA webhook body, Cloud or Server, any version.

    ``event_type`` is ``issue_event_type_name`` when JIRA sent one, else derived (older Server
    omits it; ``comment_*`` events use their webhookEvent name).
    """

    webhook_event: str
    event_type: str
    timestamp: datetime | None
    actor: User | None  # None for comment_* events, which carry no top-level user
    issue: Issue | None  # minimal (summary, status, type...) for comment events
    changelog_id: str | None
    changes: tuple[ChangeItem, ...]
    comment: Comment | None
    issue_link: WebhookIssueLink | None
    attachment: Attachment | None
    project: Project | None
