"""``IssueFilter``, ``IssueOrder`` and the presets of ``quickFilters``.

The filter is turned into JQL by ``gateway.jql_builder`` (every value quoted). Presets are
returned as ``IssueFilterValue``: the same fields as ``IssueFilter``, so a client can send a
preset's ``filter`` straight back as the ``filter`` argument of ``issues``.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry

from gateway.jql_builder import FilterSpec
from schema.issue_parts import StatusCategory


@strawberry.input(
    description="Narrows a search. Values within one field are OR-ed, fields are AND-ed; "
    "every value is matched exactly as given (quoted for JQL), never parsed as JQL."
)
class IssueFilter:
    projects: list[str] | None = strawberry.field(default=None, description="Project keys.")
    statuses: list[str] | None = strawberry.field(default=None, description="Status names.")
    status_categories: list[StatusCategory] | None = strawberry.field(
        default=None, description="To do, in progress, done."
    )
    priorities: list[str] | None = strawberry.field(default=None, description="Priority names.")
    assignees: list[str] | None = strawberry.field(
        default=None, description="Assignees by JIRA user id (accountId / user key) or name."
    )
    reporters: list[str] | None = strawberry.field(default=None, description="Reporters, ditto.")
    labels: list[str] | None = strawberry.field(default=None, description="Labels.")
    issue_types: list[str] | None = strawberry.field(default=None, description="Issue type names.")
    text: str | None = strawberry.field(
        default=None, description="Words to find in summary, description and comments."
    )
    created_after: datetime | None = strawberry.field(default=None, description="Created at/after.")
    created_before: datetime | None = strawberry.field(default=None, description="Created before.")
    updated_after: datetime | None = strawberry.field(default=None, description="Updated at/after.")
    updated_before: datetime | None = strawberry.field(default=None, description="Updated before.")
    due_after: date | None = strawberry.field(default=None, description="Due on or after.")
    due_before: date | None = strawberry.field(default=None, description="Due on or before.")
    assigned_to_me: bool | None = strawberry.field(
        default=None, description="Only issues assigned to you."
    )
    reported_by_me: bool | None = strawberry.field(
        default=None, description="Only issues you reported."
    )
    unassigned: bool | None = strawberry.field(default=None, description="Only unassigned issues.")


@strawberry.type(description="A filter value you can pass back as `issues(filter:)`.")
class IssueFilterValue:
    projects: list[str] | None = None
    statuses: list[str] | None = None
    status_categories: list[StatusCategory] | None = None
    priorities: list[str] | None = None
    assignees: list[str] | None = None
    reporters: list[str] | None = None
    labels: list[str] | None = None
    issue_types: list[str] | None = None
    text: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    due_after: date | None = None
    due_before: date | None = None
    assigned_to_me: bool | None = None
    reported_by_me: bool | None = None
    unassigned: bool | None = None


@strawberry.enum(description="Fields issues can be sorted by.")
class IssueOrderField(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    PRIORITY = "priority"
    KEY = "key"
    DUE_DATE = "duedate"
    STATUS = "status"
    SUMMARY = "summary"
    RESOLUTION_DATE = "resolutiondate"


@strawberry.enum(description="Sort direction.")
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input(description="One sort key; the first one given sorts first.")
class IssueOrder:
    field: IssueOrderField = strawberry.field(description="What to sort by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="ASC (default) or DESC."
    )


@strawberry.type(description="A ready-made search: its JQL, and the same as a filter.")
class QuickFilter:
    id: str = strawberry.field(description="Stable preset id, e.g. `my-open`.")
    name: str = strawberry.field(description="What to show on the button.")
    jql: str = strawberry.field(description="The JQL it runs (pass as `issues(jql:)`).")
    filter: IssueFilterValue = strawberry.field(
        description="The same search as a filter (pass as `issues(filter:)`)."
    )
    order_by: list[str] = strawberry.field(
        description="Suggested order as `FIELD DIRECTION` pairs, e.g. `UPDATED DESC`."
    )


def to_spec(value: IssueFilter | IssueFilterValue | None) -> FilterSpec | None:
    """The gateway's ``FilterSpec`` for a filter argument (None for no filter)."""
    if value is None:
        return None
    categories = value.status_categories
    return FilterSpec(
        projects=_opt(value.projects),
        statuses=_opt(value.statuses),
        status_categories=_opt(None if categories is None else [str(c.value) for c in categories]),
        priorities=_opt(value.priorities),
        assignees=_opt(value.assignees),
        reporters=_opt(value.reporters),
        labels=_opt(value.labels),
        issue_types=_opt(value.issue_types),
        text=value.text,
        created_after=value.created_after,
        created_before=value.created_before,
        updated_after=value.updated_after,
        updated_before=value.updated_before,
        due_after=value.due_after,
        due_before=value.due_before,
        assigned_to_me=bool(value.assigned_to_me),
        reported_by_me=bool(value.reported_by_me),
        unassigned=bool(value.unassigned),
    )


def _opt(values: list[str] | None) -> tuple[str, ...]:
    return () if values is None else _nonempty(values)


def _nonempty(values: list[str]) -> tuple[str, ...]:
    # An explicitly empty list is a mistake worth reporting (it would match nothing or
    # everything); a blank placeholder keeps the builder's "needs a value" error.
    return tuple(values) if values else ("",)
