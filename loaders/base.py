"""What every loader shares: the process-wide ``CachedFetch`` and the operation's bookkeeping.

``CachedFetch`` keeps single-flight and refresh registries that must be shared by every
operation of the process, so there is one per ``Cache`` (kept beside it, not in the per-operation
context). Loaders record every issue they return in ``Context.touched_issues``: the response
cache tags a stored response with them, so a change to any of those issues drops it.
"""

from __future__ import annotations

from collections.abc import Iterable
from weakref import WeakKeyDictionary

from gateway.cache import Cache
from gateway.cache_fetch import CachedFetch
from gateway.context import Context

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
