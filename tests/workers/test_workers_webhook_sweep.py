"""The webhook-delivery sweeper: lost ``process_webhook`` jobs run again, the event goes out once.

Embedded (SQLite and PostgreSQL, the in-process queue) and services (PostgreSQL, Redis broker,
arq queue, a real arq worker with the original job id still reserved as a killed worker leaves
it).
"""

from __future__ import annotations

import asyncio
import json
import uuid
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from redis.asyncio import Redis

from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.db.models import Site, WebhookDelivery
from gateway.jobs import ArqJobQueue
from gateway.pubsub import Broker, Gap, MemoryBroker
from gateway.pubsub_redis import RedisBroker
from gateway.webhook_sweep import (
    SWEEP_DELIVERIES_JOB,
    SweepPolicy,
    due_attempt,
    sweep_deliveries,
    sweep_job_id,
)
from gateway.webhooks import PROCESS_JOB, process_job_id
from workers.context import CTX_KEY, WorkerContext
from workers.embedded import build_job_queue
from workers.registry import JOBS
from workers.settings import WorkerSettings
from workers.webhooks import sweep_webhook_deliveries

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
PAYLOAD = CONTRACT / "webhooks" / "mattermost-plugin-jira" / "webhook-issue-created.json"
SITE = "site-sweep"


def payload() -> Any:
    return json.loads(PAYLOAD.read_text(encoding="utf-8"))


async def add_site(worker: WorkerContext) -> None:
    async with worker.sessionmaker() as session, session.begin():
        session.add(Site(id=SITE, base_url="https://sweep.example.net", name="sweep"))


async def store(worker: WorkerContext, age_s: float, status: str = "received") -> str:
    """A delivery as the intake leaves it when its job is lost: stored, no job anywhere."""
    delivery = WebhookDelivery(
        site_id=SITE,
        identifier=str(uuid.uuid4()),
        body=payload(),
        status=status,
        received_at=datetime.now(UTC) - timedelta(seconds=age_s),
    )
    async with worker.sessionmaker() as session, session.begin():
        session.add(delivery)
    return delivery.id


async def status_of(worker: WorkerContext, delivery_id: str) -> tuple[str, str | None]:
    async with worker.sessionmaker() as session:
        row = await session.get(WebhookDelivery, delivery_id)
    assert row is not None
    return row.status, row.event_id


async def published(broker: Broker) -> list[str]:
    events = await broker.replay("0-0")
    assert not isinstance(events, Gap)
    return [event.id for event in events]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'sweep.sqlite3'}"
    else:
        url = request.getfixturevalue("fresh_pg_database")
    upgrade(url)
    return url


@pytest.fixture
async def embedded(database_url: str) -> AsyncIterator[WorkerContext]:
    engine = create_engine(database_url)
    broker = MemoryBroker()
    await broker.start()
    worker = WorkerContext(
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        broker=broker,
        http=httpx.AsyncClient(),
        owned=True,
    )
    await add_site(worker)
    queue = build_job_queue(worker)  # sets worker.jobs: the sweep enqueues in-process
    yield worker
    await queue.aclose(grace=5)
    await worker.aclose()


async def test_embedded_sweep_processes_a_lost_delivery_once(embedded: WorkerContext) -> None:
    lost = await store(embedded, age_s=150)
    fresh = await store(embedded, age_s=5)  # its job may still be on its way: left alone
    done = await store(embedded, age_s=600, status="processed")
    ctx = {CTX_KEY: embedded}

    first = await sweep_webhook_deliveries(ctx)
    second = await sweep_webhook_deliveries(ctx)  # the same attempt id is still pending
    assert embedded.jobs is not None
    await embedded.jobs.drain(10)  # type: ignore[attr-defined]
    third = await sweep_webhook_deliveries(ctx)  # processed now: nothing left to sweep

    assert (first, second, third) == (1, 0, 0)
    [event_id] = await published(embedded.broker)
    assert await status_of(embedded, lost) == ("processed", event_id)
    assert (await status_of(embedded, fresh))[0] == "received"
    assert (await status_of(embedded, done))[0] == "processed"


async def test_embedded_sweep_after_the_run_finished_publishes_nothing_new(
    embedded: WorkerContext,
) -> None:
    lost = await store(embedded, age_s=3000)  # a process down for 50 minutes
    ctx = {CTX_KEY: embedded}

    # Not at a bucket boundary: only the catch-up sweep (the first after a start) takes it.
    assert await sweep_webhook_deliveries(ctx) == 0
    assert await sweep_webhook_deliveries(ctx, 60.0, True) == 1
    assert embedded.jobs is not None
    await embedded.jobs.drain(10)  # type: ignore[attr-defined]
    # Processed now: a second catch-up (the next restart) finds nothing to re-enqueue.
    assert await sweep_webhook_deliveries(ctx, 60.0, True) == 0

    assert len(await published(embedded.broker)) == 1
    assert (await status_of(embedded, lost))[0] == "processed"


