"""The per-operation GraphQL context. Built fresh for every operation (and subscription event)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from starlette.requests import HTTPConnection

from gateway.accounts import SiteCall, load_site_call
from gateway.auth.scopes import Scope
from gateway.auth.tokens import AccessClaims
from gateway.cache import CacheOutcome
from gateway.errors import Forbidden, Unauthenticated
from gateway.state import AppState

L = TypeVar("L")


@dataclass(slots=True)
class Context:
    """What resolvers may use: request, process state, the caller, per-operation loaders.

    Never a shared database session: sibling fields resolve concurrently, so each unit of work
    opens its own (``state.sessionmaker``).
    """

    request: HTTPConnection
    state: AppState
    principal: AccessClaims | None = None
    cache_outcome: CacheOutcome = field(default_factory=CacheOutcome)
    touched_issues: set[tuple[str, str]] = field(default_factory=set)
    """(site id, issue key) of every issue loaded: the response cache's invalidation tags."""
    response_cacheable: bool = True
    """False when a field read data the response cache cannot invalidate (``viewer``: sites,
    sessions and the default site change with mutations, not with issue events)."""
    connection_params: dict[str, Any] | None = None
    """WebSocket only: the ``connection_init`` payload (Strawberry sets it; it holds the token)."""
    _loaders: dict[Callable[..., Any], Any] = field(default_factory=dict)
    _site_calls: dict[str | None, SiteCall] = field(default_factory=dict)

    @property
    def request_id(self) -> str:
        return str(self.request.scope.get("state", {}).get("request_id", "-"))

    def require(self, scope: Scope) -> AccessClaims:
        """The principal, if signed in with ``scope``; else a typed error."""
        if self.principal is None:
            raise Unauthenticated(
                "Sign in first: send 'Authorization: Bearer <accessToken>' (see the login "
                "mutation)."
            )
        if scope not in self.principal.scopes:
            raise Forbidden(f"This needs the '{scope.value}' scope, which your token lacks.")
        return self.principal

    async def site_call(self, site: str | None, scope: Scope = Scope.READ) -> SiteCall:
        """The signed-in user's JIRA identity on ``site`` (default site when None), memoized."""
        principal = self.require(scope)
        call = self._site_calls.get(site)
        if call is None:
            call = await load_site_call(self.state, principal.principal_id, site)
            self._site_calls[site] = call
            self._site_calls[call.site_id] = call
        return call

    @property
    def sites_used(self) -> set[str]:
        """Ids of the JIRA sites this operation called (the response cache keys on them)."""
        return {call.site_id for call in self._site_calls.values()}

    def loader(self, factory: Callable[[Context], L]) -> L:
        """The operation's instance of a loader (built on first use by ``factory(context)``).

        Loaders live exactly as long as one operation (or one subscription event), so a batch
        never serves another operation's stale data.
        """
        instance = self._loaders.get(factory)
        if instance is None:
            instance = factory(self)
            self._loaders[factory] = instance
        return cast(L, instance)
