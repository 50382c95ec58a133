"""Builds the ``strawberry.Schema`` from the root types and serves it over ASGI."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, cast

import orjson
import strawberry
from cross_web import HTTPException
from graphql.error import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext
from strawberry.types.unset import UNSET, UnsetType

from gateway.auth.errors import AuthError
from gateway.context import Context
from gateway.graphql_auth import authenticate, unauthenticated_response
from gateway.graphql_errors import CacheStatusExtension, ErrorPolicy
from gateway.graphql_response_cache import ResponseCacheMarker
from gateway.graphql_response_cache import lookup as response_cache_lookup
from gateway.graphql_response_cache import store as response_cache_store
from gateway.response_cache import send_answer
from gateway.state import AppState
from gateway.subscriptions_ws import (
    INIT_TIMEOUT,
    KEEPALIVE_S,
    MAX_SUBSCRIPTIONS,
    LegacyWSHandler,
    LimitedWebSocketAdapter,
    TransportWSHandler,
)
from gateway.validation import Limits, limit_extensions
from gateway.ws_auth import authenticate_connection, rejection_close
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription

# Parsing and validating `{ __typename }` costs 1.7 ms of CPU uncached and 0.4 ms cached (issue 2);
# a UI repeats the same few documents, so a few hundred entries cover them.
DOCUMENT_CACHE_SIZE = 512

log = logging.getLogger("gateway.graphql")

GRAPHIQL_DIR = Path(__file__).parent / "static" / "graphiql"
# GraphiQL is served from our own vendored copy, so the page can forbid every foreign origin.
# GraphiQL sets inline styles and embeds its fonts as data: URLs.
GRAPHIQL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema without its per-error ERROR log lines.

    Strawberry logs every GraphQL error at ERROR level, expected ones included ("No such
    selection."). ``ErrorPolicy`` already logs each unexpected error once, with its traceback and
    request id; expected outcomes and invalid documents are the client's business.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            log.debug("graphql error: %s", error.message)


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The schema; ``limits`` (default: the documented defaults) bound every operation."""
    limits = limits or Limits()
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            ErrorPolicy,
            CacheStatusExtension,
            ResponseCacheMarker,  # response cache (issue 5.6)
            *limit_extensions(limits),  # operation limits (issue 5.7)
        ],
    )


# --- WebSocket auth (issue 4; gateway.ws_auth) -----------------------------------------------
class _AuthWebSocketAdapter(LimitedWebSocketAdapter):
    """Closes a rejected ``connection_init`` with our code (4401/4403), not Strawberry's."""

    async def close(self, code: int, reason: str) -> None:
        code, reason = rejection_close(self.ws.scope, code, reason)
        await super().close(code, reason)


# --- end WebSocket auth ----------------------------------------------------------------------


class GatewayGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context; GraphiQL only in the dev profile.

    WebSocket limits (init timeout, subscriptions per connection, frame size, keep-alive, token
    expiry) are in ``gateway.subscriptions_ws``.
    """

    websocket_adapter_class = _AuthWebSocketAdapter
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self, schema: strawberry.Schema, *, graphiql: bool, deadline_s: float = 10.0
    ) -> None:
        self.deadline_s = deadline_s
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=False,
            keep_alive=True,
            keep_alive_interval=KEEPALIVE_S,
            connection_init_wait_timeout=INIT_TIMEOUT,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
        )
        self._graphiql_page = (
            (GRAPHIQL_DIR / "index.html").read_text(encoding="utf-8") if graphiql else ""
        )

    def encode_json(self, data: object) -> bytes:
        # orjson: ~10x faster than the json module on a 50-issue result (0.5 ms saved a miss).
        return orjson.dumps(data)

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
        # --- response cache (issue 5.6; gateway.graphql_response_cache) ----------------------
        state: AppState = request.app.state.gateway
        principal = scope["state"]["principal"]
        cached = None
        if principal is not None and request.method == "POST":
            cached = await response_cache_lookup(request, state, principal)
            if cached is not None and cached.answer is not None:
                await send_answer(send, cached.answer)  # before parsing or executing anything
                return
        # --- end response cache --------------------------------------------------------------
        try:
            async with asyncio.timeout(self.deadline_s):  # operation deadline (issue 5.7)
                response = await self.run(request)
        except TimeoutError:
            response = JSONResponse(
                {
                    "data": None,
                    "errors": [
                        {
                            "message": f"The operation took longer than {self.deadline_s:g} s "
                            "and was stopped; ask for less (fewer issues or fields).",
                            "extensions": {"code": "TIMEOUT"},
                        }
                    ],
                },
                status_code=200,
            )
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
        if cached is not None:  # response cache (issue 5.6)
            response = await response_cache_store(request, state, cached, response)
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state: AppState = request.app.state.gateway
        principal = request.scope.get("state", {}).get("principal")
        return Context(request=request, state=state, principal=principal)

    async def get_root_value(self, request: Request | WebSocket) -> Any:
        return None

    # --- WebSocket auth (issue 4; gateway.ws_auth) -------------------------------------------
    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Verify the token of ``connection_init``; the connection's context keeps the caller."""
        context.principal = await authenticate_connection(
            context.state, context.request, context.connection_params
        )
        return cast(UnsetType, UNSET)

    # --- end WebSocket auth ------------------------------------------------------------------
