"""Who is calling: the ``Authorization: Bearer`` access token, verified before execution.

No header: an anonymous operation (fields that need a user answer ``UNAUTHENTICATED``).
A header with a bad, expired or revoked token: HTTP 401 before any GraphQL work, in GraphQL's
error shape, with ``WWW-Authenticate`` as RFC 6750 asks.
"""

from __future__ import annotations

import time

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from gateway.auth.errors import AuthError, SessionRevoked, TokenInvalid
from gateway.auth.tokens import AccessClaims
from gateway.state import AppState

# A revoked session stops working within this many seconds on every process; checking the
# database on every request would cost a query per operation.
SESSION_CHECK_TTL_S = 5.0
_active_sessions: dict[str, float] = {}


async def authenticate(connection: HTTPConnection) -> AccessClaims | None:
    """The verified claims of the request's bearer token, None without one."""
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalid("The Authorization header must be 'Bearer <accessToken>'.")
    state: AppState = connection.app.state.gateway
    claims = verify_token(state, token.strip())
    await ensure_session_active(state, claims.session_id)
    return claims


# Verifying an HS256 token costs ~50 µs of CPU; a UI sends the same token for up to 15 minutes,
# and on a response-cache hit that check would be the largest cost left.
VERIFIED_TOKENS_MAX = 10_000


def verify_token(state: AppState, token: str) -> AccessClaims:
    """Verified claims, from the process memo while the token has not expired."""
    memo = state.verified_tokens
    claims = memo.get(token)
    if claims is not None and claims.expires_at.timestamp() > time.time():
        return claims
    claims = state.auth.tokens.verify_access_token(token)  # raises TokenExpired / TokenInvalid
    if len(memo) >= VERIFIED_TOKENS_MAX:
        memo.clear()
    memo[token] = claims
    return claims


async def ensure_session_active(state: AppState, session_id: str) -> None:
    now = time.monotonic()
    checked_at = _active_sessions.get(session_id)
    if checked_at is not None and now - checked_at < SESSION_CHECK_TTL_S:
        return
    if not await state.auth.sessions.is_active(session_id):
        _active_sessions.pop(session_id, None)
        raise SessionRevoked
    if len(_active_sessions) > 100_000:
        _active_sessions.clear()
    _active_sessions[session_id] = now


def forget_session(session_id: str) -> None:
    """Drop the memo after a logout or revocation in this process."""
    _active_sessions.pop(session_id, None)


def unauthenticated_response(exc: AuthError) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
        status_code=401,
        headers={"www-authenticate": 'Bearer error="invalid_token"'},
    )
