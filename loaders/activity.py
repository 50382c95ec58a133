"""Comments and changelog pages by issue (``CommentsLoader``, ``ChangelogLoader``).

Used only when the page an operation asks for is not inside what JIRA embedded in the issue
(the first 20 comments of a search hit, the first 100 histories of ``expand=changelog``). JIRA has
no bulk endpoint for either, so a batch issues one call per issue, concurrently; each page is
cached per site, principal and issue, tagged with the issue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.accounts import SiteCall
from gateway.cache import cache_key, issue_tag
from gateway.context import Context
from gateway.jira.dto import ChangelogEntry, Comment, Page
from loaders.base import fetcher, touch
from loaders.codec import dto_codec

COMMENT_PAGE_CODEC = dto_codec(Page[Comment])
CHANGELOG_PAGE_CODEC = dto_codec(Page[ChangelogEntry])


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``max_results`` items of an issue's list from ``start_at``."""

    site: str | None
    key: str
    start_at: int
    max_results: int


PageFetch = Callable[[SiteCall, PageRequest], Awaitable[Any]]


async def _load_pages(
    ctx: Context, requests: list[PageRequest], resource: str, fetch_one: PageFetch, codec: Any
) -> list[Any]:
    async def one(request: PageRequest) -> Any:
        call = await ctx.site_call(request.site)
        key = cache_key(
            call.site_id,
            call.account_id,
            resource,
            request.key.upper(),
            str(request.start_at),
            str(request.max_results),
        )

        async def fetch(args: list[PageRequest]) -> list[Any]:
            return [await fetch_one(call, args[0])]

        [value] = await fetcher(ctx.state.cache).load(
            [key],
            [request],
            fetch,
            policy=ctx.state.cache.config.issues,
            tags=lambda r, _v: [issue_tag(call.site_id, r.key)],
            codec=codec,
            outcome=ctx.cache_outcome,
        )
        touch(ctx, call.site_id, [request.key])
        return value

    results = await asyncio.gather(*(one(r) for r in requests), return_exceptions=True)
    return list(results)


async def _comments(call: SiteCall, request: PageRequest) -> Page[Comment]:
    return await call.client.get_comments(
        call.caller, request.key, start_at=request.start_at, max_results=request.max_results
    )


async def _changelog(call: SiteCall, request: PageRequest) -> Page[ChangelogEntry]:
    return await call.client.get_changelog(
        call.caller, request.key, start_at=request.start_at, max_results=request.max_results
    )


class CommentsLoader(DataLoader[PageRequest, Page[Comment]]):
    """Pages of comments by issue for one operation."""

    def __init__(self, ctx: Context) -> None:
        async def batch(requests: list[PageRequest]) -> list[Any]:
            return await _load_pages(ctx, requests, "comments", _comments, COMMENT_PAGE_CODEC)

        super().__init__(load_fn=batch)


class ChangelogLoader(DataLoader[PageRequest, Page[ChangelogEntry]]):
    """Pages of changelog by issue for one operation."""

    def __init__(self, ctx: Context) -> None:
        async def batch(requests: list[PageRequest]) -> list[Any]:
            return await _load_pages(ctx, requests, "changelog", _changelog, CHANGELOG_PAGE_CODEC)

        super().__init__(load_fn=batch)
