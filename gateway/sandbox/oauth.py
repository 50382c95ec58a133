"""The sandbox's OAuth 2.0 (3LO) authorization server, shaped like Atlassian's.

- ``GET /authorize``: no login page; the user named by ``login_hint`` (email or name) approves
  at once and the browser is redirected to ``redirect_uri?code=…&state=…`` (an unknown or
  deactivated user: ``?error=access_denied``). PKCE (S256) is honoured when a challenge is sent.
- ``POST /oauth/token`` (JSON or form): ``authorization_code`` and ``refresh_token`` grants.
  Refresh tokens rotate: each works once, a spent one answers ``invalid_grant``. Access tokens
  live ``expires_in`` seconds (3600).
- ``GET /oauth/token/accessible-resources`` (Bearer): the one site of this sandbox, with its
  ``id`` (the cloud id) and ``url``.
- ``POST /_sandbox/oauth/expire``: expire every access token now (tests of refresh).

Issued access tokens are accepted as Bearer on the REST API (``gateway.sandbox.auth``). The
client is fixed: ``CLIENT_ID`` / ``CLIENT_SECRET``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.sandbox.model import SandboxUser

if TYPE_CHECKING:
    from gateway.sandbox.store import Store

CLIENT_ID = "jgw-sandbox-client"
CLIENT_SECRET = "jgw-sandbox-secret"  # noqa: S105 (a fixed test credential, documented)
ACCESS_TTL_S = 3600
CODE_TTL_S = 300


@dataclass(slots=True)
class _Code:
    user_id: str
    redirect_uri: str
    challenge: str | None
    scope: str
    expires: float


@dataclass(slots=True)
class OAuthServer:
    """The tokens one sandbox site issued (in memory; a restart forgets them)."""

    codes: dict[str, _Code] = field(default_factory=dict)
    access: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> user, expiry
    refresh: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> user, scope
    spent: set[str] = field(default_factory=set)

    def issue(self, user_id: str, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access[access] = (user_id, time.time() + ACCESS_TTL_S)
        self.refresh[refresh] = (user_id, scope)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ACCESS_TTL_S,
            "scope": scope,
            "token_type": "Bearer",
        }


def json_response(data: Any, status: int = 200) -> Response:
    # Not routes_common's: that module imports sandbox.auth, which imports this one.
    return JSONResponse(data, status_code=status)


_SERVERS: weakref.WeakKeyDictionary[Store, OAuthServer] = weakref.WeakKeyDictionary()


def server_for(store: Store) -> OAuthServer:
    found = _SERVERS.get(store)
    if found is None:
        found = _SERVERS[store] = OAuthServer()
    return found


def cloud_id(store: Store) -> str:
    """The sandbox site's stable cloud id."""
    digest = hashlib.sha256(f"jira-sandbox-cloud:{store.site}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def bearer_user(store: Store, token: str) -> SandboxUser | None:
    """The user of a live OAuth access token, or None."""
    entry = server_for(store).access.get(token)
    if entry is None or entry[1] <= time.time():
        return None
    return store.user(entry[0])


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def authorize(request: Request) -> Response:
    params = request.query_params
    redirect_uri = params.get("redirect_uri", "")
    if params.get("client_id") != CLIENT_ID or not redirect_uri:
        return json_response({"error": "invalid_request"}, 400)
    store = _store(request)
    user = store.user_by_term(params.get("login_hint", ""))
    state = params.get("state", "")
    if user is None or not user.active:
        query = urlencode({"error": "access_denied", "state": state})
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)
    challenge = params.get("code_challenge")
    if challenge and params.get("code_challenge_method", "plain") != "S256":
        return json_response({"error": "invalid_request"}, 400)
    code = secrets.token_urlsafe(16)
    server_for(store).codes[code] = _Code(
        user.id, redirect_uri, challenge, params.get("scope", ""), time.time() + CODE_TTL_S
    )
    return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", 302)


def _grant_error(error: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": error.replace("_", " ")}, status)


async def token(request: Request) -> Response:
    if request.headers.get("content-type", "").startswith("application/json"):
        body: dict[str, Any] = await request.json()
    else:
        body = dict(await request.form())
    if body.get("client_id") != CLIENT_ID or not hmac.compare_digest(
        str(body.get("client_secret", "")), CLIENT_SECRET
    ):
        return _grant_error("invalid_client", 401)
    server = server_for(_store(request))
    grant = body.get("grant_type")
    if grant == "authorization_code":
        code = server.codes.pop(str(body.get("code", "")), None)
        if code is None or code.expires < time.time():
            return _grant_error("invalid_grant", 403)
        if code.redirect_uri != body.get("redirect_uri"):
            return _grant_error("invalid_grant", 403)
        if code.challenge is not None and not _pkce_ok(code.challenge, body.get("code_verifier")):
            return _grant_error("invalid_grant", 403)
        return json_response(server.issue(code.user_id, code.scope))
    if grant == "refresh_token":
        presented = str(body.get("refresh_token", ""))
        entry = server.refresh.pop(presented, None)
        if entry is None:  # unknown, or spent already (rotation)
            return _grant_error("invalid_grant", 403)
        server.spent.add(presented)
        return json_response(server.issue(*entry))
    return _grant_error("unsupported_grant_type")


def _pkce_ok(challenge: str, verifier: object) -> bool:
    if not isinstance(verifier, str):
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return hmac.compare_digest(expected, challenge)


async def accessible_resources(request: Request) -> Response:
    store = _store(request)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or bearer_user(store, value.strip()) is None:
        return json_response({"code": 401, "message": "Unauthorized"}, 401)
    base = str(request.base_url).rstrip("/")
    resource = {
        "id": cloud_id(store),
        "url": base,
        "name": f"sandbox-{store.site}",
        "scopes": ["read:jira-work", "read:jira-user", "write:jira-work"],
        "avatarUrl": f"{base}/images/site.png",
    }
    return json_response([resource])


async def expire_all(request: Request) -> Response:
    server = server_for(_store(request))
    server.access = {token: (user, 0.0) for token, (user, _) in server.access.items()}
    return json_response({"expired": len(server.access)})


def routes() -> list[Route]:
    return [
        Route("/authorize", authorize, methods=["GET"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/token/accessible-resources", accessible_resources, methods=["GET"]),
        Route("/_sandbox/oauth/expire", expire_all, methods=["POST"]),
    ]


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "OAuthServer", "bearer_user", "cloud_id", "routes"]
