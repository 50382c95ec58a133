"""Services mode across two gateway processes: a webhook received by gateway A reaches a
subscriber connected to gateway B (one PostgreSQL database, one Redis, a real arq worker)."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.cache import Cache
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.pubsub_redis import RedisBroker
from tests.api.subscriptions_support import (
    REGISTER,
    admin_token,
    collect,
    edit_summary,
    gateway_settings,
    gql,
    issue_in,
    login,
    next_message,
    subscribe,
    ws_session,
)
from tests.conftest import SandboxFactory, serve_in_thread
from workers.context import CTX_KEY, WorkerContext
from workers.settings import WorkerSettings, shutdown

pytestmark = pytest.mark.timeout(120)
SANDBOX = {"flavor": "cloud", "issues": 60, "seed": 79, "site": "a"}


def _worker(database_url: str, redis_url: str) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(database_url)
        redis = Redis.from_url(redis_url, decode_responses=True)
        ctx[CTX_KEY] = WorkerContext(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            broker=RedisBroker(redis),
            http=httpx.AsyncClient(),
            redis=redis,
            invalidator=Cache.on_redis(redis),
            owned=True,
        )

    return Worker(
        functions=WorkerSettings.functions,
        redis_settings=RedisSettings.from_dsn(redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=False,
        poll_delay=0.05,
    )


async def test_webhook_on_gateway_a_reaches_subscriber_on_gateway_b(
    fresh_pg_database: str,
    redis_url: str,
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
) -> None:
    await asyncio.to_thread(upgrade, fresh_pg_database)
    settings = gateway_settings(fresh_pg_database, tmp_path, redis_url=redis_url)
    sandbox = sandbox_factory(**SANDBOX)
    gateway_a = await asyncio.to_thread(serve_in_thread, create_app(settings))
    gateway_b = await asyncio.to_thread(serve_in_thread, create_app(settings))
    worker = _worker(fresh_pg_database, redis_url)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        alice = await asyncio.to_thread(login, gateway_a.base_url, sandbox.base_url, "alice")
        bob = await asyncio.to_thread(login, gateway_a.base_url, sandbox.base_url, "bob")
        admin = await asyncio.to_thread(admin_token, fresh_pg_database, alice.principal_id)
        registered = await asyncio.to_thread(
            gql, gateway_a.base_url, REGISTER, admin, base=gateway_a.base_url
        )
        assert "errors" not in registered, registered
        visible = await asyncio.to_thread(issue_in, sandbox.base_url, "ALPHA")
        hidden = await asyncio.to_thread(issue_in, sandbox.base_url, "DELTA")  # not bob's

        async with (
            ws_session(gateway_b.base_url, alice.token) as alice_ws,
            ws_session(gateway_b.base_url, bob.token) as bob_ws,
        ):
            await subscribe(alice_ws, "a")
            await subscribe(bob_ws, "b")
            await asyncio.sleep(0.5)
            await asyncio.to_thread(edit_summary, sandbox.base_url, hidden, "via A, hidden")
            await asyncio.to_thread(edit_summary, sandbox.base_url, visible, "via A, to B")
            # Two deliveries are two arq jobs: they may finish in either order.
            alice_seen = [await next_message(alice_ws, 20) for _ in range(2)]
            alice_seen += await collect(alice_ws, 1)
            bob_seen = await collect(bob_ws, 2)
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
            await worker.close()
        await asyncio.to_thread(gateway_a.stop)
        await asyncio.to_thread(gateway_b.stop)

    events = {m["payload"]["data"]["issueChanged"]["issueKey"]: m for m in alice_seen}
    assert sorted(events) == sorted([hidden, visible]), alice_seen
    assert len(alice_seen) == 2, alice_seen
    changes = events[visible]["payload"]["data"]["issueChanged"]["changes"]
    assert [c["toString"] for c in changes if c["field"] == "summary"] == ["via A, to B"]
    assert [m["payload"]["data"]["issueChanged"]["issueKey"] for m in bob_seen] == [visible]
