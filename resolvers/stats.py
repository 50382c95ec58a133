"""``issueStats``: issue counts per bucket. Thin: arguments -> ``gateway.stats`` -> buckets.

From the mirror when the site is synced and the question is one the mirror answers exactly (a
structured filter it evaluates, no JQL): restricted to the projects the asking user can browse
in JIRA (asked as that user, through the cached ``projects`` loader). Otherwise a JIRA scan as
the user with only the fields the buckets need.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.errors import InvalidInput
from gateway.jql_builder import build_jql
from gateway.mirror_search import mirror_ready
from gateway.stats import StatsResult, from_jira, from_mirror
from loaders import meta
from resolvers.search import mirror_filter
from schema.filters import IssueFilter, to_spec
from schema.stats import IssueStatsBucket, IssueStatsField


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="How many issues fall in each group: by status, status category, priority, "
        "assignee, issue type, project, or created/resolved week. Narrow with `filter` and/or "
        "`jql`; only issues you may see are counted. Buckets of several `groupBy` fields come "
        "in one list (see `field`); biggest first, weeks in date order."
    )
    async def issue_stats(
        self,
        info: Info[Context, None],
        group_by: Annotated[
            list[IssueStatsField], strawberry.argument(description="One or more groupings.")
        ],
        filter: Annotated[
            IssueFilter | None, strawberry.argument(description="Structured conditions.")
        ] = None,
        jql: Annotated[
            str | None, strawberry.argument(description="JQL of your own, AND-ed with `filter`.")
        ] = None,
        site: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Site id; default: your default site."),
        ] = None,
    ) -> list[IssueStatsBucket]:
        info.context.response_cacheable = False  # mirror counts change without webhooks
        if not group_by:
            raise InvalidInput("Give at least one `groupBy` field.", field="groupBy")
        fields = [g.service() for g in dict.fromkeys(group_by)]
        spec = to_spec(filter)
        call = await info.context.site_call(site)
        state = info.context.state
        conditions = None
        if jql is None or not jql.strip():
            async with state.sessionmaker() as db:
                if await mirror_ready(db, call.site_id):
                    conditions = mirror_filter(spec, call)
        result: StatsResult
        if conditions is not None:
            projects = [p.key for p in await meta.projects(info.context, site)]
            async with state.sessionmaker() as db:
                result = await from_mirror(db, call.site_id, projects, fields, conditions)
        else:
            query = build_jql(spec, jql, [("key", "ASC")])
            result = await from_jira(call.client, call.caller, query, fields)
        return [IssueStatsBucket.of(b, result.source, result.complete) for b in result.buckets]
