"""Signing in with OAuth 2.0 (3LO) for Jira Cloud: ``/auth/oauth/start`` and ``/callback``.

``GET /auth/oauth/start?site=<https://x.atlassian.net>[&label=…][&login_hint=…]``
    302 to the authorization URL. ``state`` is a signed purpose token (``typ: oauth_state``,
    10 minutes) holding the site, the label, a nonce and the PKCE verifier sealed by the vault
    (the verifier never travels readable); the nonce is also set as an HttpOnly cookie, so a
    callback only completes in the browser that started it (login CSRF). A valid
    ``Authorization: Bearer`` on the start request connects the site to that gateway user.

``GET /auth/oauth/callback?code=…&state=…``
    Exchanges the code (with the PKCE verifier), finds the site among the token's
    accessible-resources, asks JIRA who the user is, stores the OAuth credential sealed
    (``auth_kind`` "oauth"), opens a session and answers **JSON**: the same fields as the
    ``login`` mutation's ``AuthPayload`` (``accessToken``, ``refreshToken``, ``expiresAt``,
    ``sessionId``, ``user``, ``site``). Failures answer JSON ``{"error": {"code", "message"}}``
    with 400 (401 for a refused state).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.auth.audit import AuditEventType
from gateway.auth.errors import AuthError
from gateway.auth.scopes import DEFAULT_SCOPES
from gateway.db.models import normalize_base_url
from gateway.errors import GatewayError
from gateway.graphql_auth import authenticate
from gateway.login import probe
from gateway.oauth_tokens import OAuthClient, OAuthFailed
from gateway.principals import Connected, NewAccount, connect_account
from gateway.state import AppState

STATE_PURPOSE: Final = "oauth_state"
STATE_TTL: Final = timedelta(minutes=10)
NONCE_COOKIE: Final = "jgw_oauth_nonce"
COOKIE_PATH: Final = "/auth/oauth"


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.gateway
    return state


def _error(code: str, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _client(state: AppState) -> OAuthClient | None:
    return state.oauth.client if state.oauth is not None else None


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 asks: 64 random url-safe characters."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def start(request: Request) -> Response:
    state = _state(request)
    client = _client(state)
    if client is None:
        return _error("OAUTH_DISABLED", "OAuth sign-in is not configured on this gateway.", 404)
    site = request.query_params.get("site", "").strip()
    try:
        site_url = (await state.auth.guard.validate_site_url(site)).url if site else ""
        principal = await authenticate(request)
    except AuthError as exc:
        return _error(exc.code, exc.message, exc.status)
    verifier, challenge = pkce_pair()
    nonce = secrets.token_urlsafe(16)
    signed_state = state.auth.tokens.issue_purpose_token(
        STATE_PURPOSE,
        principal.principal_id if principal else "anonymous",
        ttl=STATE_TTL,
        extra={
            "site": site_url,
            "label": request.query_params.get("label", "")[:100],
            "nonce": nonce,
            "pkce": state.auth.vault.seal({"verifier": verifier}, bound_to=f"oauth:{nonce}"),
        },
    )
    params = {
        "audience": "api.atlassian.com",
        "client_id": client.config.client_id,
        "scope": client.config.scopes,
        "redirect_uri": client.config.callback_url,
        "state": signed_state,
        "response_type": "code",
        "prompt": "consent",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    hint = request.query_params.get("login_hint")
    if hint:
        params["login_hint"] = hint
    response = RedirectResponse(f"{client.config.authorize_url}?{urlencode(params)}", 302)
    response.set_cookie(
        NONCE_COOKIE,
        nonce,
        max_age=int(STATE_TTL.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


async def callback(request: Request) -> Response:
    state = _state(request)
    client = _client(state)
    if client is None:
        return _error("OAUTH_DISABLED", "OAuth sign-in is not configured on this gateway.", 404)
    params = request.query_params
    try:
        claims = state.auth.tokens.verify_purpose_token(params.get("state", ""), STATE_PURPOSE)
    except AuthError:
        return _error("OAUTH_STATE_INVALID", "The sign-in link expired or was altered.", 401)
    nonce = str(claims.get("nonce", ""))
    cookie = request.cookies.get(NONCE_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce.encode(), cookie.encode()):
        return _error(
            "OAUTH_STATE_INVALID", "Finish the sign-in in the browser that started it.", 401
        )
    if params.get("error") or not params.get("code"):
        return _error("OAUTH_DENIED", "The sign-in was cancelled or refused at Atlassian.")
    try:
        connected = await _complete(state, client, claims, params["code"], request)
    except (GatewayError, AuthError) as exc:
        return _error(exc.code, exc.message)
    response = JSONResponse(_payload(connected))
    response.delete_cookie(NONCE_COOKIE, path=COOKIE_PATH)
    return response


async def _complete(
    state: AppState, client: OAuthClient, claims: dict[str, Any], code: str, request: Request
) -> Connected:
    sealed = str(claims.get("pkce", ""))
    verifier = state.auth.vault.open(sealed, bound_to=f"oauth:{claims['nonce']}")["verifier"]
    credential = await client.exchange_code(code, str(verifier))
    resources = await client.resources(credential.access_token)
    wanted = str(claims.get("site") or "")
    chosen = next((r for r in resources if not wanted or normalize_base_url(r.url) == wanted), None)
    if chosen is None:
        raise OAuthFailed("You did not grant the gateway access to that site.")
    credential = dataclasses.replace(credential, cloud_id=chosen.cloud_id)
    api_base = client.config.api_base(chosen.cloud_id, chosen.url)
    info, user = await probe(state, api_base, credential)
    subject = str(claims.get("sub", "anonymous"))
    return await connect_account(
        state,
        NewAccount(
            base_url=chosen.url,
            site_name=chosen.name or info.server_title or chosen.url,
            flavor=info.flavor.value,
            user=user,
            credential=credential,
            scopes=DEFAULT_SCOPES,
            current_principal_id=None if subject == "anonymous" else subject,
            label=str(claims.get("label") or "") or None,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            audit_event=AuditEventType.OAUTH_CONNECTED,
        ),
    )


def _payload(connected: Connected) -> dict[str, Any]:
    pair, account = connected.pair, connected.account
    return {
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "expiresAt": pair.access_expires_at.isoformat(),
        "refreshExpiresAt": pair.refresh_expires_at.isoformat(),
        "sessionId": pair.session_id,
        "scopes": sorted(scope.value.upper() for scope in pair.scopes),
        "user": {
            "id": pair.principal_id,
            "accountId": account.jira_account_id,
            "displayName": account.display_name,
            "email": account.email,
        },
        "site": {
            "id": account.site.id,
            "url": account.site.base_url,
            "name": account.site.name,
            "flavor": (account.site.flavor or "").upper() or None,
            "isDefault": account.is_default,
        },
    }


def routes() -> list[Route]:
    return [
        Route("/auth/oauth/start", start, methods=["GET"]),
        Route("/auth/oauth/callback", callback, methods=["GET"]),
    ]


__all__ = ["STATE_PURPOSE", "callback", "pkce_pair", "routes", "start"]
