"""Root fields for site metadata, people and ready-made searches (``quickFilters``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.errors import InvalidInput
from gateway.jql_builder import build_jql
from loaders import meta
from resolvers.selections import with_personal_sets
from schema.filters import IssueFilterValue, QuickFilter, to_spec
from schema.issue_parts import (
    IssueType,
    Priority,
    Project,
    Status,
    StatusCategory,
    issue_type_of,
    priority_of,
    project_of,
    status_of,
)
from schema.user import User, user_of

SiteArg = Annotated[
    strawberry.ID | None, strawberry.argument(description="Site id; default: your default site.")
]


def _preset(
    preset_id: str, name: str, value: IssueFilterValue, order: list[tuple[str, str]]
) -> QuickFilter:
    jql = build_jql(to_spec(value), None, order)
    return QuickFilter(
        id=preset_id,
        name=name,
        jql=jql,
        filter=value,
        order_by=[f"{_ORDER_NAMES[f]} {d}" for f, d in order],
    )


_ORDER_NAMES = {
    "updated": "UPDATED",
    "created": "CREATED",
    "priority": "PRIORITY",
    "duedate": "DUE_DATE",
}
_OPEN = [StatusCategory.TO_DO, StatusCategory.IN_PROGRESS]


def presets(now: datetime, statuses: list[str], priorities: list[str]) -> list[QuickFilter]:
    """The quick filters for a site whose statuses and priorities are given (names, in order)."""
    monday = (now - timedelta(days=now.weekday())).date()
    out = [
        _preset(
            "my-open",
            "My open issues",
            IssueFilterValue(assigned_to_me=True, status_categories=_OPEN),
            [("updated", "DESC")],
        ),
        _preset(
            "reported-by-me",
            "Reported by me",
            IssueFilterValue(reported_by_me=True),
            [("created", "DESC")],
        ),
        _preset(
            "recently-updated",
            "Updated in the last 7 days",
            IssueFilterValue(updated_after=(now - timedelta(days=7)).replace(microsecond=0)),
            [("updated", "DESC")],
        ),
        _preset(
            "due-this-week",
            "Due this week",
            IssueFilterValue(
                due_after=monday, due_before=monday + timedelta(days=6), status_categories=_OPEN
            ),
            [("duedate", "ASC")],
        ),
        _preset(
            "high-priority",
            "High priority, open",
            IssueFilterValue(
                priorities=priorities[:2] or ["Highest", "High"], status_categories=_OPEN
            ),
            [("priority", "DESC")],
        ),
        _preset(
            "unassigned",
            "Unassigned, open",
            IssueFilterValue(unassigned=True, status_categories=_OPEN),
            [("created", "DESC")],
        ),
    ]
    for status in statuses:
        out.append(
            _preset(
                f"status:{status}",
                f"Status: {status}",
                IssueFilterValue(statuses=[status]),
                [("updated", "DESC")],
            )
        )
    for priority in priorities:
        out.append(
            _preset(
                f"priority:{priority}",
                f"Priority: {priority}",
                IssueFilterValue(priorities=[priority]),
                [("updated", "DESC")],
            )
        )
    out.append(
        _preset(
            "assignee:me",
            "Assignee: me",
            IssueFilterValue(assigned_to_me=True),
            [("updated", "DESC")],
        )
    )
    return out


@strawberry.type
class MetaQuery:
    @strawberry.field(description="Projects you can browse on the site.")
    async def projects(self, info: Info[Context, None], site: SiteArg = None) -> list[Project]:
        return [p for p in map(project_of, await meta.projects(info.context, site)) if p]

    @strawberry.field(description="Workflow statuses of the projects you can browse.")
    async def statuses(self, info: Info[Context, None], site: SiteArg = None) -> list[Status]:
        return [s for s in map(status_of, await meta.statuses(info.context, site)) if s]

    @strawberry.field(description="Priorities, most urgent first (JIRA's order).")
    async def priorities(self, info: Info[Context, None], site: SiteArg = None) -> list[Priority]:
        return [p for p in map(priority_of, await meta.priorities(info.context, site)) if p]

    @strawberry.field(description="Issue types of the projects you can browse.")
    async def issue_types(self, info: Info[Context, None], site: SiteArg = None) -> list[IssueType]:
        return [t for t in map(issue_type_of, await meta.issue_types(info.context, site)) if t]

    @strawberry.field(description="People whose name or email matches `query` (at most 50).")
    async def users(
        self,
        info: Info[Context, None],
        query: Annotated[
            str, strawberry.argument(description="Part of a name or email, 1..100 chars.")
        ],
        site: SiteArg = None,
    ) -> list[User]:
        if not query.strip() or len(query) > 100:
            raise InvalidInput("`query` must have 1 to 100 characters.", field="query")
        return [u for u in map(user_of, await meta.search_users(info.context, site, query)) if u]

    @strawberry.field(
        description="Ready-made searches: my open issues, reported by me, recently updated, due "
        "this week, high priority, unassigned, and one per status and priority. Each has its JQL "
        "and the same search as a filter. Your own quick filter sets (presets and saved filters, "
        "see `quickFilterSets`) come first."
    )
    async def quick_filters(
        self, info: Info[Context, None], site: SiteArg = None
    ) -> list[QuickFilter]:
        # --- issue 6: the user's own quick filter sets come first (resolvers/selections.py) ---
        return await with_personal_sets(info, site, await preset_catalog(info.context, site))


async def preset_catalog(ctx: Context, site: str | None) -> list[QuickFilter]:
    """The site's presets (``quickFilters`` without the user's own sets)."""
    statuses = await meta.statuses(ctx, site)
    priorities = await meta.priorities(ctx, site)
    names = list(dict.fromkeys(s.name for s in statuses))
    return presets(datetime.now(UTC), names, [p.name for p in priorities])
