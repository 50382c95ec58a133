"""Types of saved selections, saved filters and search history (issue 6)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.context import Context
from gateway.errors import GatewayError
from gateway.history import HistoryEntry
from gateway.jql_builder import build_jql
from gateway.saved_filters import FilterInfo
from gateway.selections import SelectionInfo, SelectionService
from loaders.issues import IssueByKeyLoader, IssueRequest
from schema.common import PageInfo, check_first, decode_offset, encode_offset
from schema.filters import IssueFilterValue, QuickFilter, to_spec
from schema.issue import Issue, IssueConnection, IssueEdge
from schema.issue_parts import StatusCategory
from schema.lookahead import connection_nodes, issue_plan

DEFAULT_ISSUES = 50


@strawberry.type(description="A named set of issue keys you keep (up to 10,000 keys).")
class Selection:
    viewer_id: strawberry.Private[str]
    id: strawberry.ID = strawberry.field(description="The selection's id.")
    site_id: strawberry.ID = strawberry.field(description="The JIRA site its keys belong to.")
    name: str = strawberry.field(description="Its name (at most 200 characters).")
    shared: bool = strawberry.field(description="True when every user of the site may read it.")
    size: int = strawberry.field(description="How many keys it holds.")
    mine: bool = strawberry.field(description="True when you own it (only owners change it).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, info: SelectionInfo, principal_id: str) -> Selection:
        return cls(
            viewer_id=principal_id,
            id=strawberry.ID(info.id),
            site_id=strawberry.ID(info.site_id),
            name=info.name,
            shared=info.shared,
            size=info.size,
            mine=info.principal_id == principal_id,
            created_at=info.created_at,
            updated_at=info.updated_at,
        )

    @strawberry.field(
        description="Its issues in the order they were added, pages of 1..100 (`first`, default "
        "50). Issues deleted in JIRA or hidden from you are left out of a page (its cursors "
        "stay stable); `totalCount` counts the keys."
    )
    async def issues(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100.")
        ] = DEFAULT_ISSUES,
        after: Annotated[
            str | None, strawberry.argument(description="`pageInfo.endCursor` of the last page.")
        ] = None,
    ) -> IssueConnection:
        size = check_first(first, DEFAULT_ISSUES)
        start = decode_offset(after) + 1
        page = await SelectionService(info.context.state.sessionmaker).keys(
            self.viewer_id, str(self.id), offset=start, limit=size
        )
        fields, expand = issue_plan(connection_nodes(info.selected_fields[0].selections))
        site_id = str(self.site_id)
        requests = [IssueRequest.of(site_id, key, fields, expand) for key in page.keys]
        found = await info.context.loader(IssueByKeyLoader).load_many(requests)
        edges = [
            IssueEdge(cursor=encode_offset(start + n), node=Issue.of(issue, site_id))
            for n, issue in enumerate(found)
            if issue is not None
        ]
        last = start + len(page.keys) - 1
        return IssueConnection(
            edges=edges,
            nodes=[edge.node for edge in edges],
            page_info=PageInfo(
                has_next_page=last + 1 < page.total,
                end_cursor=encode_offset(last) if page.keys else None,
            ),
            total_count=page.total,
        )


@strawberry.type(description="What toggleAllInSelection did.")
class ToggleResult:
    selection: Selection = strawberry.field(description="The selection after the change.")
    added: bool = strawberry.field(
        description="True: the issues were added (not all were in); false: all were removed."
    )
    matched: int = strawberry.field(description="How many issues the filter or JQL matched.")


@strawberry.type(description="A filter saved by name: a structured filter and/or JQL.")
class SavedFilter:
    id: strawberry.ID = strawberry.field(description="The saved filter's id.")
    name: str = strawberry.field(description="Its name.")
    filter: JSON | None = strawberry.field(description="The IssueFilter value, as saved.")
    jql: str | None = strawberry.field(description="Its JQL, if any.")
    shared: bool = strawberry.field(description="True when shared with every user of the site.")
    mine: bool = strawberry.field(description="True when you own it.")
    use_count: int = strawberry.field(description="How often you applied it.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, info: FilterInfo, principal_id: str) -> SavedFilter:
        value: Any = info.filter
        return cls(
            id=strawberry.ID(info.id),
            name=info.name,
            filter=value,
            jql=info.jql,
            shared=info.shared,
            mine=info.owner_id == principal_id,
            use_count=info.use_count,
            updated_at=info.updated_at,
        )


@strawberry.type(description="One of your recent searches (the last 100 distinct ones).")
class SearchHistoryEntry:
    id: strawberry.ID
    site_id: strawberry.ID
    kind: str = strawberry.field(description="`text` (searchIssues) or `jql` (issues).")
    query: str = strawberry.field(description="What you searched for.")
    used_at: datetime = strawberry.field(description="When you last ran it.")
    count: int = strawberry.field(description="How many times you ran it.")

    @classmethod
    def of(cls, entry: HistoryEntry) -> SearchHistoryEntry:
        return cls(
            id=strawberry.ID(entry.id),
            site_id=strawberry.ID(entry.site_id),
            kind=entry.kind,
            query=entry.query,
            used_at=entry.used_at,
            count=entry.count,
        )


@strawberry.type(description="One of your own quick filter sets: presets and saved filters.")
class QuickFilterSet:
    id: strawberry.ID = strawberry.field(description="The set's id.")
    name: str = strawberry.field(description="Its name.")
    filters: list[QuickFilter] = strawberry.field(
        description="Its filters in your order (saved filters deleted since are left out)."
    )


_FILTER_FIELDS = {f.name for f in dataclasses.fields(IssueFilterValue)}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def filter_value_of(data: Mapping[str, Any] | None) -> IssueFilterValue:
    """A saved filter's JSON (``IssueFilter`` keys, camelCase or snake_case) as a filter value.

    Saved JSON is whatever a client stored: unknown keys and values of the wrong shape are
    left out rather than failing the whole list.
    """
    value = IssueFilterValue()
    for raw_key, raw in (data or {}).items():
        name = _CAMEL.sub("_", str(raw_key)).lower()
        if name not in _FILTER_FIELDS or raw is None:
            continue
        try:
            setattr(value, name, _coerce(name, raw))
        except (TypeError, ValueError):
            continue
    return value


def _coerce(name: str, raw: Any) -> Any:
    if name == "status_categories":
        return [_category(v) for v in raw] if isinstance(raw, list) else _bad()
    if name in ("due_after", "due_before"):
        return date.fromisoformat(str(raw))
    if name.endswith(("_after", "_before")):
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if name in ("assigned_to_me", "reported_by_me", "unassigned"):
        return raw if isinstance(raw, bool) else _bad()
    if name == "text":
        return str(raw)
    # An empty list would make the JQL builder refuse the whole filter: leave it out.
    return [str(v) for v in raw] if isinstance(raw, list) and raw else _bad()


def _category(raw: Any) -> StatusCategory:
    text = str(raw)
    for member in StatusCategory:
        if text in (member.name, member.value):
            return member
    raise ValueError(text)


def _bad() -> Any:
    raise TypeError("unexpected shape")


def saved_quick_filter(
    ref: str, name: str, data: Mapping[str, Any] | None, jql: str | None
) -> QuickFilter:
    """A saved filter as a ``QuickFilter`` (id ``saved:<id>``): its filter and JQL combined."""
    value = filter_value_of(data)
    try:
        combined = build_jql(to_spec(value) if data else None, jql, [])
    except GatewayError:  # JQL saved by hand that the builder refuses: show it as saved
        combined = jql or ""
    return QuickFilter(
        id=f"saved:{ref}",
        name=name,
        jql=combined,
        filter=value,
        order_by=[],
    )
