"""``issueStats``: issue counts per bucket, from the mirror when synced, else from JIRA.

Mirror path: ``GROUP BY`` on ``mirror_issues``, restricted to the projects the ASKING user can
browse (``projects`` fetched from JIRA as that user: the mirror holds the sync account's view,
which may be wider). Project-level permission is what JIRA's browse permission is; issue-level
security schemes are not visible to the mirror, so a site using them should answer from JIRA
(``from_jira``).

JIRA path: one paged scan with only the fields the buckets need, at most ``JIRA_SCAN_CAP``
issues (counts are then a lower bound: ``StatsResult.complete`` is False).

Week buckets are ISO weeks, keyed by their Monday (``2025-W45`` -> ``2025-11-03``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import MirrorIssue
from gateway.jira.adapter_base import Caller
from gateway.jira.client import JiraClient
from gateway.jira.dto import Issue
from gateway.mirror_search import MirrorFilter, filter_conditions

JIRA_SCAN_CAP = 20_000
_SCAN_PAGE = 100


class StatsField(Enum):
    STATUS = "status"
    STATUS_CATEGORY = "status_category"
    PRIORITY = "priority"
    ASSIGNEE = "assignee"
    ISSUE_TYPE = "issue_type"
    PROJECT = "project"
    CREATED_WEEK = "created_week"
    RESOLVED_WEEK = "resolved_week"


# JIRA fields a scan needs per bucket kind.
_JIRA_FIELDS = {
    StatsField.STATUS: "status",
    StatsField.STATUS_CATEGORY: "status",
    StatsField.PRIORITY: "priority",
    StatsField.ASSIGNEE: "assignee",
    StatsField.ISSUE_TYPE: "issuetype",
    StatsField.PROJECT: "project",
    StatsField.CREATED_WEEK: "created",
    StatsField.RESOLVED_WEEK: "resolutiondate",
}


@dataclass(frozen=True, slots=True)
class Bucket:
    """``key`` is the value (None: none set, e.g. unassigned); ``label`` what a person reads."""

    field: StatsField
    key: str | None
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class StatsResult:
    buckets: list[Bucket]
    source: str  # "mirror" | "jira"
    complete: bool = True


def week_of(day: date | datetime) -> date:
    """The Monday of ``day``'s ISO week."""
    start = day.date() if isinstance(day, datetime) else day
    return start - timedelta(days=start.weekday())


def _sorted(buckets: Iterable[Bucket]) -> list[Bucket]:
    def order(b: Bucket) -> tuple[int, Any]:
        if b.field in (StatsField.CREATED_WEEK, StatsField.RESOLVED_WEEK):
            return (0, b.key or "")
        return (-b.count, b.label)

    return sorted(buckets, key=order)


async def from_mirror(
    db: AsyncSession,
    site_id: str,
    projects: Sequence[str],
    group_by: Sequence[StatsField],
    filt: MirrorFilter | None = None,
) -> StatsResult:
    """Counts over the live mirror rows of ``projects`` (the asking user's browsable ones)."""
    m = MirrorIssue
    where = [
        m.site_id == site_id,
        m.deleted_at.is_(None),
        m.project_key.in_(list(projects)),
        *filter_conditions(filt),
    ]
    buckets: list[Bucket] = []
    for field in dict.fromkeys(group_by):
        if field is StatsField.ASSIGNEE:
            people = await db.execute(
                select(m.assignee_id, func.max(m.assignee_name), func.count())
                .where(*where)
                .group_by(m.assignee_id)
            )
            buckets += [Bucket(field, k, n or "Unassigned", c) for k, n, c in people]
        elif field in (StatsField.CREATED_WEEK, StatsField.RESOLVED_WEEK):
            moment = m.created if field is StatsField.CREATED_WEEK else m.resolution_date
            sqlite = db.get_bind().dialect.name == "sqlite"
            day = func.date(moment) if sqlite else cast(moment, Date)
            days = await db.execute(
                select(day, func.count()).where(*where, moment.is_not(None)).group_by(day)
            )
            weeks: Counter[date] = Counter()
            for value, count in days:
                parsed = date.fromisoformat(value) if isinstance(value, str) else value
                weeks[week_of(parsed)] += count
            buckets += [Bucket(field, w.isoformat(), w.isoformat(), c) for w, c in weeks.items()]
        else:
            col = {
                StatsField.STATUS: m.status,
                StatsField.STATUS_CATEGORY: m.status_category,
                StatsField.PRIORITY: m.priority,
                StatsField.ISSUE_TYPE: m.issue_type,
                StatsField.PROJECT: m.project_key,
            }[field]
            rows = await db.execute(select(col, func.count()).where(*where).group_by(col))
            buckets += [Bucket(field, k, k or "None", c) for k, c in rows]
    return StatsResult(_sorted(buckets), "mirror")


def _value(issue: Issue, field: StatsField) -> tuple[str | None, str]:
    if field is StatsField.STATUS:
        return (issue.status.name, issue.status.name) if issue.status else (None, "None")
    if field is StatsField.STATUS_CATEGORY:
        category = issue.status.category.key if issue.status else None
        return category, category or "None"
    if field is StatsField.PRIORITY:
        return (issue.priority.name, issue.priority.name) if issue.priority else (None, "None")
    if field is StatsField.ASSIGNEE:
        user = issue.assignee
        return (user.id, user.display_name) if user else (None, "Unassigned")
    if field is StatsField.ISSUE_TYPE:
        kind = issue.issuetype
        return (kind.name, kind.name) if kind else (None, "None")
    if field is StatsField.PROJECT:
        return (issue.project.key, issue.project.key) if issue.project else (None, "None")
    moment = issue.created if field is StatsField.CREATED_WEEK else issue.resolutiondate
    if moment is None:
        return None, ""
    week = week_of(moment).isoformat()
    return week, week


async def from_jira(
    client: JiraClient,
    caller: Caller,
    jql: str,
    group_by: Sequence[StatsField],
    *,
    cap: int = JIRA_SCAN_CAP,
) -> StatsResult:
    """Counts from a scan of ``jql`` as the user (JIRA filters by permission itself)."""
    fields = sorted({_JIRA_FIELDS[f] for f in group_by})
    counts: dict[tuple[StatsField, str | None], list[Any]] = {}
    seen = 0
    complete = True
    async for issue in client.search_all(caller, jql, fields=fields, page_size=_SCAN_PAGE):
        if seen >= cap:
            complete = False
            break
        seen += 1
        for field in dict.fromkeys(group_by):
            key, label = _value(issue, field)
            if field in (StatsField.CREATED_WEEK, StatsField.RESOLVED_WEEK) and key is None:
                continue
            entry = counts.setdefault((field, key), [label, 0])
            entry[1] += 1
    buckets = [Bucket(f, k, str(v[0]), int(v[1])) for (f, k), v in counts.items()]
    return StatsResult(_sorted(buckets), "jira", complete)


async def browsable_projects(client: JiraClient, caller: Caller) -> list[str]:
    """Keys of the projects ``caller`` may browse, as JIRA says."""
    return [project.key for project in await client.projects(caller)]


__all__ = [
    "JIRA_SCAN_CAP",
    "Bucket",
    "StatsField",
    "StatsResult",
    "browsable_projects",
    "from_jira",
    "from_mirror",
    "week_of",
]
