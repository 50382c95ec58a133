"""``SearchLoader``: pages of a JQL search, through the cache, per operation.

The key of a page is (site, caller's account, JQL, page size, cursor, field set): the same
search by another user, or with other fields, is another entry. A page is tagged with every
issue it holds, so a change to one of them drops it; a NEW issue that now matches does not (no
webhook names the searches it joins), which the search TTL (60 s by default) bounds.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.accounts import SiteCall
from gateway.cache import cache_key, issue_tag
from gateway.context import Context
from gateway.jira.adapter_base import SearchPage
from loaders.base import fetcher, touch
from loaders.codec import dto_codec
from loaders.issues import fieldset

SEARCH_CODEC = dto_codec(SearchPage)


@dataclass(frozen=True, slots=True)
class SearchRequest:
    site: str | None
    jql: str
    fields: tuple[str, ...]
    expand: tuple[str, ...]
    page_size: int
    cursor: str | None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A page and the site that answered it (global ids and download URLs need the site)."""

    site_id: str
    page: SearchPage


def _digest(request: SearchRequest) -> str:
    text = f"{request.jql}\x00{request.page_size}\x00{request.cursor or ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def _search(ctx: Context, request: SearchRequest) -> SearchResult:
    call: SiteCall = await ctx.site_call(request.site)
    key = cache_key(
        call.site_id,
        call.account_id,
        "search",
        _digest(request),
        fields=fieldset(request.fields, request.expand),
    )

    async def fetch(args: list[SearchRequest]) -> list[SearchPage]:
        r = args[0]
        page = await call.client.search(
            call.caller,
            r.jql,
            fields=r.fields,
            expand=r.expand,
            page_size=r.page_size,
            cursor=r.cursor,
        )
        return [page]

    [page] = await fetcher(ctx.state.cache).load(
        [key],
        [request],
        fetch,
        policy=ctx.state.cache.config.searches,
        tags=lambda _r, p: [issue_tag(call.site_id, i.key) for i in p.issues],
        codec=SEARCH_CODEC,
        outcome=ctx.cache_outcome,
    )
    assert page is not None  # a search always answers a page (maybe empty)
    touch(ctx, call.site_id, [issue.key for issue in page.issues])
    return SearchResult(call.site_id, page)


class SearchLoader(DataLoader[SearchRequest, SearchResult]):
    """Search pages for one operation (identical searches under aliases are asked once)."""

    def __init__(self, ctx: Context) -> None:
        async def batch(requests: list[SearchRequest]) -> list[Any]:
            return list(
                await asyncio.gather(*(_search(ctx, r) for r in requests), return_exceptions=True)
            )

        super().__init__(load_fn=batch)
