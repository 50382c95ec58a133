"""Services mode end to end: PostgreSQL, Redis broker, arq queue and a real arq worker.

Gateway process A (served over HTTP) receives the sandbox's signed webhook and enqueues the
job; an arq worker (``WorkerSettings.functions``) processes it; a subscriber on broker B (another
"process": its own Redis client and listener) receives the event, and so does A's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from redis.asyncio import Redis
from webhooks_support import Harness, Recorder, intake_app, new_harness

from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.jobs import ArqJobQueue
from gateway.pubsub_redis import RedisBroker
from tests.support import SandboxFactory, serve_in_thread
from workers.context import CTX_KEY, WorkerContext
from workers.settings import WorkerSettings, shutdown

ALICE_SERVER = ("alice", "alice-token")
SEED = 114


class OwningRedisBroker(RedisBroker):
    """A broker that closes its client too (the app state does that in the gateway)."""

    def __init__(self, redis: Redis, **options: Any) -> None:
        super().__init__(redis, **options)
        self.client = redis

    async def aclose(self) -> None:
        await super().aclose()
        await self.client.aclose()


@pytest.fixture
async def prefix(redis_url: str) -> AsyncIterator[str]:
    value = f"{{jgw:test:{uuid.uuid4().hex}}}"
    yield value
    cleanup = Redis.from_url(redis_url)
    await cleanup.delete(f"{value}:stream", f"{value}:last")
    async for key in cleanup.scan_iter(f"{value}:dedupe:*"):
        await cleanup.delete(key)
    await cleanup.aclose()


def wait_rows(harness: Harness, count: int, within: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    rows = harness.deliveries()
    while len(rows) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        rows = harness.deliveries()
    return rows


async def test_webhook_on_process_a_reaches_a_subscriber_on_process_b(
    fresh_pg_database: str, redis_url: str, prefix: str, sandbox_factory: SandboxFactory
) -> None:
    await asyncio.to_thread(upgrade, fresh_pg_database)
    queue = f"jgw:test:queue:{uuid.uuid4().hex}"
    harness = new_harness()

    async def arq_queue(_worker: WorkerContext) -> ArqJobQueue:
        pool = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=queue)
        return ArqJobQueue(pool, queue_name=queue)

    app = intake_app(
        fresh_pg_database,
        harness,
        make_broker=lambda: OwningRedisBroker(
            Redis.from_url(redis_url, decode_responses=True), prefix=prefix
        ),
        make_queue=arq_queue,
    )
    server = await asyncio.to_thread(serve_in_thread, app)
    harness.base_url = server.base_url
    process_b = Redis.from_url(redis_url, decode_responses=True)
    worker_invalidations = Recorder()

    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(fresh_pg_database)
        redis = Redis.from_url(redis_url, decode_responses=True)
        ctx[CTX_KEY] = WorkerContext(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            broker=RedisBroker(redis, prefix=prefix),
            http=httpx.AsyncClient(),
            redis=redis,
            invalidator=worker_invalidations,
            owned=True,
        )

    sandbox = sandbox_factory(flavor="server", seed=SEED)
    jira = httpx.AsyncClient(base_url=sandbox.base_url, auth=ALICE_SERVER, timeout=10)
    try:
        async with RedisBroker(process_b, prefix=prefix) as broker_b:
            subscription = broker_b.subscribe()
            hook = await jira.post(
                "/rest/webhooks/1.0/webhook",
                json={
                    "name": "gateway under test",
                    "url": harness.url,
                    "events": ["jira:issue_updated"],
                    "filters": {"issue-related-events-section": "project = ALPHA"},
                    "secret": harness.secret,
                },
            )
            assert hook.status_code == 201, hook.text
            edit = await jira.put(
                "/rest/api/2/issue/ALPHA-6", json={"fields": {"summary": "Seen by B"}}
            )
            assert edit.status_code == 204, edit.text
            [row] = await asyncio.to_thread(wait_rows, harness, 1)
            assert row["status"] == "received"  # no worker yet: queued in Redis

            worker = Worker(
                functions=WorkerSettings.functions,
                queue_name=queue,
                redis_settings=RedisSettings.from_dsn(redis_url),
                on_startup=startup,
                on_shutdown=shutdown,
                burst=True,
                handle_signals=False,
                poll_delay=0.05,
            )
            try:
                await worker.main()
            finally:
                with warnings.catch_warnings():
                    # arq 0.28's Worker.close() calls redis-py's deprecated close().
                    warnings.filterwarnings(
                        "ignore", "Call to deprecated close", DeprecationWarning
                    )
                    await worker.close()

            event = await asyncio.wait_for(anext(subscription), 5)
            await jira.delete(hook.json()["self"])
    finally:
        await jira.aclose()
        await process_b.aclose()
        await asyncio.to_thread(server.stop)

    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    assert event.issue_key == "ALPHA-6"
    assert event.site_id == harness.site_id
    [summary] = [c for c in event.changes if c.field == "summary"]
    assert summary.to_string == "Seen by B"
    assert worker_invalidations.invalidated == [(harness.site_id, "ALPHA-6")]
    # Process A's own subscriber got it through its listener too.
    assert [e.id for e in harness.recorder.events] == [event.id]
