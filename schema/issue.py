"""``Issue``: the heart of the API, and its connection and links.

An ``Issue`` wraps the JIRA DTO the loaders returned. Plain fields are copied once when the
object is built (cheap attribute reads while executing); fields that take arguments or may need
another JIRA call (comments, changelog, parent, subtasks, links) are resolvers that answer
synchronously when the data is already embedded, and return an awaitable only when a loader
must run, so a 50-issue page does not pay for 50 coroutines it does not need.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.context import Context
from gateway.errors import NotFound
from gateway.jira import dto
from loaders.activity import ChangelogLoader, CommentsLoader, PageRequest
from loaders.issues import IssueByKeyLoader, IssueRequest
from schema.activity import (
    Attachment,
    ChangelogConnection,
    CommentConnection,
    attachment_of,
    changelog_connection,
    comment_connection,
)
from schema.common import Node, PageInfo, check_first, decode_offset, encode_global_id
from schema.issue_parts import (
    Component,
    CustomFieldValue,
    IssueType,
    Priority,
    Project,
    Status,
    Version,
    component_of,
    custom_value_of,
    issue_type_of,
    priority_of,
    project_of,
    status_of,
    version_of,
)
from schema.lookahead import issue_plan, only_ref_fields
from schema.rich_text import RichText, rich_text_of
from schema.search import SearchMatch  # issue 6: IssueEdge.match
from schema.user import User, user_of

C = TypeVar("C")

DEFAULT_COMMENTS = 10
DEFAULT_CHANGELOG = 20


@strawberry.enum(description="Which side of a link the other issue is on.")
class LinkDirection(enum.Enum):
    INWARD = strawberry.enum_value("inward", description="The other issue points at this one.")
    OUTWARD = strawberry.enum_value("outward", description="This issue points at the other.")


@strawberry.type(description="A JIRA issue: a bug, story, task, sub-task or epic.")
class Issue(Node):
    raw: strawberry.Private[dto.Issue]
    site_id: strawberry.Private[str]
    key: str = strawberry.field(description="The issue key, e.g. `ALPHA-12`.")
    url: str | None = strawberry.field(description="Link to the issue on its JIRA site.")
    summary: str | None = strawberry.field(description="The one-line title.")
    description: RichText | None = strawberry.field(description="The description, if any.")
    status: Status | None = strawberry.field(description="Where the issue is in its workflow.")
    priority: Priority | None = strawberry.field(description="How urgent it is.")
    issue_type: IssueType | None = strawberry.field(description="Bug, Story, Task...")
    project: Project | None = strawberry.field(description="The project it belongs to.")
    assignee: User | None = strawberry.field(description="Who works on it; null if nobody.")
    reporter: User | None = strawberry.field(description="Who reported it.")
    labels: list[str] = strawberry.field(description="Its labels.")
    components: list[Component] = strawberry.field(description="Project components it is in.")
    fix_versions: list[Version] = strawberry.field(description="Versions that will fix it.")
    created: datetime | None = strawberry.field(description="When it was created.")
    updated: datetime | None = strawberry.field(description="When it last changed.")
    due_date: date | None = strawberry.field(description="When it is due, if set.")
    resolution_date: datetime | None = strawberry.field(
        description="When it was resolved; null while open."
    )

    @classmethod
    def of(cls, issue: dto.Issue, site_id: str) -> Issue:
        return cls(
            raw=issue,
            site_id=site_id,
            id=strawberry.ID(encode_global_id("Issue", site_id, issue.key)),
            key=issue.key,
            url=issue.browse_url,
            summary=issue.summary,
            description=rich_text_of(issue.description),
            status=status_of(issue.status),
            priority=priority_of(issue.priority),
            issue_type=issue_type_of(issue.issuetype),
            project=project_of(issue.project),
            assignee=user_of(issue.assignee),
            reporter=user_of(issue.reporter),
            labels=list(issue.labels),
            components=[component_of(c) for c in issue.components],
            fix_versions=[version_of(v) for v in issue.fix_versions],
            created=issue.created,
            updated=issue.updated,
            due_date=issue.duedate,
            resolution_date=issue.resolutiondate,
        )

    @strawberry.field(description="The parent issue (of a sub-task, or the epic), if any.")
    def parent(self, info: Info[Context, None]) -> Issue | None:
        ref = self.raw.parent
        return None if ref is None else resolve_ref(info, ref, self)  # type: ignore[return-value]

    @strawberry.field(description="Its sub-tasks.")
    def subtasks(self, info: Info[Context, None]) -> list[Issue]:
        return resolve_refs(info, self.raw.subtasks, self)  # type: ignore[return-value]

    @strawberry.field(description="Links to other issues (blocks, relates to, duplicates...).")
    def links(self) -> list[IssueLink]:
        return [IssueLink.of(link, self) for link in self.raw.links]

    @strawberry.field(description="Files attached to it.")
    def attachments(self) -> list[Attachment]:
        return [attachment_of(a, self.site_id) for a in self.raw.attachments]

    @strawberry.field(
        description='Custom field values. Pass `ids` (e.g. ["customfield_10016"]) to ask JIRA '
        "for just those; without it every custom field with a value is returned."
    )
    def custom_fields(
        self,
        ids: Annotated[
            list[str] | None, strawberry.argument(description="Custom field ids to return.")
        ] = None,
    ) -> list[CustomFieldValue]:
        values = self.raw.custom_fields
        chosen = [values[i] for i in ids if i in values] if ids else list(values.values())
        return [custom_value_of(v) for v in chosen if v.value is not None]

    @strawberry.field(
        graphql_type=CommentConnection,
        description="Its comments, oldest first. The first page usually comes with the issue "
        "itself (no extra JIRA call).",
    )
    def comments(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100.")
        ] = DEFAULT_COMMENTS,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Any:
        size = check_first(first, DEFAULT_COMMENTS)
        return self._activity(
            info, self.raw.comments, CommentsLoader, comment_connection, size, after
        )

    @strawberry.field(
        graphql_type=ChangelogConnection,
        description="Its history of field changes, oldest first.",
    )
    def changelog(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100.")
        ] = DEFAULT_CHANGELOG,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> Any:
        size = check_first(first, DEFAULT_CHANGELOG)
        return self._activity(
            info, self.raw.changelog, ChangelogLoader, changelog_connection, size, after
        )

    def _activity(
        self,
        info: Info[Context, None],
        embedded: dto.Page[Any] | None,
        loader: Callable[[Context], DataLoader[PageRequest, dto.Page[Any]]],
        connection: Callable[[Sequence[Any], int, bool, int | None], C],
        size: int,
        after: str | None,
    ) -> C | Awaitable[C]:
        """A page of comments or changelog: from what JIRA embedded in the issue when that
        holds the window (synchronously), else one loader call."""
        start = decode_offset(after) + 1
        window = _embedded_window(embedded, start, size)
        if window is not None:
            return connection(*window)
        request = PageRequest(self.site_id, self.key, start, size)

        async def load() -> C:
            page = await info.context.loader(loader).load(request)
            return connection(page.items, start, not page.is_last, page.total)

        return load()


def _embedded_window(
    page: dto.Page[Any] | None, start: int, size: int
) -> tuple[tuple[Any, ...], int, bool, int | None] | None:
    """``(items, start, has_next, total)`` when the embedded page holds the window, else None."""
    if page is None or page.start_at != 0:
        return None
    held = len(page.items)
    if start + size > held and not page.is_last:
        return None
    items = page.items[start : start + size]
    known = page.total if page.total is not None else (held if page.is_last else None)
    has_next = (start + len(items) < known) if known is not None else True
    return items, start, has_next, page.total


def _ref_issue(ref: dto.IssueRef, owner: Issue) -> Issue:
    base = (owner.url or "").rsplit("/browse/", 1)[0]
    url = f"{base}/browse/{ref.key}" if base else None
    partial = dto.Issue(
        id=ref.id, key=ref.key, self_url=None, browse_url=url,
        summary=ref.summary, description=None, environment=None, status=ref.status,
        priority=ref.priority, issuetype=ref.issuetype, project=None, assignee=None,
        reporter=None, creator=None, labels=(), components=(), fix_versions=(), versions=(),
        created=None, updated=None, duedate=None, resolution=None, resolutiondate=None,
        parent=None, subtasks=(), links=(), attachments=(), comments=None, changelog=None,
        worklog_total=None, time_tracking=None, work_ratio=None, custom_fields={},
    )  # fmt: skip
    return Issue.of(partial, owner.site_id)


def resolve_refs(
    info: Info[Context, None], refs: Sequence[dto.IssueRef], owner: Issue
) -> list[Issue] | Awaitable[list[Issue]]:
    """Embedded issue references as Issues: straight from the reference when the selection
    only needs what it carries, else one batched load of the full issues."""
    selections = info.selected_fields[0].selections
    if only_ref_fields(selections):
        return [_ref_issue(ref, owner) for ref in refs]
    fields, expand = issue_plan(selections)
    requests = [IssueRequest.of(owner.site_id, ref.key, fields, expand) for ref in refs]

    async def load() -> list[Issue]:
        found = await info.context.loader(IssueByKeyLoader).load_many(requests)
        return [Issue.of(issue, owner.site_id) for issue in found if issue is not None]

    return load()


def resolve_ref(
    info: Info[Context, None], ref: dto.IssueRef, owner: Issue
) -> Issue | Awaitable[Issue | None] | None:
    resolved = resolve_refs(info, [ref], owner)
    if isinstance(resolved, list):
        return resolved[0]

    async def first() -> Issue | None:
        issues = await resolved
        return issues[0] if issues else None

    return first()


@strawberry.type(description="A link from this issue to another one.")
class IssueLink:
    owner: strawberry.Private[Issue]
    link: strawberry.Private[dto.IssueLink]
    id: strawberry.ID = strawberry.field(description="JIRA's link id.")
    type: str = strawberry.field(description="The link type's name, e.g. 'Blocks'.")
    direction: LinkDirection = strawberry.field(description="Which side the other issue is on.")
    relation: str | None = strawberry.field(
        description="How this issue relates to the other, e.g. 'blocks' or 'is blocked by'."
    )

    @classmethod
    def of(cls, link: dto.IssueLink, owner: Issue) -> IssueLink:
        outward = link.direction == "outward"
        return cls(
            owner=owner,
            link=link,
            id=strawberry.ID(link.id),
            type=link.type_name,
            direction=LinkDirection.OUTWARD if outward else LinkDirection.INWARD,
            relation=link.outward if outward else link.inward,
        )

    @strawberry.field(description="The other issue.")
    def issue(self, info: Info[Context, None]) -> Issue:
        return resolve_ref(info, self.link.other, self.owner)  # type: ignore[return-value]


@strawberry.type(description="An issue and its cursor.")
class IssueEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this issue.")
    node: Issue = strawberry.field(description="The issue.")
    # --- issue 6 (searchIssues): per-result rank and snippets --------------------------------
    match: SearchMatch | None = strawberry.field(
        default=None,
        description="Why it matched, with highlighted snippets (searchIssues only; else null).",
    )


@strawberry.type(description="A page of issues.")
class IssueConnection:
    edges: list[IssueEdge] = strawberry.field(description="Issues with their cursors.")
    nodes: list[Issue] = strawberry.field(description="The issues of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more issues follow.")
    total_count: int | None = strawberry.field(
        description="How many issues match in all: known on Server/DC; null on Cloud, whose "
        "search does not tell it."
    )


def require_issue(issue: dto.Issue | None, key: str) -> dto.Issue:
    if issue is None:
        raise NotFound(f"Issue {key} does not exist or you do not have permission to see it.")
    return issue
