"""Gateway tokens through the HTTP endpoint: JWT attacks, refresh rotation and reuse, logout,
sessions, minted tokens, and the typed errors of failed logins."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from gateway import graphql_auth
from tests.auth.auth_api_support import (
    REFRESH,
    VIEWER,
    Gateway,
    cloud_login,
    error_code,
    running_gateway,
)
from tests.support import RunningServer, serve_in_thread

ME = "{ viewer { user { displayName } } }"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(tmp_path) as gw:
        yield gw


@pytest.fixture
def alice(gateway: Gateway, cloud_sandbox: RunningServer) -> Any:
    return gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"))


def _claims(gateway: Gateway, token: str) -> dict[str, Any]:
    secret = gateway.state.auth.config.jwt_secret.get_secret_value()
    return dict(jwt.decode(token, secret, algorithms=["HS256"], audience="jira-gateway"))


def _forge(gateway: Gateway, claims: dict[str, Any], *, key: str | None = None) -> str:
    secret = key or gateway.state.auth.config.jwt_secret.get_secret_value()
    return jwt.encode(claims, secret, algorithm="HS256")


def _assert_401(gateway: Gateway, token: str, code: str = "TOKEN_INVALID") -> None:
    response = gateway.post(ME, token=token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code


def test_a_valid_token_reads_the_viewer(gateway: Gateway, alice: Any) -> None:
    body = gateway.gql(ME, token=alice["accessToken"])
    assert body["data"]["viewer"]["user"]["displayName"] == "Alice Anderson"


def test_alg_none_is_refused(gateway: Gateway, alice: Any) -> None:
    claims = _claims(gateway, alice["accessToken"])
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    _assert_401(gateway, unsigned)
    # ... also with a signature part glued on.
    _assert_401(gateway, unsigned + "c2ln")


def test_a_token_signed_with_another_key_is_refused(gateway: Gateway, alice: Any) -> None:
    claims = _claims(gateway, alice["accessToken"])
    _assert_401(gateway, _forge(gateway, claims, key="another-secret-" + "x" * 32))


@pytest.mark.parametrize(
    ("claim", "value"),
    [("aud", "someone-else"), ("iss", "evil-issuer"), ("typ", "oauth_state"), ("sub", 5)],
)
def test_wrong_registered_claims_are_refused(
    gateway: Gateway, alice: Any, claim: str, value: Any
) -> None:
    claims = {**_claims(gateway, alice["accessToken"]), claim: value}
    _assert_401(gateway, _forge(gateway, claims))


@pytest.mark.parametrize("missing", ["exp", "jti", "typ", "sid", "scp"])
def test_missing_claims_are_refused(gateway: Gateway, alice: Any, missing: str) -> None:
    claims = _claims(gateway, alice["accessToken"])
    del claims[missing]
    _assert_401(gateway, _forge(gateway, claims))


def test_an_expired_token_is_refused(gateway: Gateway, alice: Any) -> None:
    now = int(time.time())
    claims = {**_claims(gateway, alice["accessToken"]), "iat": now - 3600, "exp": now - 60}
    _assert_401(gateway, _forge(gateway, claims), code="TOKEN_EXPIRED")


def test_a_token_of_an_unknown_session_is_refused(gateway: Gateway, alice: Any) -> None:
    claims = {**_claims(gateway, alice["accessToken"]), "sid": str(uuid.uuid4())}
    _assert_401(gateway, _forge(gateway, claims), code="SESSION_REVOKED")


def test_a_malformed_authorization_header_is_refused(gateway: Gateway) -> None:
    response = gateway.post(ME, headers={"authorization": "Basic YWxpY2U6eA=="})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_INVALID"


def test_refresh_rotates_and_reuse_revokes_the_family(
    gateway: Gateway, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reuse detection happens inside the session service, which cannot tell this process's
    # memo of active sessions; the memo's 5 s is turned off to see the revocation at once.
    monkeypatch.setattr(graphql_auth, "SESSION_CHECK_TTL_S", 0.0)
    first = gateway.gql(REFRESH, {"token": alice["refreshToken"]})["data"]["refreshToken"]
    assert first["sessionId"] == alice["sessionId"]
    assert first["refreshToken"] != alice["refreshToken"]
    assert first["user"]["id"] == alice["user"]["id"]
    assert gateway.gql(ME, token=first["accessToken"])["data"]["viewer"]

    # The spent token comes back (a stolen copy): the whole session ends.
    reused = gateway.gql(REFRESH, {"token": alice["refreshToken"]})
    assert error_code(reused) == "REFRESH_TOKEN_REUSED"
    assert reused["data"] is None
    # The successor, never used, is dead too, and so are the session's access tokens.
    assert error_code(gateway.gql(REFRESH, {"token": first["refreshToken"]})) == "SESSION_REVOKED"
    _assert_401(gateway, first["accessToken"], code="SESSION_REVOKED")
    _assert_401(gateway, alice["accessToken"], code="SESSION_REVOKED")


def test_unknown_refresh_token(gateway: Gateway) -> None:
    body = gateway.gql(REFRESH, {"token": "not-a-token"})
    assert error_code(body) == "REFRESH_TOKEN_INVALID"


def test_logout_ends_the_session_at_once(gateway: Gateway, alice: Any) -> None:
    assert gateway.gql(ME, token=alice["accessToken"])["data"]  # memoized as active
    body = gateway.gql("mutation { logout }", token=alice["accessToken"])
    assert body == {"data": {"logout": True}}
    _assert_401(gateway, alice["accessToken"], code="SESSION_REVOKED")
    assert error_code(gateway.gql(REFRESH, {"token": alice["refreshToken"]})) == "SESSION_REVOKED"


def test_logout_needs_a_token(gateway: Gateway) -> None:
    assert error_code(gateway.gql("mutation { logout }")) == "UNAUTHENTICATED"


def test_sessions_list_and_revoke(
    gateway: Gateway, cloud_sandbox: RunningServer, alice: Any
) -> None:
    phone = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"), label="phone")
    bob = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("bob"))
    viewer = gateway.gql(VIEWER, token=alice["accessToken"])["data"]["viewer"]
    sessions = {s["id"]: s for s in viewer["sessions"]}
    assert set(sessions) == {alice["sessionId"], phone["sessionId"]}  # not bob's
    assert sessions[alice["sessionId"]]["current"] is True
    assert sessions[phone["sessionId"]]["label"] == "phone"

    revoke = "mutation($id: ID!) { revokeSession(id: $id) }"
    # Someone else's session reads as unknown.
    other = gateway.gql(revoke, {"id": bob["sessionId"]}, token=alice["accessToken"])
    assert other == {"data": {"revokeSession": False}}
    assert gateway.gql(ME, token=bob["accessToken"])["data"]
    mine = gateway.gql(revoke, {"id": phone["sessionId"]}, token=alice["accessToken"])
    assert mine == {"data": {"revokeSession": True}}
    _assert_401(gateway, phone["accessToken"], code="SESSION_REVOKED")
    assert gateway.gql(ME, token=alice["accessToken"])["data"]


MINT = """
mutation($s: [Scope!]!, $ttl: Int) { mintToken(scopes: $s, ttlSeconds: $ttl) { token scopes } }
"""


def test_mint_token_narrows_never_widens(gateway: Gateway, alice: Any) -> None:
    minted = gateway.gql(MINT, {"s": ["READ"], "ttl": 120}, token=alice["accessToken"])
    token = minted["data"]["mintToken"]
    assert token["scopes"] == ["READ"]
    claims = _claims(gateway, token["token"])
    assert claims["scp"] == ["read"]
    assert claims["exp"] - claims["iat"] == 120
    viewer = gateway.gql(VIEWER, token=token["token"])["data"]["viewer"]
    assert viewer["scopes"] == ["READ"]
    # A READ token cannot mint a WRITE token, nor can alice mint ADMIN.
    wider = gateway.gql(MINT, {"s": ["WRITE"]}, token=token["token"])
    assert error_code(wider) == "INVALID_SCOPE"
    admin = gateway.gql(MINT, {"s": ["ADMIN"]}, token=alice["accessToken"])
    assert error_code(admin) == "INVALID_SCOPE"
    too_long = gateway.gql(MINT, {"s": ["READ"], "ttl": 3600}, token=alice["accessToken"])
    assert error_code(too_long) == "BAD_USER_INPUT"
    # It dies with the session.
    gateway.gql("mutation { logout }", token=alice["accessToken"])
    _assert_401(gateway, token["token"], code="SESSION_REVOKED")


# --- typed errors of failed logins -----------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_site(gateway: Gateway) -> None:
    body = gateway.login(f"http://127.0.0.1:{_closed_port()}", **cloud_login("alice"))
    assert error_code(body) == "SITE_UNREACHABLE"


@pytest.fixture(scope="module")
def not_jira() -> Iterator[RunningServer]:
    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome to my blog</body></html>")

    async def json_page(request: Any) -> JSONResponse:
        return JSONResponse({"hello": "world"})

    app = Starlette(
        routes=[
            Route("/blog/{path:path}", page),
            Route("/api/{path:path}", json_page),
        ]
    )
    server = serve_in_thread(app)
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/blog", "/api", "/missing"])
def test_a_site_that_is_not_jira(gateway: Gateway, not_jira: RunningServer, path: str) -> None:
    body = gateway.login(not_jira.base_url + path, **cloud_login("alice"))
    assert error_code(body) == "NOT_JIRA"
    assert "JIRA" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://jira.example.com",
        "http://169.254.169.254",
        "https://10.0.0.1",
        "https://user:pw@jira.example.com",
        "https://jira.example.com/?next=x",
    ],
)
def test_refused_site_urls(gateway: Gateway, url: str) -> None:
    body = gateway.login(url, **cloud_login("alice"))
    assert error_code(body) == "SITE_URL_REFUSED"
    assert body["errors"][0]["message"].startswith("This site URL cannot be used")


def test_login_rate_limit_after_ten_failures(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    wrong = {"email": "alice@example.com", "apiToken": "nope"}
    codes = [error_code(gateway.login(cloud_sandbox.base_url, **wrong)) for _ in range(10)]
    assert codes == ["INVALID_CREDENTIALS"] * 10
    limited = gateway.login(cloud_sandbox.base_url, **cloud_login("alice"))  # even the right one
    assert error_code(limited) == "RATE_LIMITED"
    retry_after = limited["errors"][0]["extensions"]["retryAfter"]
    assert 1 <= retry_after <= 60
    # Another account from the same IP is limited too (the IP key counts every failure).
    assert error_code(gateway.login(cloud_sandbox.base_url, **cloud_login("bob"))) == "RATE_LIMITED"
