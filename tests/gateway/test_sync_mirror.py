"""Mirror sync against the sandbox JIRA over HTTP, on SQLite and PostgreSQL: initial and
incremental passes, tombstones, webhook-style deletes, and permission-checked full-text search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from gateway.db.models import MirrorIssue, MirrorSite
from gateway.mirror_search import (
    MirrorFilter,
    candidates,
    mirror_ready,
    search_jira,
    search_mirror,
)
from gateway.sync import SyncSource, sync_site, tombstone_issue
from tests.gateway.mirror_support import Db, caller, database_url, db_context, jira_client
from tests.support import RunningServer, SandboxFactory

ISSUES = 300


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request, tmp_path)


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> RunningServer:
    # Its own seed: these tests edit issues, which must not leak into other tests' sandboxes.
    return sandbox_factory(flavor="cloud", issues=ISSUES, seed=66)


@pytest.fixture
async def db(db_url: str, sandbox: RunningServer) -> AsyncIterator[Db]:
    async for opened in db_context(db_url, sandbox.base_url):
        yield opened


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def source(db: Db, http: httpx.AsyncClient, sandbox: RunningServer, user: str) -> SyncSource:
    client = jira_client(http, sandbox.base_url, db.site_id)
    return SyncSource(db.site_id, user, client, caller(user))


async def live_keys(db: Db) -> set[str]:
    async with db.sessionmaker() as session:
        keys = await session.scalars(
            select(MirrorIssue.issue_key).where(MirrorIssue.deleted_at.is_(None))
        )
        return set(keys)


async def test_sync_initial_incremental_and_tombstones(
    db: Db, http: httpx.AsyncClient, sandbox: RunningServer
) -> None:
    alice = source(db, http, sandbox, "alice")
    async with db.sessionmaker() as session:
        assert not await mirror_ready(session, db.site_id)

    first = await sync_site(db.sessionmaker, alice)
    assert first.fetched == ISSUES
    assert len(first.changed) == ISSUES
    assert first.full_scan
    assert len(await live_keys(db)) == ISSUES
    async with db.sessionmaker() as session:
        state = await session.get(MirrorSite, db.site_id)
        assert state is not None
        assert (state.state, state.issue_count, state.sync_account_id) == ("idle", ISSUES, "alice")
        assert state.last_synced_at is not None
        assert state.cursor is not None
        assert await mirror_ready(session, db.site_id)

    again = await sync_site(db.sessionmaker, alice, full_scan=False)
    assert again.changed == []  # the margin re-reads a few issues but changes nothing
    assert again.fetched < ISSUES

    edited = sorted(await live_keys(db))[:3]
    for key in edited:
        await alice.client.edit_issue(
            alice.caller, key, fields={"summary": f"quokka {db.dialect} {key}"}
        )
    third = await sync_site(db.sessionmaker, alice, full_scan=False)
    assert sorted(third.changed) == edited
    async with db.sessionmaker() as session:
        summaries = await session.scalars(
            select(MirrorIssue.summary).where(MirrorIssue.issue_key.in_(edited))
        )
        assert sorted(summaries) == [f"quokka {db.dialect} {key}" for key in edited]

    # The same site synced as bob (ALPHA and BETA only): the full scan tombstones the rest.
    bob = source(db, http, sandbox, "bob")
    fourth = await sync_site(db.sessionmaker, bob, full_scan=True)
    live = await live_keys(db)
    assert live
    assert {key.split("-")[0] for key in live} <= {"ALPHA", "BETA"}
    assert fourth.tombstoned == ISSUES - len(live)
    # ...and alice's full scan brings them back.
    fifth = await sync_site(db.sessionmaker, alice, full_scan=True)
    assert fifth.restored == ISSUES - len(live)
    assert len(await live_keys(db)) == ISSUES


async def test_webhook_delete_tombstones_one_issue(
    db: Db, http: httpx.AsyncClient, sandbox: RunningServer
) -> None:
    await sync_site(db.sessionmaker, source(db, http, sandbox, "alice"))
    key = sorted(await live_keys(db))[0]
    async with db.sessionmaker() as session, session.begin():
        assert await tombstone_issue(session, db.site_id, issue_id=None, issue_key=key) == 1
        assert await tombstone_issue(session, db.site_id, issue_id=None, issue_key=key) == 0
    assert key not in await live_keys(db)


async def test_bob_never_sees_hidden_issues(
    db: Db, http: httpx.AsyncClient, sandbox: RunningServer
) -> None:
    alice = source(db, http, sandbox, "alice")
    await sync_site(db.sessionmaker, alice)  # the mirror holds everything alice sees
    # A word most issues share, so hidden issues are certainly among the candidates.
    async with db.sessionmaker() as session:
        summary = await session.scalar(
            select(MirrorIssue.summary).where(MirrorIssue.project_key == "GAMMA").limit(1)
        )
    assert summary
    word = max(summary.split(), key=len)
    async with db.sessionmaker() as session:
        found = await candidates(session, db.site_id, word)
    assert any(c.key.startswith(("GAMMA-", "DELTA-")) for c in found)

    as_alice = await search_mirror(
        db.sessionmaker, alice.client, alice.caller, db.site_id, word, first=100
    )
    as_bob = await search_mirror(
        db.sessionmaker, alice.client, caller("bob"), db.site_id, word, first=100
    )
    alice_keys = {h.issue.key for h in as_alice.hits}
    bob_keys = {h.issue.key for h in as_bob.hits}
    assert any(k.startswith("GAMMA-") for k in alice_keys)
    assert bob_keys
    assert {k.split("-")[0] for k in bob_keys} <= {"ALPHA", "BETA"}
    assert bob_keys <= alice_keys
    assert as_bob.visible is not None
    assert as_bob.visible < len(found)
    hit = as_alice.hits[0]
    assert hit.snippet is not None
    assert "<mark>" in hit.snippet.summary + hit.snippet.description


async def test_search_pages_filters_and_highlights(
    db: Db, http: httpx.AsyncClient, sandbox: RunningServer
) -> None:
    alice = source(db, http, sandbox, "alice")
    await sync_site(db.sessionmaker, alice)
    key = sorted(await live_keys(db))[5]
    await alice.client.edit_issue(alice.caller, key, fields={"summary": "Wombat <b>burrow</b>"})
    await sync_site(db.sessionmaker, alice, full_scan=False)

    result = await search_mirror(
        db.sessionmaker, alice.client, alice.caller, db.site_id, "wombat burrow"
    )
    assert [h.issue.key for h in result.hits] == [key]
    snippet = result.hits[0].snippet
    assert snippet is not None
    assert "<mark>Wombat</mark>" in snippet.summary
    assert "&lt;b&gt;" in snippet.summary
    assert "<b>" not in snippet.summary  # data is escaped, only <mark> is markup

    project = key.split("-")[0]
    other = "BETA" if project != "BETA" else "ALPHA"
    filtered = await search_mirror(
        db.sessionmaker,
        alice.client,
        alice.caller,
        db.site_id,
        "wombat",
        MirrorFilter(projects=(other,)),
    )
    assert filtered.hits == []

    async with db.sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(MirrorIssue))
    assert total == ISSUES
    word = "the"  # a stop word on PostgreSQL: handled without error either way
    await search_mirror(db.sessionmaker, alice.client, alice.caller, db.site_id, word)

    page1 = await search_mirror(
        db.sessionmaker, alice.client, alice.caller, db.site_id, "issue", first=5
    )
    if page1.has_next:
        page2 = await search_mirror(
            db.sessionmaker, alice.client, alice.caller, db.site_id, "issue", offset=5, first=5
        )
        assert not {h.issue.key for h in page1.hits} & {h.issue.key for h in page2.hits}


async def test_jira_fallback_search(http: httpx.AsyncClient, sandbox: RunningServer) -> None:
    client = jira_client(http, sandbox.base_url, "fallback")
    probe = await client.search(caller("alice"), "project = GAMMA", fields=["summary"])
    word = max((probe.issues[0].summary or "x").split(), key=len)
    as_bob, _ = await search_jira(client, caller("bob"), word, first=50)
    assert all(h.issue.key.split("-")[0] in {"ALPHA", "BETA"} for h in as_bob.hits)
    as_alice, _ = await search_jira(client, caller("alice"), word, first=50)
    assert as_alice.hits
    assert as_alice.source == "jira"
    assert any("<mark>" in (h.snippet.summary if h.snippet else "") for h in as_alice.hits)
