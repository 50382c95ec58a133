"""Root fields for reading issues: ``issue``, ``issues``, ``node``. Thin: arguments -> loaders."""

from __future__ import annotations

import binascii
from typing import Annotated

import orjson
import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.errors import InvalidInput, NotFound
from gateway.jira.adapter_base import InvalidCursor
from gateway.jql_builder import build_jql
from loaders.issues import IssueByKeyLoader, IssueRequest
from loaders.search import SearchLoader, SearchRequest
from schema.common import (
    Node,
    PageInfo,
    b64_decode,
    b64_encode,
    check_first,
    decode_global_id,
)
from schema.filters import IssueFilter, IssueOrder, to_spec
from schema.issue import Issue, IssueConnection, IssueEdge, require_issue
from schema.lookahead import connection_nodes, issue_plan

DEFAULT_PAGE = 50


def encode_issue_cursor(page_cursor: str | None, skip: int, size: int) -> str:
    raw = orjson.dumps([page_cursor, skip, size])
    return b64_encode(raw)


def decode_issue_cursor(cursor: str | None) -> tuple[str | None, int, int | None]:
    """``(JIRA page cursor, items to skip in that page, its page size)``."""
    if cursor is None:
        return None, 0, None
    try:
        page_cursor, skip, size = orjson.loads(b64_decode(cursor))
        if not (page_cursor is None or isinstance(page_cursor, str)):
            raise ValueError("cursor")
        if not isinstance(skip, int) or not isinstance(size, int) or skip < 0 or size < 1:
            raise ValueError("cursor")
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise InvalidInput("This cursor does not belong to this search.", field="after") from None
    return page_cursor, skip, size


@strawberry.type
class IssuesQuery:
    @strawberry.field(
        description='One issue by key, e.g. `issue(key: "ALPHA-12")`. Unknown keys and issues '
        "you may not see both answer NOT_FOUND."
    )
    async def issue(
        self,
        info: Info[Context, None],
        key: Annotated[str, strawberry.argument(description="The issue key (case-insensitive).")],
        site: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Site id (see viewer.sites); default: your default site."
            ),
        ] = None,
    ) -> Issue | None:
        fields, expand = issue_plan(info.selected_fields[0].selections)
        request = IssueRequest.of(site, key, fields, expand)
        found = await info.context.loader(IssueByKeyLoader).load(request)
        call = await info.context.site_call(site)
        return Issue.of(require_issue(found, key), call.site_id)

    @strawberry.field(
        description="Search issues with a filter, your own JQL, or both (your JQL is kept in "
        "parentheses and AND-ed with the filter). Pages of 1..100 (`first`, default 50); "
        "continue with `after: pageInfo.endCursor`."
    )
    async def issues(
        self,
        info: Info[Context, None],
        filter: Annotated[
            IssueFilter | None,
            strawberry.argument(description="Structured conditions (values are always quoted)."),
        ] = None,
        jql: Annotated[
            str | None,
            strawberry.argument(
                description="JQL of your own. It may end with ORDER BY only when `orderBy` is not "
                "given."
            ),
        ] = None,
        order_by: Annotated[
            list[IssueOrder] | None,
            strawberry.argument(description="Sort keys (default: newest first)."),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size, 1 to 100.")
        ] = DEFAULT_PAGE,
        after: Annotated[
            str | None,
            strawberry.argument(description="`pageInfo.endCursor` of the previous page."),
        ] = None,
        site: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Site id; default: your default site."),
        ] = None,
    ) -> IssueConnection:
        size = check_first(first, DEFAULT_PAGE)
        order = [(o.field.value, o.direction.value) for o in order_by or []]
        text = build_jql(to_spec(filter), jql, order)
        fields, expand = issue_plan(connection_nodes(info.selected_fields[0].selections))
        page_cursor, skip, page_size = decode_issue_cursor(after)
        fetch_size = page_size if skip else size
        request = SearchRequest(
            site, text, tuple(fields), tuple(expand), fetch_size or size, page_cursor
        )
        try:
            result = await info.context.loader(SearchLoader).load(request)
        except InvalidCursor:
            raise InvalidInput(
                "This cursor does not belong to this search.", field="after"
            ) from None
        page = result.page
        window = page.issues[skip : skip + size]
        more_in_page = skip + len(window) < len(page.issues)
        edges = []
        for i, dto_issue in enumerate(window):
            position = skip + i + 1
            if position == len(page.issues) and page.next_cursor is not None:
                cursor = encode_issue_cursor(page.next_cursor, 0, request.page_size)
            else:
                cursor = encode_issue_cursor(page_cursor, position, request.page_size)
            edges.append(IssueEdge(cursor=cursor, node=Issue.of(dto_issue, result.site_id)))
        return IssueConnection(
            edges=edges,
            nodes=[edge.node for edge in edges],
            page_info=PageInfo(
                has_next_page=more_in_page or page.next_cursor is not None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total,
        )

    @strawberry.field(description="Any object with a global id (issues).")
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The object's global id.")],
    ) -> Node | None:
        type_name, site_id, local_id = decode_global_id(id)
        if type_name != "Issue":
            raise NotFound("No object has this id.")
        fields, expand = issue_plan(info.selected_fields[0].selections)
        request = IssueRequest.of(site_id, local_id, fields, expand)
        found = await info.context.loader(IssueByKeyLoader).load(request)
        return Issue.of(require_issue(found, local_id), site_id)
