"""After storing credentials and sessions, no plaintext secret is anywhere in the database."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from gateway.auth import audit
from gateway.auth.audit import AuditEventType
from gateway.auth.credentials import (
    ApiTokenCredential,
    OAuthCredential,
    PasswordCredential,
    PatCredential,
    open_credential,
    seal_credential,
)
from gateway.auth.errors import VaultError
from gateway.auth.scopes import DEFAULT_SCOPES
from gateway.auth.sessions import SessionService
from gateway.auth.settings import AuthConfig
from gateway.auth.tokens import TokenService
from gateway.auth.vault import Vault, generate_key
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.db.models import Principal, Site, SiteAccount

CONFIG = AuthConfig(jwt_secret=SecretStr("d" * 40), vault_keys=[SecretStr(generate_key())])

SECRETS = {
    "api_token": "alice-api-token-PLAINTEXT-4f1c",
    "password": "bob-password-PLAINTEXT-93ad",
    "pat": "carol-pat-PLAINTEXT-0b77",
    "oauth_access": "oauth-access-PLAINTEXT-5e2a",
    "oauth_refresh": "oauth-refresh-PLAINTEXT-c810",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'dump.db'}"
    else:
        url = request.getfixturevalue("fresh_pg_database")
    upgrade(url)
    return url


def dump_all_rows(connection: Connection) -> str:
    lines: list[str] = []
    for table in inspect(connection).get_table_names():
        for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 (own names)
            lines.append(f"{table}: {tuple(row)!r}")
    return "\n".join(lines)


def raw_dump(url: str, tmp_path: Path) -> bytes:
    """The database as its tools see it: SQLite's files (WAL included), or ``pg_dump``."""
    if url.startswith("sqlite"):
        return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("dump.db*")))
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    parts = urlsplit(url)
    dsn = f"postgresql://{parts.netloc}{parts.path}"
    return subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", dsn], check=True, capture_output=True, timeout=60
    ).stdout


async def test_auth_database_dump_holds_no_plaintext_secret(
    migrated_url: str, tmp_path: Path
) -> None:
    vault = Vault(CONFIG.vault_keys)
    engine = create_engine(migrated_url)
    sessionmaker = create_sessionmaker(engine)
    sessions = SessionService(sessionmaker, TokenService(CONFIG), CONFIG)
    credentials = [
        ApiTokenCredential(email="alice@example.com", token=SECRETS["api_token"]),
        PasswordCredential(username="bob", password=SECRETS["password"]),
        PatCredential(token=SECRETS["pat"]),
        OAuthCredential(
            access_token=SECRETS["oauth_access"],
            refresh_token=SECRETS["oauth_refresh"],
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            cloud_id="cloud-1",
        ),
    ]
    issued: list[str] = []
    try:
        async with sessionmaker() as db, db.begin():
            for n, credential in enumerate(credentials):
                site = Site(base_url=f"https://site{n}.example.com", name=f"Site {n}")
                principal = Principal()
                db.add_all([site, principal])
                await db.flush()
                principal.default_site_id = site.id
                account = SiteAccount(
                    principal_id=principal.id,
                    site_id=site.id,
                    jira_account_id=f"acc-{n}",
                    display_name=f"User {n}",
                    auth_kind=credential.kind,
                    credential_ciphertext="pending",
                )
                db.add(account)
                await db.flush()  # the id exists now: seal bound to it
                account.credential_ciphertext = seal_credential(
                    vault, credential, bound_to=f"site_account:{account.id}"
                )
                pair = await sessions.start_session(principal.id, DEFAULT_SCOPES, db=db)
                issued += [pair.refresh_token, pair.access_token]
                audit.record(
                    db,
                    AuditEventType.LOGIN,
                    principal_id=principal.id,
                    site_id=site.id,
                    ip="203.0.113.1",
                    detail={"auth_kind": credential.kind, **credential.to_payload()},
                )
        rotated = await sessions.rotate(issued[0])
        issued += [rotated.refresh_token, rotated.access_token]

        async with engine.connect() as connection:
            dump = await connection.run_sync(dump_all_rows)

        # The rows are there (the dump is not empty by accident) ...
        assert dump.count("site_accounts:") == 4
        assert "alice@example.com" in dump  # the login name is not a secret
        # ... and no secret is.
        for secret in [*SECRETS.values(), *issued]:
            assert secret not in dump
        raw = await asyncio.to_thread(raw_dump, migrated_url, tmp_path)
        assert b"alice@example.com" in raw
        for secret in [*SECRETS.values(), *issued]:
            assert secret.encode() not in raw

        # The stored ciphertexts still open for their own row, and only there.
        async with sessionmaker() as db:
            result = await db.execute(select(SiteAccount.id, SiteAccount.credential_ciphertext))
            rows = [(account_id, sealed) for account_id, sealed in result]
        assert {type(open_credential(vault, c, bound_to=f"site_account:{i}")) for i, c in rows} == {
            type(c) for c in credentials
        }
        with pytest.raises(VaultError):
            open_credential(vault, rows[0][1], bound_to=f"site_account:{rows[1][0]}")
    finally:
        await engine.dispose()
