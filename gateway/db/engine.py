"""The SQLAlchemy async engine and sessionmaker for SQLite (embedded) and PostgreSQL (services).

Both modes of DESIGN §2 go through :func:`create_engine`. Users paste URLs in the shapes they
know (``postgres://…``, ``postgresql://…``, ``sqlite:///…``); :func:`normalize_url` maps them to
the async drivers (asyncpg, aiosqlite) and refuses everything else with a ``ValueError`` that
names the scheme but never the password.

Nothing connects at import time: the app's lifespan builds the engine, and disposes of it at exit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, event, make_url, text
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

SQLITE_DRIVER = "sqlite+aiosqlite"
POSTGRES_DRIVER = "postgresql+asyncpg"

# Scheme as typed by the user -> async driver we run it with.
_DRIVERS = {
    "sqlite": SQLITE_DRIVER,
    "sqlite+aiosqlite": SQLITE_DRIVER,
    "postgres": POSTGRES_DRIVER,
    "postgresql": POSTGRES_DRIVER,
    "postgresql+asyncpg": POSTGRES_DRIVER,
}

# A writer holding the SQLite lock makes others wait up to this long instead of failing at once
# with "database is locked"; 5 s covers a slow migration step or a long sync batch.
SQLITE_BUSY_TIMEOUT_MS = 5000

# PostgreSQL pool per process. The host has 2 cores: more than ~10 busy connections per process
# only queue in PostgreSQL; several gateway processes and workers share max_connections (100).
PG_POOL_SIZE = 5
PG_MAX_OVERFLOW = 5
PG_POOL_TIMEOUT_S = 10
# Recycle before common idle-connection cut-offs of proxies and managed databases (~30-60 min).
PG_POOL_RECYCLE_S = 1800


def safe_url(url: str | URL) -> str:
    """``url`` rendered for logs and error messages, with the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


def normalize_url(url: str | URL) -> URL:
    """Map a user-supplied database URL to the async driver we use for it.

    ``sqlite:///path`` -> ``sqlite+aiosqlite:///path``; ``postgres://`` and ``postgresql://``
    -> ``postgresql+asyncpg://``. Other schemes (or other drivers such as psycopg) raise
    ``ValueError`` naming the scheme; the password is never part of the message.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The text may hold a password we cannot locate: do not echo any of it.
        raise ValueError(
            "could not parse the database URL; expected sqlite:///path/to/file.db or "
            "postgresql://user:password@host:5432/dbname"
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r} in "
            f"{parsed.render_as_string(hide_password=True)}; use sqlite:// (aiosqlite) "
            "or postgresql:// (asyncpg)"
        )
    return parsed.set(drivername=driver)


def is_sqlite(url: str | URL) -> bool:
    """True when ``url`` (after :func:`normalize_url`) points to SQLite."""
    return normalize_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(
    url: str | URL, *, echo: bool = False, sqlite_foreign_keys: bool = True
) -> AsyncEngine:
    """Build the async engine for ``url`` (see :func:`normalize_url` for accepted URLs).

    SQLite: every new connection gets WAL journaling (readers do not block the writer),
    ``foreign_keys=ON`` (SQLite's default is off) and a busy timeout; the parent directory of the
    file is created. ``sqlite_foreign_keys=False`` is for migrations only: Alembic's batch mode
    recreates tables, and dropping a parent table with foreign keys on would cascade-delete
    children.

    PostgreSQL: a small pre-pinged pool (a dead connection after a failover is replaced instead of
    failing the first request).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo, foreign_keys=sqlite_foreign_keys)
    return _create_async_engine(
        parsed,
        echo=echo,
        pool_pre_ping=True,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        pool_timeout=PG_POOL_TIMEOUT_S,
        pool_recycle=PG_POOL_RECYCLE_S,
    )


def _sqlite_engine(url: URL, *, echo: bool, foreign_keys: bool) -> AsyncEngine:
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = _create_async_engine(url, echo=echo)
    fk_pragma = "ON" if foreign_keys else "OFF"

    @event.listens_for(engine.sync_engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # journal_mode is persistent in the file but must be asked for once; the others are
            # per connection.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA foreign_keys={fk_pragma}")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (no implicit reload on access).

    Open one session per unit of work (``async with sessionmaker() as session``); never share a
    session between concurrently resolving GraphQL fields.
    """
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Run ``SELECT 1``; raises whatever the driver raises when the database is unreachable.

    Used by ``/readyz``.
    """
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
