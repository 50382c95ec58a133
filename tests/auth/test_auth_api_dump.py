"""After real logins through GraphQL (API token, password, PAT, OAuth), the database holds no
plaintext secret; a ciphertext moved to another user's row does not open there."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from gateway.db.engine import create_engine
from gateway.db.models import SiteAccount
from tests.auth.auth_api_support import cloud_login, error_code, running_gateway
from tests.auth.test_auth_api_oauth import oauth_login, oauth_settings
from tests.auth.test_auth_dump import dump_all_rows
from tests.conftest import RunningServer

PLAINTEXT = ["alice-token", "alice-pat", "bob-token"]


async def _dump(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return str(await connection.run_sync(dump_all_rows))
    finally:
        await engine.dispose()


async def _execute(url: str, statement: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(statement)
            return result.all() if result.returns_rows else None
    finally:
        await engine.dispose()


def test_dump_after_logins_holds_no_plaintext(
    tmp_path: Path, cloud_sandbox: RunningServer, server_sandbox: RunningServer
) -> None:
    issued: list[str] = []
    with running_gateway(tmp_path, **oauth_settings(cloud_sandbox)) as gateway:
        cloud = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"))
        server_pw = gateway.login_ok(server_sandbox.base_url, username="bob", password="bob-token")
        server_pat = gateway.login_ok(server_sandbox.base_url, personalAccessToken="alice-pat")
        oauth = oauth_login(gateway, cloud_sandbox, hint="bob@example.com").json()
        for payload in (cloud, server_pw, server_pat, oauth):
            issued += [payload["accessToken"], payload["refreshToken"]]
        dump = asyncio.run(_dump(gateway.database_url))
        kinds = {
            row[0]
            for row in asyncio.run(_execute(gateway.database_url, select(SiteAccount.auth_kind)))
        }
    assert kinds == {"api_token", "password", "pat", "oauth"}
    assert "alice@example.com" in dump  # the rows are there: the dump is not empty by accident
    raw = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("gw.sqlite3*")))
    for secret in [*PLAINTEXT, *issued]:
        assert secret not in dump, secret[:12]
        assert secret.encode() not in raw, secret[:12]


def test_a_swapped_ciphertext_does_not_open(tmp_path: Path, cloud_sandbox: RunningServer) -> None:
    query = "{ viewer { jiraUser { displayName } } }"
    with running_gateway(tmp_path) as gateway:
        alice = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("alice"))
        bob = gateway.login_ok(cloud_sandbox.base_url, **cloud_login("bob"))
        assert gateway.gql(query, token=bob["accessToken"])["data"]["viewer"]["jiraUser"] == {
            "displayName": "Bob Brown"
        }
        rows = asyncio.run(
            _execute(
                gateway.database_url,
                select(SiteAccount.jira_account_id, SiteAccount.credential_ciphertext),
            )
        )
        sealed = dict(rows)
        alice_sealed = sealed[alice["user"]["accountId"]]
        # A database writer copies alice's sealed credential into bob's row.
        asyncio.run(
            _execute(
                gateway.database_url,
                update(SiteAccount)
                .where(SiteAccount.jira_account_id == bob["user"]["accountId"])
                .values(credential_ciphertext=alice_sealed),
            )
        )
        # (Another document than before: the response cache must not answer this one; and the
        # process forgets the site calls it memoized for 5 s, as it would after that time.)
        gateway.state.site_call_memo.clear()
        swapped = "{ viewer { again: jiraUser { displayName } } }"
        body = gateway.gql(swapped, token=bob["accessToken"])
        assert error_code(body) == "CREDENTIAL_UNREADABLE"
        assert "Alice" not in str(body)
        # alice is unaffected.
        mine = gateway.gql(query, token=alice["accessToken"])["data"]["viewer"]["jiraUser"]
        assert mine == {"displayName": "Alice Anderson"}
