"""Types of ``issueStats``: what to group by, and one counted bucket."""

from __future__ import annotations

import enum

import strawberry

from gateway.stats import Bucket, StatsField


@strawberry.enum(description="What issueStats groups issues by.")
class IssueStatsField(enum.Enum):
    STATUS = strawberry.enum_value("status", description="Workflow status name.")
    STATUS_CATEGORY = strawberry.enum_value(
        "status_category", description="To do (`new`), in progress (`indeterminate`), done."
    )
    PRIORITY = strawberry.enum_value("priority", description="Priority name.")
    ASSIGNEE = strawberry.enum_value(
        "assignee", description="Assignee (key: JIRA user id; null: unassigned)."
    )
    ISSUE_TYPE = strawberry.enum_value("issue_type", description="Issue type name.")
    PROJECT = strawberry.enum_value("project", description="Project key.")
    CREATED_WEEK = strawberry.enum_value(
        "created_week", description="ISO week of creation (key: its Monday, YYYY-MM-DD)."
    )
    RESOLVED_WEEK = strawberry.enum_value(
        "resolved_week", description="ISO week of resolution; unresolved issues are left out."
    )

    def service(self) -> StatsField:
        return StatsField(self.value)


@strawberry.enum(description="Where statistics were counted.")
class StatsSource(enum.Enum):
    MIRROR = strawberry.enum_value(
        "mirror", description="The gateway's mirror, limited to projects you can browse."
    )
    JIRA = strawberry.enum_value("jira", description="A scan of JIRA's search as you.")


@strawberry.type(description="How many issues fall in one group.")
class IssueStatsBucket:
    field: IssueStatsField = strawberry.field(description="What this bucket groups by.")
    key: str | None = strawberry.field(
        description="The group's value (status name, user id, week's Monday...); null for "
        "'none set', e.g. unassigned."
    )
    label: str = strawberry.field(description="What to show a person.")
    count: int = strawberry.field(description="Issues in the group.")
    source: StatsSource = strawberry.field(description="Mirror or JIRA.")
    complete: bool = strawberry.field(
        description="False when JIRA's scan stopped at its cap (20,000 issues): counts are then "
        "lower bounds."
    )

    @classmethod
    def of(cls, bucket: Bucket, source: str, complete: bool) -> IssueStatsBucket:
        return cls(
            field=IssueStatsField(bucket.field.value),
            key=bucket.key,
            label=bucket.label,
            count=bucket.count,
            source=StatsSource(source),
            complete=complete,
        )
