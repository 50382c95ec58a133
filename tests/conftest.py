"""Shared fixtures: real PostgreSQL, real Redis and the sandbox JIRA over real HTTP.

With ``CI`` set, an unreachable PostgreSQL or Redis is a test failure, never a skip.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import RunningServer, SandboxFactory, serve_in_thread

__all__ = ["RunningServer", "SandboxFactory", "serve_in_thread"]

PG_URL = os.environ.get(
    "JGW_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("JGW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = bool(os.environ.get("CI"))


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _require(url: str, default_port: int, what: str) -> None:
    if _reachable(url, default_port):
        return
    message = f"{what} is unreachable at {url}"
    if IN_CI:
        pytest.fail(message + " (CI is set: a missing service is a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the real PostgreSQL test database (``JGW_TEST_DATABASE_URL``)."""
    _require(PG_URL, 5432, "PostgreSQL")
    return PG_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis used by tests (``JGW_TEST_REDIS_URL``)."""
    _require(REDIS_URL, 6379, "Redis")
    return REDIS_URL


@pytest.fixture
def fresh_pg_database(pg_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncpg

    parts = urlsplit(pg_url)
    admin_dsn = f"postgresql://{parts.netloc}{parts.path}"
    name = f"jgw_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{parts.scheme}://{parts.netloc}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandbox JIRA servers over real HTTP; one per distinct argument set, per session.

    Call it as ``sandbox_factory(flavor="cloud", issues=300, seed=1, site="a")``.
    """
    from gateway.sandbox.app import create_sandbox_app

    running: dict[tuple[Any, ...], RunningServer] = {}

    def start(
        *, flavor: str = "cloud", issues: int = 300, seed: int = 1, site: str = "a"
    ) -> RunningServer:
        key = (flavor, issues, seed, site)
        if key not in running:
            app = create_sandbox_app(flavor=flavor, issues=issues, seed=seed, site=site)
            running[key] = serve_in_thread(app)
        return running[key]

    yield start
    for server in running.values():
        server.stop()


@pytest.fixture(scope="session")
def cloud_sandbox(sandbox_factory: SandboxFactory) -> RunningServer:
    """The default cloud-flavor sandbox (300 issues, seed 1, site a)."""
    return sandbox_factory(flavor="cloud")


@pytest.fixture(scope="session")
def server_sandbox(sandbox_factory: SandboxFactory) -> RunningServer:
    """The default server-flavor sandbox (300 issues, seed 1, site a)."""
    return sandbox_factory(flavor="server")
