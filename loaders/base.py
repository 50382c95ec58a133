"""What every loader shares: the process-wide ``CachedFetch`` and the operation's bookkeeping.

``CachedFetch`` keeps single-flight and refresh registries that must be shared by every
operation of the process, so there is one per ``Cache`` (kept beside it, not in the per-operation
context). Loaders record every issue they return in ``Context.touched_issues``: the response
cache tags a stored response with them, so a change to any of those issues drops it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from gateway.cache import Cache
from gateway.cache_fetch import CachedFetch
from gateway.context import Context

R = TypeVar("R")
G = TypeVar("G", bound=Hashable)

_FETCHERS: WeakKeyDictionary[Cache, CachedFetch] = WeakKeyDictionary()


def fetcher(cache: Cache) -> CachedFetch:
    """The process's read-through helper over ``cache``."""
    found = _FETCHERS.get(cache)
    if found is None:
        found = CachedFetch(cache)
        _FETCHERS[cache] = found
    return found


def touch(ctx: Context, site_id: str, issue_keys: Iterable[str]) -> None:
    """Record that the response is built from these issues (for response-cache tags)."""
    ctx.touched_issues.update((site_id, key.upper()) for key in issue_keys)


async def load_grouped(
    requests: Sequence[R],
    group_of: Callable[[R], G],
    load_group: Callable[[G, list[R]], Awaitable[Sequence[Any]]],
) -> list[Any]:
    """A batch's values in request order: ``load_group`` once per group (e.g. per site),
    groups concurrently. A group that fails puts its error in the place of each of its
    requests, so the DataLoader fails those keys only, not their neighbours."""
    groups: dict[G, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(group_of(request), []).append(index)
    results: list[Any] = [None] * len(requests)

    async def run(group: G, indexes: list[int]) -> None:
        try:
            values = list(await load_group(group, [requests[i] for i in indexes]))
        except Exception as exc:  # noqa: BLE001 - the error stands in for each key
            values = [exc] * len(indexes)
        for i, value in zip(indexes, values, strict=True):
            results[i] = value

    await asyncio.gather(*(run(group, indexes) for group, indexes in groups.items()))
    return results
