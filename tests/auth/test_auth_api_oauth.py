"""OAuth 2.0 (3LO) end to end against the sandbox's authorization server: start, consent,
callback, stored credential, and exactly one refresh under 50 concurrent requests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from gateway.auth.credentials import OAuthCredential, open_credential, seal_credential
from gateway.db.engine import create_engine
from gateway.db.models import SiteAccount
from gateway.sandbox.oauth import CLIENT_ID, CLIENT_SECRET
from tests.auth.auth_api_support import Gateway, running_gateway
from tests.support import RunningServer

PUBLIC_URL = "http://gateway.example.test"
PROFILE = "{ viewer { jiraUser { displayName } sites { url account { authKind } } } }"


def oauth_settings(sandbox: RunningServer) -> dict[str, Any]:
    return {
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_authorize_url": f"{sandbox.base_url}/authorize",
        "oauth_token_url": f"{sandbox.base_url}/oauth/token",
        "oauth_resources_url": f"{sandbox.base_url}/oauth/token/accessible-resources",
        "oauth_api_url": "{site_url}",  # the sandbox answers OAuth tokens on its own URL
        "public_url": PUBLIC_URL,
    }


@pytest.fixture
def gateway(tmp_path: Path, cloud_sandbox: RunningServer) -> Iterator[Gateway]:
    with running_gateway(tmp_path, **oauth_settings(cloud_sandbox)) as gw:
        yield gw


def oauth_login(
    gateway: Gateway, sandbox: RunningServer, hint: str = "alice@example.com", **extra: str
) -> httpx.Response:
    """Drive the browser's part: start -> authorize (auto-consent) -> callback."""
    with httpx.Client(base_url=gateway.server.base_url, timeout=30) as browser:
        start = browser.get(
            "/auth/oauth/start", params={"site": sandbox.base_url, "login_hint": hint, **extra}
        )
        assert start.status_code == 302, start.text
        authorize_url = start.headers["location"]
        query = parse_qs(urlsplit(authorize_url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["redirect_uri"] == [f"{PUBLIC_URL}/auth/oauth/callback"]
        assert "offline_access" in query["scope"][0]
        consent = httpx.get(authorize_url, timeout=30)
        assert consent.status_code == 302
        back = urlsplit(consent.headers["location"])
        # The public URL is a name only the test knows: call the gateway itself.
        return browser.get(f"{back.path}?{back.query}")


async def _run_db(url: str, statement: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(statement)
            return result.all() if result.returns_rows else None
    finally:
        await engine.dispose()


def _account(gateway: Gateway) -> tuple[str, str]:
    query = select(SiteAccount.id, SiteAccount.credential_ciphertext).where(
        SiteAccount.auth_kind == "oauth"
    )
    (row,) = asyncio.run(_run_db(gateway.database_url, query))
    return str(row[0]), str(row[1])


def _store_credential(gateway: Gateway, account_id: str, credential: OAuthCredential) -> None:
    sealed = seal_credential(gateway.state.auth.vault, credential, bound_to=account_id)
    statement = (
        update(SiteAccount).where(SiteAccount.id == account_id).values(credential_ciphertext=sealed)
    )
    asyncio.run(_run_db(gateway.database_url, statement))


def test_oauth_sign_in_end_to_end(gateway: Gateway, cloud_sandbox: RunningServer) -> None:
    response = oauth_login(gateway, cloud_sandbox, label="oauth-laptop")
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["user"]["displayName"] == "Alice Anderson"
    assert payload["site"]["url"] == cloud_sandbox.base_url
    assert payload["site"]["flavor"] == "CLOUD"
    assert "jgw_oauth_nonce" not in response.cookies  # deleted after use

    body = gateway.gql(PROFILE, token=payload["accessToken"])
    assert "errors" not in body, body
    viewer = body["data"]["viewer"]
    assert viewer["jiraUser"]["displayName"] == "Alice Anderson"
    assert viewer["sites"][0]["account"]["authKind"] == "oauth"

    account_id, sealed = _account(gateway)
    credential = open_credential(gateway.state.auth.vault, sealed, bound_to=account_id)
    assert isinstance(credential, OAuthCredential)
    assert credential.cloud_id
    assert credential.refresh_token
    assert credential.access_token not in sealed  # sealed, not plain


def test_a_callback_without_the_start_cookie_is_refused(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    with httpx.Client(base_url=gateway.server.base_url, timeout=30) as browser:
        start = browser.get(
            "/auth/oauth/start",
            params={"site": cloud_sandbox.base_url, "login_hint": "alice@example.com"},
        )
    consent = httpx.get(start.headers["location"], timeout=30)
    back = urlsplit(consent.headers["location"])
    # Another browser (no nonce cookie) presents the code: login CSRF is refused.
    stranger = httpx.get(f"{gateway.server.base_url}{back.path}?{back.query}", timeout=30)
    assert stranger.status_code == 401
    assert stranger.json()["error"]["code"] == "OAUTH_STATE_INVALID"


def test_a_forged_state_is_refused(gateway: Gateway) -> None:
    response = httpx.get(
        f"{gateway.server.base_url}/auth/oauth/callback",
        params={"code": "x", "state": "eyJhbGciOiJub25lIn0.e30."},
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "OAUTH_STATE_INVALID"


def test_an_unknown_user_is_denied(gateway: Gateway, cloud_sandbox: RunningServer) -> None:
    response = oauth_login(gateway, cloud_sandbox, hint="nobody@example.com")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "OAUTH_DENIED"


def test_oauth_is_off_without_a_client(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as plain:
        response = httpx.get(f"{plain.server.base_url}/auth/oauth/start?site=https://x.test")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "OAUTH_DISABLED"


def _expire(gateway: Gateway, sandbox: RunningServer) -> tuple[str, OAuthCredential]:
    """Expire the stored access token, in the gateway's database AND at the sandbox."""
    account_id, sealed = _account(gateway)
    credential = open_credential(gateway.state.auth.vault, sealed, bound_to=account_id)
    assert isinstance(credential, OAuthCredential)
    expired = OAuthCredential(
        access_token=credential.access_token,
        refresh_token=credential.refresh_token,
        expires_at=datetime.now(UTC) - timedelta(minutes=5),
        cloud_id=credential.cloud_id,
        scopes=credential.scopes,
    )
    _store_credential(gateway, account_id, expired)
    assert httpx.post(f"{sandbox.base_url}/_sandbox/oauth/expire").status_code == 200
    return account_id, credential


async def _concurrent(urls_tokens: list[tuple[str, str]]) -> list[Any]:
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(url, json={"query": PROFILE}, headers={"authorization": f"Bearer {t}"})
                for url, t in urls_tokens
            )
        )
    return [response.json() for response in responses]


def _token_calls(sandbox: RunningServer) -> int:
    calls = httpx.get(f"{sandbox.base_url}/_sandbox/calls").json()["by_endpoint"]
    return int(calls.get("POST /oauth/token", 0))


def test_fifty_concurrent_requests_refresh_once(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    payload = oauth_login(gateway, cloud_sandbox).json()
    account_id, before = _expire(gateway, cloud_sandbox)
    httpx.post(f"{cloud_sandbox.base_url}/_sandbox/calls/reset")

    bodies = asyncio.run(_concurrent([(gateway.url, payload["accessToken"])] * 50))

    assert [b.get("errors") for b in bodies] == [None] * 50
    assert {b["data"]["viewer"]["jiraUser"]["displayName"] for b in bodies} == {"Alice Anderson"}
    assert _token_calls(cloud_sandbox) == 1
    # The rotated refresh token was stored back, sealed; the old one is spent at the sandbox.
    _, sealed = _account(gateway)
    after = open_credential(gateway.state.auth.vault, sealed, bound_to=account_id)
    assert isinstance(after, OAuthCredential)
    assert after.refresh_token != before.refresh_token
    assert after.expires_at > datetime.now(UTC) + timedelta(minutes=30)
    replay = httpx.post(
        f"{cloud_sandbox.base_url}/oauth/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": before.refresh_token,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert replay.status_code == 403


def test_services_mode_two_processes_refresh_once(
    tmp_path: Path,
    cloud_sandbox: RunningServer,
    fresh_pg_database: str,
    redis_url: str,
) -> None:
    """Two gateway processes on one PostgreSQL and Redis: the Redis lock makes it one refresh.

    (Two apps in one Python process, each with its own pools, locks and event loop thread; the
    same var_dir gives them the same development secrets, as a shared JGW_* config would.)
    """
    settings = {**oauth_settings(cloud_sandbox), "redis_url": redis_url}
    with ExitStack() as stack:
        first = stack.enter_context(
            running_gateway(tmp_path, database_url=fresh_pg_database, **settings)
        )
        second = stack.enter_context(
            running_gateway(tmp_path, database_url=fresh_pg_database, **settings)
        )
        payload = oauth_login(first, cloud_sandbox).json()
        _expire(first, cloud_sandbox)
        httpx.post(f"{cloud_sandbox.base_url}/_sandbox/calls/reset")
        targets = [(first.url, payload["accessToken"]), (second.url, payload["accessToken"])] * 25
        bodies = asyncio.run(_concurrent(targets))
        assert [b.get("errors") for b in bodies] == [None] * 50
        assert _token_calls(cloud_sandbox) == 1
