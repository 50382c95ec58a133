"""Shared by the issue-6 service tests: a migrated database (SQLite or PostgreSQL) with a site,
principals with site accounts, and JIRA callers for the sandbox users."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.db.models import Principal, Site, SiteAccount
from gateway.jira.adapter_base import Caller
from gateway.jira.client import JiraClient
from gateway.jira.transport import JiraTransport


@dataclass
class Db:
    url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    site_id: str
    accounts: dict[str, str]  # user name -> site_accounts.id (== principal id here)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    url: str = request.getfixturevalue("fresh_pg_database")
    return url


async def open_db(url: str, base_url: str, users: tuple[str, ...] = ("alice", "bob")) -> Db:
    """Migrate ``url`` to head and add one site with a principal + account per user.

    Principal ids and account ids are the user names, so tests read naturally.
    """
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as db, db.begin():
        site = Site(base_url=base_url, name="Sandbox", flavor=None)
        db.add(site)
        await db.flush()
        for user in users:
            db.add(Principal(id=user, default_site_id=site.id))
        await db.flush()
        for user in users:
            db.add(
                SiteAccount(
                    id=user,
                    principal_id=user,
                    site_id=site.id,
                    jira_account_id=user,
                    display_name=user.title(),
                    auth_kind="api_token",
                    credential_ciphertext="not-used-in-these-tests",
                )
            )
        site_id = site.id
    return Db(url, engine, sessionmaker, site_id, {u: u for u in users})


async def db_context(url: str, base_url: str = "http://jira.invalid") -> AsyncIterator[Db]:
    db = await open_db(url, base_url)
    try:
        yield db
    finally:
        await db.engine.dispose()


def caller(user: str) -> Caller:
    """The sandbox user's JIRA identity (Cloud: email + token)."""
    return Caller(user, httpx.BasicAuth(f"{user}@example.com", f"{user}-token"))


def jira_client(http: httpx.AsyncClient, base_url: str, site_id: str) -> JiraClient:
    return JiraClient(JiraTransport(http, base_url, site=site_id))
