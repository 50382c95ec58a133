"""Per-connection rules of the GraphQL WebSocket endpoint (both subprotocols).

- ``connection_init`` within ``INIT_TIMEOUT`` (3 s) or the socket closes with 4408
  (``graphql-transport-ws``; Strawberry's own timer);
- at most ``MAX_SUBSCRIPTIONS`` (20) operations per connection (Strawberry answers the 21st with
  an ``error`` message for that operation id, the others keep running);
- client frames at most ``MAX_FRAME_BYTES`` (64 KiB): a larger one closes the socket with 1009.
  uvicorn's ``ws_max_size`` (set by ``jira-gateway serve``) refuses them before they are even
  assembled; this check holds under any server;
- keep-alive: the server pings every ``KEEPALIVE_S`` (``graphql-transport-ws`` ``ping``, legacy
  ``ka``) so proxies keep idle sockets open and dead clients are noticed;
- the socket closes with 4401 when the access token it was opened with expires (tokens live at
  most 15 minutes; the client reconnects with a fresh one and resumes with ``since``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyConnectionInitMessage,
)

from gateway.auth.tokens import AccessClaims

log = logging.getLogger(__name__)

INIT_TIMEOUT = timedelta(seconds=3)
MAX_SUBSCRIPTIONS = 20
MAX_FRAME_BYTES = 64 * 1024
# 15 s: under the 30-60 s idle timeouts of common proxies and load balancers.
KEEPALIVE_S = 15.0
CLOSE_TOO_BIG = 1009
CLOSE_TOKEN_EXPIRED = 4401


class LimitedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's Starlette adapter, closing the socket on a frame above ``MAX_FRAME_BYTES``."""

    max_frame_bytes = MAX_FRAME_BYTES

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text) > self.max_frame_bytes // 4 and (
                    len(text.encode()) > self.max_frame_bytes
                ):
                    await self.ws.close(CLOSE_TOO_BIG, "Message too big")
                    return
                try:
                    yield self.view.decode_json(text)
                except ValueError as exc:  # JSONDecodeError, orjson's too
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:  # a bytes frame: receive_text() finds no "text"
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


async def _close_at(expires_at: datetime, close: Any) -> None:
    delay = (expires_at - datetime.now(UTC)).total_seconds()
    await asyncio.sleep(max(delay, 0.0))
    with contextlib.suppress(Exception):  # already closed by the client
        await close(CLOSE_TOKEN_EXPIRED, "Token expired")


def _expiry(context: Any) -> datetime | None:
    principal = getattr(context, "principal", None)
    return principal.expires_at if isinstance(principal, AccessClaims) else None


class _ConnectionTasks:
    """Background tasks of one connection, cancelled when it ends."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, coroutine: Any) -> None:
        self.tasks.append(asyncio.create_task(coroutine))

    async def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()


class TransportWSHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """``graphql-transport-ws`` with server pings and closing at token expiry."""

    keepalive_s = KEEPALIVE_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extra = _ConnectionTasks()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if not self.connection_acknowledged or self._extra.tasks:
            return
        self._extra.start(self._ping())
        expires_at = _expiry(self.context)
        if expires_at is not None:
            self._extra.start(_close_at(expires_at, self.websocket.close))

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            with contextlib.suppress(Exception):
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        await self._extra.cancel()
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Any, Any]):
    """Legacy ``graphql-ws`` (keep-alive ``ka`` is Strawberry's), closing at token expiry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extra = _ConnectionTasks()

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        expires_at = _expiry(self.context)
        if self.connection_acknowledged and expires_at is not None and not self._extra.tasks:
            self._extra.start(_close_at(expires_at, self.websocket.close))

    async def cleanup(self) -> None:
        await self._extra.cancel()
        await super().cleanup()


__all__ = [
    "INIT_TIMEOUT",
    "KEEPALIVE_S",
    "MAX_FRAME_BYTES",
    "MAX_SUBSCRIPTIONS",
    "LegacyWSHandler",
    "LimitedWebSocketAdapter",
    "TransportWSHandler",
]
