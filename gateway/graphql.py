"""Builds the ``strawberry.Schema`` from the root types and serves it over ASGI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache

from gateway.auth.errors import AuthError
from gateway.context import Context
from gateway.graphql_auth import authenticate, unauthenticated_response
from gateway.graphql_errors import CacheStatusExtension, ErrorPolicy
from gateway.state import AppState
from resolvers.query import Query

# Parsing and validating `{ __typename }` costs 1.7 ms of CPU uncached and 0.4 ms cached (issue 2);
# a UI repeats the same few documents, so a few hundred entries cover them.
DOCUMENT_CACHE_SIZE = 512

GRAPHIQL_DIR = Path(__file__).parent / "static" / "graphiql"
# GraphiQL is served from our own vendored copy, so the page can forbid every foreign origin.
# GraphiQL sets inline styles and embeds its fonts as data: URLs.
GRAPHIQL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        extensions=[
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            ErrorPolicy,
            CacheStatusExtension,
        ],
    )


class GatewayGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context; GraphiQL only in the dev profile."""

    def __init__(self, schema: strawberry.Schema, *, graphiql: bool) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=False,
        )
        self._graphiql_page = (
            (GRAPHIQL_DIR / "index.html").read_text(encoding="utf-8") if graphiql else ""
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._graphiql_page, headers={"content-security-policy": GRAPHIQL_CSP})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        try:
            scope.setdefault("state", {})["principal"] = await authenticate(request)
        except AuthError as exc:
            await unauthenticated_response(exc)(scope, receive, send)
            return
        try:
            response = await self.run(request)
        except HTTPException as exc:
            # A malformed request (bad JSON, no query, wrong method) is still answered in
            # GraphQL's error shape, so clients parse one format; never a 500.
            response = JSONResponse(
                {
                    "data": None,
                    "errors": [{"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}],
                },
                status_code=exc.status_code,
            )
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state: AppState = request.app.state.gateway
        principal = request.scope.get("state", {}).get("principal")
        return Context(request=request, state=state, principal=principal)

    async def get_root_value(self, request: Request | WebSocket) -> Any:
        return None
