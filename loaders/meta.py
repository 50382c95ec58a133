"""Site metadata (projects, statuses, priorities, issue types) and user search, cached.

Metadata lives an hour (``CacheConfig.metadata``). Priorities are permission-neutral and shared
by every user of a site (``shared_key``); everything else is keyed per caller, because JIRA
filters projects, statuses and issue types by what the caller can browse (see ``cache_keys``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from gateway.accounts import SiteCall
from gateway.cache import cache_key, shared_key
from gateway.cache_fetch import Codec
from gateway.context import Context
from gateway.jira.dto import IssueType, Priority, Project, Status, User
from loaders.base import fetcher
from loaders.codec import dto_codec

PROJECTS = dto_codec(tuple[Project, ...])
STATUSES = dto_codec(tuple[Status, ...])
PRIORITIES = dto_codec(tuple[Priority, ...])
ISSUE_TYPES = dto_codec(tuple[IssueType, ...])
USERS = dto_codec(tuple[User, ...])


async def _cached(
    ctx: Context,
    key: str,
    fetch: Callable[[], Awaitable[list[Any]]],
    codec: Codec[Any],
) -> tuple[Any, ...]:
    async def batch(_args: list[None]) -> list[tuple[Any, ...]]:
        return [tuple(await fetch())]

    [value] = await fetcher(ctx.state.cache).load(
        [key],
        [None],
        batch,
        policy=ctx.state.cache.config.metadata,
        codec=codec,
        outcome=ctx.cache_outcome,
    )
    return value or ()


def _key(call: SiteCall, resource: str, *parts: str) -> str:
    return cache_key(call.site_id, call.account_id, resource, *parts)


async def projects(ctx: Context, site: str | None) -> tuple[Project, ...]:
    call = await ctx.site_call(site)
    return await _cached(
        ctx, _key(call, "projects"), lambda: call.client.projects(call.caller), PROJECTS
    )


async def statuses(ctx: Context, site: str | None) -> tuple[Status, ...]:
    call = await ctx.site_call(site)
    return await _cached(
        ctx, _key(call, "statuses"), lambda: call.client.statuses(call.caller), STATUSES
    )


async def priorities(ctx: Context, site: str | None) -> tuple[Priority, ...]:
    call = await ctx.site_call(site)
    key = shared_key(call.site_id, "priorities")
    return await _cached(ctx, key, lambda: call.client.priorities(call.caller), PRIORITIES)


async def issue_types(ctx: Context, site: str | None) -> tuple[IssueType, ...]:
    call = await ctx.site_call(site)
    return await _cached(
        ctx, _key(call, "issue_types"), lambda: call.client.issue_types(call.caller), ISSUE_TYPES
    )


async def search_users(ctx: Context, site: str | None, query: str) -> tuple[User, ...]:
    call = await ctx.site_call(site)
    key = _key(call, "user_search", query.strip().lower())
    return await _cached(
        ctx, key, lambda: call.client.search_users(call.caller, query, max_results=50), USERS
    )
