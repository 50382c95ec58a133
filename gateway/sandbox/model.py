"""Records of the sandbox JIRA: users, projects, issues, comments, histories and change events.

These are plain dataclasses shared by the store, the serializers, the JQL module and the webhook
dispatcher. Ids are ints internally and strings on the wire, as JIRA does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

ChangeKind = Literal[
    "issue_created",
    "issue_updated",
    "issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
]


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """One changed field, as in a changelog history item (`from`/`fromString`/`to`/`toString`)."""

    field: str
    fieldtype: str
    field_id: str | None
    from_id: str | None
    from_string: str | None
    to_id: str | None
    to_string: str | None


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """Emitted synchronously by the store after every write (see `Store.subscribe`)."""

    kind: ChangeKind
    issue_key: str
    actor_id: str
    timestamp: datetime
    items: tuple[ChangeItem, ...] = ()
    comment_id: str | None = None
    event_type_name: str | None = None  # issue_event_type_name: issue_generic, issue_assigned, ...
    # comment_deleted only: the removed comment, so webhooks can carry all of it as JIRA's do
    deleted_comment: SandboxComment | None = field(default=None, compare=False)


@dataclass(slots=True)
class SandboxUser:
    """A user. `id` is the stable internal id and doubles as the Cloud accountId."""

    id: str
    name: str  # Server username ("alice")
    key: str  # Server user key ("JIRAUSER10100")
    display_name: str
    email: str
    active: bool = True
    email_hidden: bool = False  # Cloud privacy setting: no emailAddress on the wire
    admin: bool = False
    can_edit: bool = True  # False: browse-only (writes answer 403)
    projects: frozenset[str] = frozenset()  # project keys this user may browse
    timezone: str = "Europe/Berlin"
    locale: str = "en_US"


@dataclass(slots=True)
class SandboxVersion:
    id: int
    name: str
    released: bool
    release_date: date | None
    archived: bool = False


@dataclass(slots=True)
class SandboxComponent:
    id: int
    name: str
    description: str


@dataclass(slots=True)
class SandboxProject:
    id: int
    key: str
    name: str
    lead: str  # user id
    description: str
    components: list[SandboxComponent] = field(default_factory=list)
    versions: list[SandboxVersion] = field(default_factory=list)
    category: str = "Engineering"


@dataclass(slots=True)
class SandboxIssue:
    """The searchable core of an issue (contract shared with the JQL module, see SANDBOX.md)."""

    id: int
    key: str
    project_key: str
    issuetype: str
    summary: str
    status: str
    status_category: str
    priority: str | None
    assignee: str | None
    reporter: str | None
    labels: list[str]
    components: list[str]
    fix_versions: list[str]
    created: datetime
    updated: datetime
    duedate: date | None
    resolution: str | None
    resolutiondate: datetime | None
    parent_key: str | None
    custom: dict[str, Any]


@dataclass(slots=True)
class SandboxComment:
    id: int
    issue_id: int
    author: str  # user id
    body: Any  # a rich.Doc
    created: datetime
    updated: datetime
    update_author: str


@dataclass(slots=True)
class SandboxHistory:
    id: int
    author: str
    created: datetime
    items: list[ChangeItem]


@dataclass(slots=True)
class SandboxAttachment:
    id: int
    issue_id: int
    filename: str
    mime_type: str
    content: bytes
    author: str
    created: datetime


@dataclass(slots=True)
class SandboxLink:
    id: int
    type_name: str  # "Blocks", "Relates", "Duplicate"
    inward_key: str  # the issue on the inward side ("is blocked by" reads from it)
    outward_key: str


@dataclass(slots=True)
class IssueDetails:
    """Lazily generated, per-issue heavy parts (deterministic from seed + issue id)."""

    description: Any  # rich.Doc | None
    comments: list[SandboxComment]
    histories: list[SandboxHistory]
    attachments: list[SandboxAttachment]
    environment: str | None = None
