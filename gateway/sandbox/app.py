"""The sandbox JIRA application factory (DESIGN §6).

`create_sandbox_app(flavor=, issues=, seed=, site=)` builds a Starlette app over one `Store`:
the REST routes of the flavor, the webhook registration routes, the `/_sandbox/...` control
API, wrapped by the control middleware (call counting, faults, rate limit).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from gateway.sandbox import (
    control,
    oauth,
    routes_issue,
    routes_jql,
    routes_meta,
    routes_search,
    webhooks,
)
from gateway.sandbox.store import Store


def create_sandbox_app(
    *, flavor: str = "cloud", issues: int = 300, seed: int = 1, site: str = "a"
) -> Starlette:
    """A sandbox JIRA of `flavor` ("cloud" | "server") for `site` ("a" | "b")."""
    store = Store(flavor=flavor, site=site, seed=seed, issues=issues)
    cloud = flavor == "cloud"
    apis = ("2", "3") if cloud else ("2",)
    routes: list[BaseRoute] = [
        *control.routes(),
        *routes_meta.routes(apis, cloud),
        *routes_search.routes(cloud),
        *routes_jql.routes(apis),
        *routes_issue.routes(apis, cloud),
        *webhooks.routes(store),
        *oauth.routes(),  # OAuth 2.0 (3LO) authorization server (issue 4)
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        dispatcher = webhooks.WebhookDispatcher(store)
        try:
            yield
        finally:
            await dispatcher.aclose()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(control.SandboxControlMiddleware)],
        lifespan=lifespan,
    )
    app.state.store = store
    return app
