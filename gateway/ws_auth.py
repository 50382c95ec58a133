"""WebSocket sign-in: the access token travels in the ``connection_init`` payload.

Browsers cannot set headers on a WebSocket, so the token comes in the payload, as
``{"Authorization": "Bearer <accessToken>"}`` or ``{"accessToken": "<accessToken>"}`` (an
``Authorization`` header on the upgrade request is accepted too, for other clients).

- no token, or a bad, expired or revoked one: the socket closes with 4401 (Unauthorized);
- a valid token without the ``read`` scope (subscriptions are reads): 4403 (Forbidden);
- otherwise the connection's context carries the principal for every operation on it, and
  ``gateway.subscriptions_ws`` closes the socket with 4401 when the token expires.

Strawberry only knows how to reject with 4403 (``ConnectionRejectionError``);
:class:`WebSocketRejected` remembers the code we want in the connection's scope and
:func:`rejection_close` hands it to the adapter's ``close``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError

from gateway.auth.errors import AuthError, TokenInvalid
from gateway.auth.scopes import Scope
from gateway.auth.tokens import AccessClaims
from gateway.graphql_auth import ensure_session_active, verify_token
from gateway.state import AppState

CLOSE_UNAUTHORIZED: Final = 4401
CLOSE_FORBIDDEN: Final = 4403
WS_SCOPE: Final = Scope.READ
_SCOPE_KEY: Final = "jgw.ws_rejection"


class WebSocketRejected(ConnectionRejectionError):
    """Refuse a ``connection_init``; the socket closes with ``close_code``."""

    def __init__(self, close_code: int, reason: str, message: str) -> None:
        super().__init__({"message": message, "code": close_code})
        self.close_code = close_code
        self.reason = reason


def token_from_params(params: Mapping[str, Any] | None, connection: HTTPConnection) -> str | None:
    """The bearer token of a ``connection_init`` payload (or the upgrade request's header)."""
    for key, value in (params or {}).items():
        if not isinstance(value, str):
            continue
        if key.lower() == "accesstoken" and value.strip():
            return value.strip()
        if key.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else ""
    header = connection.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""
    return None


async def authenticate_connection(
    state: AppState, connection: HTTPConnection, params: Mapping[str, Any] | None
) -> AccessClaims:
    """The claims for a WebSocket connection; raises :class:`WebSocketRejected`."""
    try:
        token = token_from_params(params, connection)
        if not token:
            raise TokenInvalid(
                "Send your access token in connection_init: "
                '{"Authorization": "Bearer <accessToken>"}.'
            )
        claims = verify_token(state, token)  # the process memo, as for HTTP requests
        await ensure_session_active(state, claims.session_id)
    except AuthError as exc:
        raise _reject(connection, CLOSE_UNAUTHORIZED, "Unauthorized", exc.message) from None
    if WS_SCOPE not in claims.scopes:
        raise _reject(
            connection,
            CLOSE_FORBIDDEN,
            "Forbidden",
            f"Subscriptions need the '{WS_SCOPE.value}' scope, which your token lacks.",
        )
    return claims


def _reject(connection: HTTPConnection, code: int, reason: str, message: str) -> WebSocketRejected:
    connection.scope[_SCOPE_KEY] = (code, reason)
    return WebSocketRejected(code, reason, message)


def rejection_close(scope: Mapping[str, Any], code: int, reason: str) -> tuple[int, str]:
    """The close code and reason to send: ours after a rejection, else the ones given."""
    rejected = scope.get(_SCOPE_KEY)
    if isinstance(rejected, tuple):
        return rejected[0], rejected[1]
    return code, reason


__all__ = [
    "CLOSE_FORBIDDEN",
    "CLOSE_UNAUTHORIZED",
    "WebSocketRejected",
    "authenticate_connection",
    "rejection_close",
    "token_from_params",
]
