"""Saved filters, quick filter sets, usage counts and search history on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.errors import InvalidInput, NotFound
from gateway.history import KEEP, SearchHistory
from gateway.saved_filters import PRESETS, SavedFilters
from tests.gateway.mirror_support import Db, database_url, db_context


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request, tmp_path)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Db]:
    async for opened in db_context(db_url):
        yield opened


async def test_saved_filters_private_shared_and_counted(db: Db) -> None:
    filters = SavedFilters(db.sessionmaker)
    mine = await filters.save(
        "alice", db.site_id, "My bugs", filter={"issueTypes": ["Bug"]}, jql=None
    )
    team = await filters.save("alice", db.site_id, "Team", jql="project = ALPHA", shared=True)
    assert [f.name for f in await filters.visible("alice", db.site_id)] == ["My bugs", "Team"]
    assert [f.id for f in await filters.visible("bob", db.site_id)] == [team.id]
    with pytest.raises(NotFound):
        await filters.get("bob", mine.id)
    with pytest.raises(NotFound):
        await filters.delete("bob", team.id)  # shared is readable, not deletable by others
    with pytest.raises(InvalidInput):
        await filters.save("alice", db.site_id, "empty")
    with pytest.raises(InvalidInput):
        await filters.save("alice", db.site_id, "y" * 201, jql="x = 1")

    for _ in range(3):
        await filters.record_use("alice", db.site_id, f"saved:{mine.id}")
    assert (await filters.get("alice", mine.id)).use_count == 3
    renamed = await filters.save("alice", db.site_id, "Bugs", jql="type = Bug", filter_id=mine.id)
    assert (renamed.name, renamed.jql, renamed.filter) == ("Bugs", "type = Bug", None)
    await filters.delete("alice", mine.id)
    with pytest.raises(NotFound):
        await filters.get("alice", mine.id)


async def test_quick_filter_sets_compose_presets_and_saved(db: Db) -> None:
    filters = SavedFilters(db.sessionmaker)
    defaults = await filters.quick_filters("bob", db.site_id)
    assert [q.ref for q in defaults] == list(PRESETS)
    team = await filters.save("alice", db.site_id, "Team", jql="project = ALPHA", shared=True)
    private = await filters.save("alice", db.site_id, "Mine", jql="project = BETA")
    with pytest.raises(InvalidInput):  # bob cannot reference alice's private filter
        await filters.save_set("bob", db.site_id, "set", [("saved", private.id)])
    with pytest.raises(InvalidInput):
        await filters.save_set("bob", db.site_id, "set", [("preset", "nope")])
    await filters.save_set(
        "bob", db.site_id, "Daily", [("preset", "assignedToMe"), ("saved", team.id)]
    )
    quick = await filters.quick_filters("bob", db.site_id)
    assert [(q.kind, q.name, q.jql) for q in quick] == [
        ("preset", PRESETS["assignedToMe"][0], PRESETS["assignedToMe"][1]),
        ("saved", "Team", "project = ALPHA"),
    ]


async def test_search_history_keeps_last_100_distinct(db: Db) -> None:
    history = SearchHistory(db.sessionmaker)
    for n in range(KEEP + 5):
        await history.record("alice", db.site_id, "text", f"query {n}")
    await history.record("alice", db.site_id, "jql", "project = ALPHA")
    await history.record("alice", db.site_id, "text", "query 50")  # again: moves to the top
    await history.record("alice", db.site_id, "text", "   ")  # blank: ignored
    entries = await history.list("alice")
    assert len(entries) == KEEP
    assert [(e.kind, e.query, e.count) for e in entries[:2]] == [
        ("text", "query 50", 2),
        ("jql", "project = ALPHA", 1),
    ]
    queries = {e.query for e in entries}
    assert "query 0" not in queries
    assert "query 104" in queries
    assert len(queries) == KEEP  # distinct
    assert await history.list("bob") == []
    assert next(e.query for e in await history.list("alice", first=3)) == "query 50"
    assert await history.clear("alice") == KEEP
    assert await history.list("alice") == []
