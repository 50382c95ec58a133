"""Wiring of the response cache (``gateway.response_cache``) into the ``/graphql`` endpoint.

Before anything is parsed: ``lookup`` digests the raw POST body and asks the cache under the
caller's principal AND default site; a hit is answered at once (200 with the stored bytes, or
304 when ``If-None-Match`` carries its ETag). After execution, ``store`` keeps the encoded body
when the operation was a query, had no errors, was built from no stale entry, and touched no
site but the one in its key; it is tagged with every issue the loaders returned, so changing
any of them (webhook -> ``Cache.invalidate_issue``) drops it for every principal.

The default site is remembered per principal for ``DEFAULT_SITE_TTL_S`` seconds (a database
query per request would cost more than the whole cache hit); a response is stored only when the
operation used exactly that site, so a stale memo can at worst cause a miss, never a wrong hit
for a site the operation did not use... except during those seconds after a default-site change,
when an operation without a ``site`` argument may still be answered for the previous default.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.auth.tokens import AccessClaims
from gateway.cache import issue_tag
from gateway.db.models import Principal
from gateway.response_cache import CacheAnswer, accepts_gzip, etag_matches, response_headers
from gateway.state import AppState

DEFAULT_SITE_TTL_S = 5.0
_SCOPE_KEY = "jgw.response_cacheable"
_default_sites: dict[str, tuple[str | None, float]] = {}


@dataclass(frozen=True, slots=True)
class Lookup:
    site_id: str
    principal_id: str
    digest: str | None
    answer: CacheAnswer | None


async def default_site(state: AppState, principal_id: str) -> str | None:
    now = time.monotonic()
    memo = _default_sites.get(principal_id)
    if memo is not None and now - memo[1] < DEFAULT_SITE_TTL_S:
        return memo[0]
    async with state.sessionmaker() as db:
        site_id = await db.scalar(
            select(Principal.default_site_id).where(Principal.id == principal_id)
        )
    if len(_default_sites) > 100_000:
        _default_sites.clear()
    _default_sites[principal_id] = (site_id, now)
    return site_id


def forget_default_site(principal_id: str) -> None:
    """Call after changing a principal's default site in this process."""
    _default_sites.pop(principal_id, None)


async def lookup(request: Request, state: AppState, principal: AccessClaims) -> Lookup | None:
    """The cached answer for this POST, or what ``store`` needs later; None: not cacheable."""
    site_id = await default_site(state, principal.principal_id)
    if site_id is None:
        return None
    body = await request.body()
    digest, answer = await state.response_cache.answer(
        body,
        site_id,
        principal.principal_id,
        request.headers.get("if-none-match"),
        accept_gzip=accepts_gzip(request.headers.get("accept-encoding")),
    )
    return Lookup(site_id, principal.principal_id, digest, answer)


async def store(request: Request, state: AppState, found: Lookup, response: Response) -> Response:
    """Keep an executed response if it qualifies; add its ETag (or answer 304)."""
    verdict: dict[str, Any] | None = request.scope.get("state", {}).get(_SCOPE_KEY)
    if found.digest is None or verdict is None or response.status_code != 200:
        return response
    context = verdict["context"]
    sites = context.sites_used
    if not verdict["cacheable"] or sites - {found.site_id}:
        return response
    tags = [issue_tag(site, key) for site, key in context.touched_issues]
    cached, _stored = await state.response_cache.store(
        found.site_id,
        found.principal_id,
        found.digest,
        bytes(response.body),
        issue_tags=tags,
        operation_type="query",
        has_errors=False,
        outcome=context.cache_outcome,
    )
    headers = response_headers(cached.etag)
    if etag_matches(request.headers.get("if-none-match"), cached.etag):
        return Response(status_code=304, headers={k.decode(): v.decode() for k, v in headers})
    for name, value in headers:
        response.headers[name.decode()] = value.decode()
    if cached.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding")):
        # Send the bytes just compressed for the cache; the gzip middleware leaves an
        # already-encoded response alone, so the body is not compressed twice.
        response.body = cached.gzipped
        response.headers["content-encoding"] = "gzip"
        response.headers["content-length"] = str(len(cached.gzipped))
        response.headers.append("vary", "accept-encoding")
    return response


class ResponseCacheMarker(SchemaExtension):
    """Tells ``store`` whether the operation may be cached: a query without errors."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context.context
        request = getattr(context, "request", None)
        if request is None or request.scope.get("type") != "http":
            return
        result = self.execution_context.result
        cacheable = (
            self.execution_context.operation_type is OperationType.QUERY
            and result is not None
            and not getattr(result, "errors", None)
            and getattr(context, "response_cacheable", True)  # viewer opts out (issue 4)
        )
        request.scope.setdefault("state", {})[_SCOPE_KEY] = {
            "cacheable": cacheable,
            "context": context,
        }