def test_a_failing_delivery_is_retried_at_doubling_ages_then_given_up() -> None:
    policy = SweepPolicy(stale_after_s=120, period_s=60, give_up_after_s=24 * 3600)
    # A sweep every minute, 7 s past the minute of the delivery, for two days.
    enqueued = [
        (age, attempt)
        for age in range(7, 2 * 24 * 3600, 60)
        if (attempt := due_attempt(age, policy, catch_up=False)) is not None
    ]

    attempts = [attempt for _age, attempt in enqueued]
    assert attempts == list(range(len(attempts)))  # each attempt once, in order
    for age, attempt in enqueued:
        assert 120 * 2**attempt <= age < 120 * 2**attempt + policy.window_s
    assert enqueued[-1][0] <= policy.give_up_after_s
    assert len(enqueued) == 10  # 2 min, 4, 8, ... 17 h: ten tries in a day
    assert due_attempt(90, policy, catch_up=True) is None
    assert due_attempt(25 * 3600, policy, catch_up=True) is None
    assert sweep_job_id("d", 3) != process_job_id("d")


def test_sweep_is_registered_and_scheduled_every_minute() -> None:
    spec = next(spec for spec in JOBS if spec.name == SWEEP_DELIVERIES_JOB)
    assert spec.function is sweep_webhook_deliveries
    assert any(f.name == SWEEP_DELIVERIES_JOB for f in WorkerSettings.functions)
    [cron] = [c for c in WorkerSettings.cron_jobs if c.coroutine is sweep_webhook_deliveries]
    assert cron.minute is None  # every minute
    assert cron.max_tries == 1


async def test_services_sweep_bypasses_the_reserved_job_id_of_a_killed_worker(
    fresh_pg_database: str, redis_url: str
) -> None:
    await asyncio.to_thread(upgrade, fresh_pg_database)
    queue_name = f"jgw:test:queue:{uuid.uuid4().hex}"
    prefix = f"{{jgw:test:{uuid.uuid4().hex}}}"
    pool = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=queue_name)
    jobs = ArqJobQueue(pool, queue_name=queue_name)
    observer = Redis.from_url(redis_url, decode_responses=True)
    engine = create_engine(fresh_pg_database)
    setup = WorkerContext(
        engine=engine,
        sessionmaker=create_sessionmaker(engine),
        broker=MemoryBroker(),
        http=httpx.AsyncClient(),
        owned=True,
    )
    await add_site(setup)
    lost = await store(setup, age_s=150)
    # What a worker killed mid-job leaves: the job key and its in-progress key, which keep
    # the original id reserved until the longest job timeout has passed.
    original = process_job_id(lost)
    await pool.psetex(f"arq:job:{original}", 1_800_000, b"lost")
    await pool.psetex(f"arq:in-progress:{original}", 1_800_000, b"1")
    assert await jobs.enqueue(PROCESS_JOB, original, lost) is False

    async def startup(ctx: dict[str, Any]) -> None:
        redis = Redis.from_url(redis_url, decode_responses=True)
        ctx[CTX_KEY] = WorkerContext(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            broker=RedisBroker(redis, prefix=prefix),
            http=httpx.AsyncClient(),
            redis=redis,
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        context = ctx[CTX_KEY]
        await context.broker.aclose()
        await context.http.aclose()
        assert context.redis is not None
        await context.redis.aclose()

    try:
        # The cron fires on two workers at once, or twice: two sweeps race.
        assert await jobs.enqueue(SWEEP_DELIVERIES_JOB, "sweep-a") is True
        assert await jobs.enqueue(SWEEP_DELIVERIES_JOB, "sweep-b") is True
        worker = Worker(
            functions=WorkerSettings.functions,
            queue_name=queue_name,
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
                warnings.filterwarnings("ignore", "Call to deprecated close", DeprecationWarning)
                await worker.close()

        # Two sweeps and ONE process_webhook run under the fresh id.
        assert (worker.jobs_complete, worker.jobs_failed) == (3, 0)
        async with RedisBroker(observer, prefix=prefix) as broker:
            events = await published(broker)
        assert len(events) == 1
        assert await status_of(setup, lost) == ("processed", events[0])
        assert await sweep_deliveries(setup.sessionmaker, jobs) == []
    finally:
        await pool.delete(queue_name, f"arq:job:{original}", f"arq:in-progress:{original}")
        await observer.delete(f"{prefix}:stream", f"{prefix}:last")
        async for key in observer.scan_iter(f"{prefix}:dedupe:*"):
            await observer.delete(key)
        await observer.aclose()
        await jobs.aclose()
        await setup.aclose()
