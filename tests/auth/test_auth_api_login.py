"""``login`` and ``viewer`` through the GraphQL endpoint against the sandbox JIRA."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from gateway import app as gateway_app
from gateway.db.models import AuditEvent, Principal, RefreshToken, Site, SiteAccount
from tests.auth.auth_api_support import (
    VIEWER,
    Gateway,
    cloud_login,
    error_code,
    running_gateway,
)
from tests.support import RunningServer, SandboxFactory


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(tmp_path) as gw:
        yield gw


def _count(gateway: Gateway, model: type) -> int:
    engine = create_engine(gateway.database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_cloud_login_returns_tokens_user_and_site(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    payload = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"), label="laptop")
    assert payload["accessToken"].count(".") == 2  # a JWT
    assert len(payload["refreshToken"]) >= 40
    assert sorted(payload["scopes"]) == ["EXPORT", "READ", "WRITE"]
    assert payload["user"]["displayName"] == "Alice Anderson"
    assert payload["user"]["email"] == "alice@example.com"
    site = payload["site"]
    assert site["url"] == cloud_sandbox.base_url
    assert site["flavor"] == "CLOUD"
    assert site["isDefault"] is True
    assert site["account"]["authKind"] == "api_token"

    viewer = gateway.gql(VIEWER, token=payload["accessToken"])["data"]["viewer"]
    assert viewer["user"] == payload["user"]
    assert [s["id"] for s in viewer["sites"]] == [site["id"]]
    assert viewer["session"]["label"] == "laptop"
    assert viewer["session"]["current"] is True
    assert sorted(viewer["scopes"]) == ["EXPORT", "READ", "WRITE"]


@pytest.mark.parametrize(
    "credential",
    [
        {"username": "alice", "password": "alice-token"},
        {"personalAccessToken": "alice-pat"},
    ],
    ids=["password", "pat"],
)
def test_server_login_detects_the_flavor(
    gateway: Gateway, server_sandbox: RunningServer, credential: dict[str, str]
) -> None:
    payload = gateway.login_ok(server_sandbox.base_url, **credential)
    assert payload["site"]["flavor"] == "SERVER"
    assert payload["user"]["displayName"] == "Alice Anderson"
    viewer = gateway.gql(VIEWER, token=payload["accessToken"])["data"]["viewer"]
    assert viewer["sites"][0]["account"]["username"] == "alice"


def test_logging_in_twice_reuses_the_principal(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    first = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"))
    second = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"))
    assert first["user"]["id"] == second["user"]["id"]
    assert first["sessionId"] != second["sessionId"]
    assert _count(gateway, Principal) == 1
    assert _count(gateway, SiteAccount) == 1


def test_second_site_joins_the_signed_in_principal(
    gateway: Gateway, sandbox_factory: SandboxFactory
) -> None:
    site_a = sandbox_factory(flavor="cloud", site="a")
    site_b = sandbox_factory(flavor="cloud", site="b")
    alice = gateway.login_ok(site_a.base_url, **cloud_login("alice"))
    # alice also holds carol's credential on site b: with her token, it joins her user.
    joined = gateway.login_ok(site_b.base_url, alice["accessToken"], **cloud_login("carol"))
    assert joined["user"]["id"] == alice["user"]["id"]
    assert joined["site"]["isDefault"] is False

    viewer = gateway.gql(VIEWER, token=joined["accessToken"])["data"]["viewer"]
    urls = [site["url"] for site in viewer["sites"]]
    assert urls == [site_a.base_url, site_b.base_url]  # the default site first
    # Without a token, the account is found again: the same gateway user.
    carol = gateway.login_ok(site_b.base_url, **cloud_login("carol"))
    assert carol["user"]["id"] == alice["user"]["id"]  # the account belongs to alice's user now

    # setDefaultSite moves the default.
    body = gateway.gql(
        "mutation($s: ID!) { setDefaultSite(site: $s) { id isDefault } }",
        {"s": joined["site"]["id"]},
        token=joined["accessToken"],
    )
    assert body["data"]["setDefaultSite"] == {"id": joined["site"]["id"], "isDefault": True}
    viewer = gateway.gql(VIEWER, token=joined["accessToken"])["data"]["viewer"]
    assert viewer["sites"][0]["url"] == site_b.base_url
    assert viewer["user"]["displayName"] == "Carol Clark"


def test_an_account_of_another_principal_is_not_taken_over(
    gateway: Gateway, sandbox_factory: SandboxFactory
) -> None:
    site_a = sandbox_factory(flavor="cloud", site="a")
    bob = gateway.login_ok(site_a.base_url, **cloud_login("bob"))
    alice = gateway.login_ok(site_a.base_url, **cloud_login("alice"))
    assert alice["user"]["id"] != bob["user"]["id"]
    # alice, signed in, logs in with bob's credential: bob's account stays bob's.
    body = gateway.login(site_a.base_url, alice["accessToken"], **cloud_login("bob"))
    assert error_code(body) == "ACCOUNT_IN_USE"


def test_failed_login_stores_nothing_but_an_audit_row(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    body = gateway.login(
        cloud_sandbox.base_url, email="alice@example.com", apiToken="wrong-token-SECRET"
    )
    assert error_code(body) == "INVALID_CREDENTIALS"
    assert "JIRA did not accept" in body["errors"][0]["message"]
    assert body["data"] is None
    for model in (Site, Principal, SiteAccount, RefreshToken):
        assert _count(gateway, model) == 0
    engine = create_engine(gateway.database_url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(AuditEvent.event, AuditEvent.detail)).all()
    finally:
        engine.dispose()
    assert [row.event for row in rows] == ["login_failed"]
    assert rows[0].detail["code"] == "INVALID_CREDENTIALS"
    assert "wrong-token-SECRET" not in repr(rows)


@pytest.mark.parametrize(
    ("credential", "field"),
    [
        ({}, "input"),
        ({"email": "alice@example.com"}, "apiToken"),
        ({"apiToken": "x"}, "email"),
        ({"username": "alice"}, "password"),
        ({"personalAccessToken": "  "}, "personalAccessToken"),
        ({"email": "a@example.com", "apiToken": "t", "personalAccessToken": "p"}, "input"),
    ],
)
def test_bad_input_names_the_field(
    gateway: Gateway, cloud_sandbox: RunningServer, credential: dict[str, str], field: str
) -> None:
    body = gateway.login(cloud_sandbox.base_url, **credential)
    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == field


def test_asking_for_more_scopes_than_the_default_is_refused(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    body = gateway.login(cloud_sandbox.base_url, **cloud_login("alice"), scopes=["ADMIN"])
    assert error_code(body) == "INVALID_SCOPE"
    narrow = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"), scopes=["READ"])
    assert narrow["scopes"] == ["READ"]


def test_viewer_needs_a_token(gateway: Gateway) -> None:
    body = gateway.gql(VIEWER)
    assert error_code(body) == "UNAUTHENTICATED"


def _js_lines(source: str, name: str) -> str:
    """The text of ``var <name> = [ "...", ... ].join("\\n")`` in init.js."""
    start = source.index(f"var {name} = [")
    end = source.index('].join("\\n")', start)
    lines = [line.strip().rstrip(",") for line in source[start:end].splitlines()[1:]]
    return "\n".join(json.loads(line) for line in lines if line.startswith('"'))


def test_graphiql_examples_sign_alice_in_and_read_the_viewer(
    gateway: Gateway, cloud_sandbox: RunningServer
) -> None:
    source = (Path(gateway_app.__file__).parent / "static" / "graphiql" / "init.js").read_text()
    assert '"alice@example.com"' in source
    assert '"alice-token"' in source
    login = gateway.gql(
        _js_lines(source, "loginQuery"),
        {"input": {"siteUrl": cloud_sandbox.base_url, **cloud_login("alice")}},
    )
    assert "errors" not in login, login
    token = login["data"]["login"]["accessToken"]
    viewer = gateway.gql(_js_lines(source, "viewerQuery"), token=token)
    assert viewer["data"]["viewer"]["user"]["displayName"] == "Alice Anderson"
    assert viewer["data"]["viewer"]["sites"] == [{"url": cloud_sandbox.base_url}]
