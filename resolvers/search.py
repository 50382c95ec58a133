"""``searchIssues``: ranked full-text search over the mirror, checked as the asking user.

Thin: arguments -> ``gateway.mirror_search`` -> ``IssueConnection``. The mirror answers when the
site finished a sync and the filter is one the mirror evaluates itself (``mirror_filter``);
otherwise JIRA's own ``text ~`` search answers, with the filter as JQL. Either way every issue
returned is one JIRA gave to THIS user (bulk fetch as the user, or a search as the user).
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.accounts import SiteCall
from gateway.context import Context
from gateway.errors import InvalidInput
from gateway.history import SearchHistory
from gateway.jira.adapter_base import InvalidCursor
from gateway.jql_builder import FilterSpec, filter_clauses
from gateway.mirror_search import (
    MAX_CANDIDATES,
    Hit,
    MirrorFilter,
    check_text,
    mirror_ready,
    search_jira,
    search_mirror,
)
from gateway.state import AppState
from loaders.base import touch
from schema.common import PageInfo, check_first
from schema.filters import IssueFilter, to_spec
from schema.issue import Issue, IssueConnection, IssueEdge
from schema.lookahead import connection_nodes, issue_plan
from schema.search import (
    SearchMatch,
    SearchSource,
    decode_search_cursor,
    encode_search_cursor,
)

DEFAULT_PAGE = 20
# Fields the mirror path fetches beyond what the query selects: none are needed for the
# permission check itself (a returned issue is a visible issue), but JIRA needs one field.
_MIN_FIELDS = ("summary",)
_DONE = "done"  # the cursor after JIRA's last page


def mirror_filter(spec: FilterSpec | None, call: SiteCall) -> MirrorFilter | None:
    """The filter as mirror conditions, or None when the mirror cannot evaluate it exactly.

    The mirror stores ids (assignee, reporter) and names (status, priority, type) as JIRA
    gave them to the sync account; people given by name, due dates after a day, and extra
    text need JIRA. The filter is checked as for JIRA first (``filter_clauses``), so a blank
    value, more than 100 values or an empty range is the same error whichever path answers.
    """
    if spec is None:
        return MirrorFilter()
    filter_clauses(spec)  # raises InvalidInput / LimitExceeded; the JQL itself is not needed
    if spec.assignees or spec.reporters or spec.text or spec.due_after or spec.due_before:
        return None
    me = (call.jira_account_id,)
    assignees: tuple[str, ...] = ()
    if spec.assigned_to_me:
        assignees = me
    elif spec.unassigned:
        assignees = ("unassigned",)
    return MirrorFilter(
        projects=spec.projects,
        statuses=spec.statuses,
        status_categories=spec.status_categories,
        priorities=spec.priorities,
        issue_types=spec.issue_types,
        assignees=assignees,
        reporters=me if spec.reported_by_me else (),
        labels=spec.labels,
        created_after=spec.created_after,
        created_before=spec.created_before,
        updated_after=spec.updated_after,
        updated_before=spec.updated_before,
    )


def _edge(cursor: str, hit: Hit, site_id: str, source: SearchSource) -> IssueEdge:
    snippet = hit.snippet
    return IssueEdge(
        cursor=cursor,
        node=Issue.of(hit.issue, site_id),
        match=SearchMatch(
            rank=hit.rank,
            summary_html=snippet.summary if snippet else "",
            description_html=snippet.description if snippet else "",
            source=source,
        ),
    )


async def _from_mirror(
    state: AppState,
    call: SiteCall,
    text: str,
    conditions: MirrorFilter,
    offset: int,
    size: int,
    fields: tuple[str, ...],
) -> IssueConnection:
    result = await search_mirror(
        state.sessionmaker,
        call.client,
        call.caller,
        call.site_id,
        text,
        conditions,
        offset=offset,
        first=size,
        fields=fields,
    )
    edges = [
        _edge(
            encode_search_cursor("m", str(offset + n + 1)), hit, call.site_id, SearchSource.MIRROR
        )
        for n, hit in enumerate(result.hits)
    ]
    visible = result.visible
    return IssueConnection(
        edges=edges,
        nodes=[edge.node for edge in edges],
        page_info=PageInfo(
            has_next_page=result.has_next, end_cursor=edges[-1].cursor if edges else None
        ),
        # Only the best MAX_CANDIDATES matches are ranked: a count at the cap is not a total.
        total_count=visible if visible is not None and visible < MAX_CANDIDATES else None,
    )


async def _from_jira(
    call: SiteCall,
    text: str,
    spec: FilterSpec | None,
    token: str | None,
    size: int,
    fields: tuple[str, ...],
) -> IssueConnection:
    extra = " AND ".join(filter_clauses(spec)) if spec is not None else ""
    try:
        result, next_token = await search_jira(
            call.client,
            call.caller,
            text,
            extra_jql=extra or None,
            cursor=token,
            first=size,
            fields=fields,
        )
    except InvalidCursor:
        raise InvalidInput("This cursor does not belong to this search.", field="after") from None
    # JIRA pages cannot resume mid-page: every edge of a page carries the next page's cursor.
    cursor = encode_search_cursor("j", next_token or _DONE)
    edges = [_edge(cursor, hit, call.site_id, SearchSource.JIRA) for hit in result.hits]
    return IssueConnection(
        edges=edges,
        nodes=[edge.node for edge in edges],
        page_info=PageInfo(
            has_next_page=next_token is not None, end_cursor=cursor if edges else None
        ),
        total_count=None,
    )


def _empty() -> IssueConnection:
    return IssueConnection(
        edges=[],
        nodes=[],
        page_info=PageInfo(has_next_page=False, end_cursor=None),
        total_count=None,
    )


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Find issues by words in their key, summary and description, best matches "
        "first, with highlighted snippets on `edges.match`. Combine with `filter`; pages of 1..100 "
        "(`first`, default 20; at most the best 200 matches). Only issues you may see in JIRA are "
        "returned. Uses the gateway's index once the site is mirrored, else JIRA's `text ~`."
    )
    async def search_issues(
        self,
        info: Info[Context, None],
        text: Annotated[str, strawberry.argument(description="Words to find (1..500 chars).")],
        filter: Annotated[
            IssueFilter | None, strawberry.argument(description="Narrow the results.")
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100.")
        ] = DEFAULT_PAGE,
        after: Annotated[
            str | None, strawberry.argument(description="`pageInfo.endCursor` of the last page.")
        ] = None,
        site: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Site id; default: your default site."),
        ] = None,
    ) -> IssueConnection:
        # Mirror rows and search history change outside JIRA's webhooks: no response cache.
        info.context.response_cacheable = False
        size = check_first(first, DEFAULT_PAGE)
        cleaned = check_text(text)
        spec = to_spec(filter)
        cursor = decode_search_cursor(after)
        call = await info.context.site_call(site)
        state = info.context.state
        fields, _expand = issue_plan(connection_nodes(info.selected_fields[0].selections))
        wanted = tuple(sorted({*fields, *_MIN_FIELDS}))
        async with state.sessionmaker() as db:
            ready = await mirror_ready(db, call.site_id)
        conditions = mirror_filter(spec, call) if ready else None
        if conditions is not None:
            offset = int(cursor[1]) if cursor and cursor[0] == "m" else 0
            found = await _from_mirror(state, call, cleaned, conditions, offset, size, wanted)
        elif cursor is not None and cursor == ("j", _DONE):
            found = _empty()
        else:
            token = cursor[1] if cursor and cursor[0] == "j" else None
            found = await _from_jira(call, cleaned, spec, token, size, wanted)
        touch(info.context, call.site_id, [node.key for node in found.nodes])
        if after is None:
            await SearchHistory(state.sessionmaker).record(
                call.principal_id, call.site_id, "text", cleaned
            )
        return found
