"""Selections service on SQLite and PostgreSQL: validation, visibility, concurrency, limits."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.errors import Forbidden, InvalidInput, LimitExceeded, NotFound
from gateway.selections import MAX_KEYS, SelectionService
from tests.gateway.mirror_support import Db, database_url, db_context


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request, tmp_path)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Db]:
    async for opened in db_context(db_url):
        yield opened


async def test_selection_lifecycle(db: Db) -> None:
    service = SelectionService(db.sessionmaker)
    made = await service.create("alice", db.site_id, "  Release 1 ", ["alpha-1", "ALPHA-2"])
    assert (made.name, made.size, made.shared) == ("Release 1", 2, False)

    await service.add("alice", made.id, ["ALPHA-2", "BETA-10"])  # ALPHA-2 again: no duplicate
    page = await service.keys("alice", made.id)
    assert page.total == 3
    assert sorted(page.keys) == ["ALPHA-1", "ALPHA-2", "BETA-10"]

    await service.remove("alice", made.id, ["ALPHA-1", "GAMMA-9"])  # unknown key: ignored
    assert sorted((await service.keys("alice", made.id)).keys) == ["ALPHA-2", "BETA-10"]

    info, added = await service.toggle_all("alice", made.id, ["ALPHA-2", "ALPHA-3"])
    assert added
    assert info.size == 3
    info, added = await service.toggle_all("alice", made.id, ["ALPHA-2", "ALPHA-3"])
    assert not added
    assert info.size == 1
    assert (await service.keys("alice", made.id)).keys == ["BETA-10"]

    assert (await service.clear("alice", made.id)).size == 0
    assert [s.id for s in await service.list("alice", db.site_id)] == [made.id]
    await service.delete("alice", made.id)
    assert await service.list("alice", db.site_id) == []
    with pytest.raises(NotFound):
        await service.get("alice", made.id)


async def test_selection_pages_keys_in_insertion_order(db: Db) -> None:
    service = SelectionService(db.sessionmaker)
    keys = [f"ALPHA-{n}" for n in range(1, 251)]
    made = await service.create("alice", db.site_id, "many", keys)
    seen: list[str] = []
    offset = 0
    while True:
        page = await service.keys("alice", made.id, offset=offset, limit=100)
        seen += page.keys
        offset += len(page.keys)
        if not page.keys:
            break
    assert sorted(seen) == sorted(keys)
    assert len(seen) == 250


async def test_selection_validation_is_typed(db: Db) -> None:
    service = SelectionService(db.sessionmaker)
    with pytest.raises(InvalidInput) as err:
        await service.create("alice", db.site_id, "x" * 201)
    assert err.value.field == "name"
    assert err.value.code == "BAD_USER_INPUT"
    with pytest.raises(InvalidInput, match="'ALPHA'"):
        await service.create("alice", db.site_id, "bad", ["ALPHA-1", "ALPHA", "1-ALPHA"])
    with pytest.raises(LimitExceeded):
        await service.create("alice", db.site_id, "big", [f"A1-{n}" for n in range(MAX_KEYS + 1)])
    assert await service.list("alice", db.site_id) == []  # nothing half-created


async def test_selection_limit_counts_existing_keys(db: Db) -> None:
    service = SelectionService(db.sessionmaker)
    made = await service.create("alice", db.site_id, "full", [f"A1-{n}" for n in range(MAX_KEYS)])
    assert made.size == MAX_KEYS
    with pytest.raises(LimitExceeded):
        await service.add("alice", made.id, ["B1-1"])
    assert (await service.get("alice", made.id)).size == MAX_KEYS  # rolled back
    await service.add("alice", made.id, ["A1-5"])  # already present: still within the limit


async def test_another_users_selection_is_not_found(db: Db) -> None:
    service = SelectionService(db.sessionmaker)
    private = await service.create("alice", db.site_id, "mine", ["ALPHA-1"])
    for attempt in (
        service.get("bob", private.id),
        service.keys("bob", private.id),
        service.add("bob", private.id, ["ALPHA-2"]),
        service.remove("bob", private.id, ["ALPHA-1"]),
        service.clear("bob", private.id),
        service.delete("bob", private.id),
        service.get("alice", "no-such-id"),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert (await service.get("alice", private.id)).size == 1
    assert await service.list("bob", db.site_id) == []

    shared = await service.create("alice", db.site_id, "team", ["ALPHA-1"], shared=True)
    assert (await service.keys("bob", shared.id)).keys == ["ALPHA-1"]
    assert [s.id for s in await service.list("bob", db.site_id)] == [shared.id]
    with pytest.raises(Forbidden):
        await service.add("bob", shared.id, ["ALPHA-2"])


async def test_concurrent_adds_and_removes_lose_no_key(db: Db) -> None:
    service = SelectionService(db.sessionmaker)
    initial = [f"ALPHA-{n}" for n in range(1, 101)]
    made = await service.create("alice", db.site_id, "race", initial)
    rng = random.Random(6)
    to_remove = rng.sample(initial, 60)
    to_add = [f"BETA-{n}" for n in range(1, 121)]

    async def client(adds: list[str], removes: list[str]) -> None:
        # Interleave small edits so the two clients' transactions really overlap.
        for i in range(max(len(adds), len(removes)) // 10 + 1):
            part_add = adds[i * 10 : i * 10 + 10]
            part_remove = removes[i * 10 : i * 10 + 10]
            if part_add:
                await service.add("alice", made.id, part_add)
            if part_remove:
                await service.remove("alice", made.id, part_remove)

    await asyncio.gather(
        client(to_add[:60], to_remove[:30]),
        client(to_add[60:], to_remove[30:]),
    )
    expected = (set(initial) - set(to_remove)) | set(to_add)
    page = await service.keys("alice", made.id, limit=1000)
    assert set(page.keys) == expected
    assert page.total == len(expected)
