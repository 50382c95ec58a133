"""The async engine: URL mapping, SQLite pragmas, ping, and a Site round trip on both engines."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.engine import (
    POSTGRES_DRIVER,
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_DRIVER,
    create_engine,
    create_sessionmaker,
    normalize_url,
    ping,
    safe_url,
)
from gateway.db.migrate import upgrade
from gateway.db.models import Site

# --- URL mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///var/gateway.db", SQLITE_DRIVER),
        ("sqlite:////abs/path/gateway.db", SQLITE_DRIVER),
        ("sqlite+aiosqlite:///var/gateway.db", SQLITE_DRIVER),
        ("postgres://jgw:secret@db.internal:5433/jira", POSTGRES_DRIVER),
        ("postgresql://jgw:secret@db.internal/jira?sslmode=require", POSTGRES_DRIVER),
        ("postgresql+asyncpg://jgw@127.0.0.1/jira", POSTGRES_DRIVER),
    ],
)
def test_db_url_maps_to_async_driver_and_keeps_the_rest(given: str, driver: str) -> None:
    original = make_url(given)
    mapped = normalize_url(given)
    assert mapped.drivername == driver
    # Only the scheme changes: user, password, host, port, database and query survive.
    assert mapped.set(drivername=original.drivername) == original


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("mysql://admin:hunter2@db.internal/jira", "mysql"),
        ("postgresql+psycopg2://admin:hunter2@db.internal/jira", "postgresql+psycopg2"),
        ("mssql+pyodbc://admin:hunter2@dsn", "mssql+pyodbc"),
    ],
)
def test_db_bad_scheme_names_scheme_without_password(url: str, scheme: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme") as caught:
        create_engine(url)
    message = str(caught.value)
    assert repr(scheme) in message
    assert "hunter2" not in message
    assert "db.internal" in message or "dsn" in message  # the rest helps the user find it


def test_db_unparsable_url_is_not_echoed() -> None:
    with pytest.raises(ValueError, match="could not parse") as caught:
        normalize_url("admin:hunter2 at db.internal")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in safe_url("admin:hunter2 at db.internal")
    assert "hunter2" not in safe_url("postgresql://admin:hunter2@db/x")


# --- SQLite specifics --------------------------------------------------------------------------


async def test_db_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there" / "gateway.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        # Two connections at once: the pool opens two DBAPI connections, both configured.
        async with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
                assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
                busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
                assert busy == SQLITE_BUSY_TIMEOUT_MS
        assert path.is_file()
    finally:
        await engine.dispose()


async def test_db_sqlite_foreign_keys_are_enforced(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            await conn.exec_driver_sql(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, "
                "parent_id INTEGER NOT NULL REFERENCES parent (id))"
            )
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            async with engine.begin() as conn:
                await conn.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (1, 42)")
    finally:
        await engine.dispose()


async def test_db_sqlite_migration_engine_can_turn_foreign_keys_off(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}", sqlite_foreign_keys=False)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 0
    finally:
        await engine.dispose()


# --- ping --------------------------------------------------------------------------------------


async def test_db_ping_succeeds_on_both_engines(tmp_path: Path, pg_url: str) -> None:
    for url in (f"sqlite:///{tmp_path / 'ping.db'}", pg_url):
        engine = create_engine(url)
        try:
            await ping(engine)
        finally:
            await engine.dispose()


async def test_db_ping_raises_when_postgres_is_unreachable() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    engine = create_engine("postgresql://postgres@127.0.0.1:1/test")
    try:
        with pytest.raises(ConnectionRefusedError):
            await ping(engine)
    finally:
        await engine.dispose()


async def test_db_ping_raises_when_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    directory = tmp_path / "a-directory.db"
    directory.mkdir()
    engine = create_engine(f"sqlite:///{directory}")
    try:
        with pytest.raises(OperationalError, match="unable to open"):
            await ping(engine)
    finally:
        await engine.dispose()
    # aiosqlite stops the worker thread of a failed connect with a future nobody awaits; if the
    # loop closes first, the thread dies with "Event loop is closed". Let it finish.
    await _aiosqlite_threads_stopped()


async def _aiosqlite_threads_stopped(timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while any("_connection_worker_thread" in t.name for t in threading.enumerate()):
        assert time.monotonic() < deadline, "aiosqlite worker thread did not stop"
        await asyncio.sleep(0.01)


# --- Site round trip on both engines (schema built by the migrations) -------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sites.db'}"
    else:
        url = request.getfixturevalue("fresh_pg_database")
    upgrade(url)
    return url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


async def test_db_site_round_trip(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    before = datetime.now(UTC) - timedelta(seconds=2)
    async with sessionmaker() as session:
        site = Site(base_url="  HTTPS://Example.Atlassian.NET:443/ ", name="Example")
        session.add(site)
        await session.commit()
        site_id = site.id
        # Database defaults came back with the INSERT (no lazy load in async).
        assert site.created_at.tzinfo is not None

    assert uuid.UUID(site_id).version == 4
    async with sessionmaker() as session:
        loaded = (await session.execute(select(Site).where(Site.id == site_id))).scalar_one()
        assert loaded.base_url == "https://example.atlassian.net"
        assert loaded.flavor is None
        assert loaded.name == "Example"
        for stamp in (loaded.created_at, loaded.updated_at):
            assert stamp.utcoffset() == timedelta(0)
            assert before <= stamp <= datetime.now(UTC) + timedelta(seconds=2)

        loaded.flavor = "cloud"
        await session.commit()
        # Server-side onupdate value is fetched eagerly: reading it must not lazy-load.
        assert loaded.updated_at >= loaded.created_at

    async with sessionmaker() as session:
        again = await session.get(Site, site_id)
        assert again is not None
        assert again.flavor == "cloud"


async def test_db_site_base_url_unique_after_normalization(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        session.add(Site(base_url="https://jira.example.com/jira", name="one"))
        await session.commit()
    async with sessionmaker() as session:
        session.add(Site(base_url="HTTPS://JIRA.example.com/jira///", name="two"))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with sessionmaker() as session:
        count = (await session.execute(text("SELECT count(*) FROM sites"))).scalar_one()
        assert count == 1


@pytest.mark.parametrize(
    ("base_url", "flavor"),
    [
        ("https://a.example.com", "bogus"),  # flavor outside ('cloud', 'server')
        ("https://b.example.com/", "cloud"),  # trailing slash written around the ORM
    ],
)
async def test_db_site_check_constraints_hold_for_raw_sql(
    engine: AsyncEngine, base_url: str, flavor: str
) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO sites (id, base_url, flavor, name) "
                    "VALUES (:id, :base_url, :flavor, 'x')"
                ),
                {"id": str(uuid.uuid4()), "base_url": base_url, "flavor": flavor},
            )
