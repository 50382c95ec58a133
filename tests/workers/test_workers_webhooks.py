"""process_webhook is idempotent; the job queues dedupe, retry and keep arq re-enqueueable."""

from __future__ import annotations

import asyncio
import json
import uuid
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq import Retry
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker

from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.db.models import Site, WebhookDelivery
from gateway.jobs import ArqJobQueue, InProcessJobQueue, JobSpec
from gateway.pubsub import Gap, MemoryBroker
from gateway.webhooks import PROCESS_JOB, process_job_id
from workers.context import CTX_KEY, WorkerContext
from workers.settings import WorkerSettings, arq_function
from workers.webhooks import process_webhook, publish_dedupe_key

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
WEBHOOKS = CONTRACT / "webhooks"
SITE = "site-w"


def body(rel: str) -> Any:
    return json.loads((WEBHOOKS / rel).read_text(encoding="utf-8"))


class Invalidations:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def invalidate_issue(self, site_id: str, issue_key: str) -> int:
        self.calls.append((site_id, issue_key))
        return 1


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database migrated to head: SQLite (embedded) or a fresh PostgreSQL one (services)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'w.sqlite3'}"
    else:
        url = request.getfixturevalue("fresh_pg_database")
    upgrade(url)
    return url


@pytest.fixture
async def worker(database_url: str) -> AsyncIterator[WorkerContext]:
    url = database_url
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        session.add(Site(id=SITE, base_url="https://w.example.net", name="w"))
    broker = MemoryBroker()
    await broker.start()
    context = WorkerContext(
        engine=engine,
        sessionmaker=sessionmaker,
        broker=broker,
        http=httpx.AsyncClient(),
        invalidator=Invalidations(),
        owned=True,
    )
    yield context
    await context.aclose()


async def store(worker: WorkerContext, payload: Any) -> str:
    delivery = WebhookDelivery(
        site_id=SITE, identifier=str(uuid.uuid4()), body=payload, status="received"
    )
    async with worker.sessionmaker() as session, session.begin():
        session.add(delivery)
    return delivery.id


async def row(worker: WorkerContext, delivery_id: str) -> WebhookDelivery:
    async with worker.sessionmaker() as session:
        found = await session.get(WebhookDelivery, delivery_id)
    assert found is not None
    return found


async def all_events(worker: WorkerContext) -> list[Any]:
    replayed = await worker.broker.replay("0-0")
    assert not isinstance(replayed, Gap)
    return replayed


async def test_rerun_publishes_once(worker: WorkerContext) -> None:
    delivery_id = await store(
        worker, body("mattermost-plugin-jira/webhook-issue-updated-labels.json")
    )
    ctx = {CTX_KEY: worker}

    results = [await process_webhook(ctx, delivery_id), await process_webhook(ctx, delivery_id)]

    assert results == ["processed", "processed"]
    [event] = await all_events(worker)
    stored = await row(worker, delivery_id)
    assert stored.event_id == event.id
    assert stored.processed_at is not None
    assert event.issue_key is not None
    assert worker.invalidator.calls == [(SITE, event.issue_key)]


async def test_concurrent_runs_publish_once(worker: WorkerContext) -> None:
    delivery_id = await store(worker, body("mattermost-plugin-jira/webhook-issue-created.json"))
    ctx = {CTX_KEY: worker}

    results = await asyncio.gather(*(process_webhook(ctx, delivery_id) for _ in range(3)))

    assert set(results) == {"processed"}
    assert len(await all_events(worker)) == 1


async def test_crash_after_publish_before_commit_does_not_publish_again(
    worker: WorkerContext,
) -> None:
    payload = body("mattermost-plugin-jira/webhook-cloud-comment-created.json")
    delivery_id = await store(worker, payload)
    # What a first run that died between publish and commit left behind: the published event.
    from gateway.events import normalize
    from gateway.jira.parse_webhook import parse_webhook

    first = normalize(parse_webhook(payload), SITE, body=payload)
    assert first is not None
    earlier = await worker.broker.publish(first, dedupe_key=publish_dedupe_key(delivery_id))

    assert await process_webhook({CTX_KEY: worker}, delivery_id) == "processed"

    assert [e.id for e in await all_events(worker)] == [earlier.id]
    assert (await row(worker, delivery_id)).event_id == earlier.id


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (
            {"webhookEvent": "project_created", "project": {"id": "1", "key": "P", "name": "P"}},
            "ignored",
        ),
        ({"webhookEvent": "jira:issue_updated", "issue": "not an object"}, "failed"),
    ],
)
async def test_unpublishable_deliveries_end_without_event(
    worker: WorkerContext, payload: Any, status: str
) -> None:
    delivery_id = await store(worker, payload)

    assert await process_webhook({CTX_KEY: worker}, delivery_id) == status

    assert (await row(worker, delivery_id)).status == status
    assert await all_events(worker) == []
    assert await process_webhook({CTX_KEY: worker}, str(uuid.uuid4())) == "missing"


async def test_in_process_queue_dedupes_retries_and_gives_up() -> None:
    runs: list[tuple[str, int]] = []
    gate = asyncio.Event()

    async def flaky(ctx: dict[str, Any], item: str) -> None:
        runs.append((item, ctx["job_try"]))
        await gate.wait()
        if item == "bad" or ctx["job_try"] < 2:
            raise RuntimeError("transient")

    queue = InProcessJobQueue(
        {"flaky": JobSpec("flaky", flaky, max_tries=3, retry_delay_s=0.01)}, {"k": "v"}
    )
    assert await queue.enqueue("flaky", "job-1", "ok") is True
    assert await queue.enqueue("flaky", "job-1", "ok") is False  # pending: collapsed
    assert await queue.enqueue("flaky", "job-2", "bad") is True
    gate.set()
    await queue.drain(5)

    assert sorted(runs) == [("bad", 1), ("bad", 2), ("bad", 3), ("ok", 1), ("ok", 2)]
    assert (queue.completed, queue.failed) == (1, 1)
    assert await queue.enqueue("flaky", "job-1", "ok") is True  # finished: may run again
    await queue.aclose(grace=0.01)
    with pytest.raises(KeyError):
        await InProcessJobQueue({}, {}).enqueue("nope", "x")


async def test_in_process_queue_times_out_a_run() -> None:
    async def slow(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(10)

    queue = InProcessJobQueue({"slow": JobSpec("slow", slow, max_tries=1, timeout_s=0.05)}, {})
    await queue.enqueue("slow", "s")
    await queue.drain(2)
    assert queue.failed == 1


async def test_arq_functions_retry_with_their_own_limits() -> None:
    function = next(f for f in WorkerSettings.functions if f.name == PROCESS_JOB)
    assert (function.name, function.max_tries, function.keep_result_s) == (PROCESS_JOB, 5, 0)
    assert function.timeout_s == 30

    async def boom(ctx: dict[str, Any]) -> None:
        raise RuntimeError("down")

    wrapped = arq_function(JobSpec("boom", boom, max_tries=2, retry_delay_s=0.5))
    with pytest.raises(Retry) as retry:
        await wrapped.coroutine({"job_try": 1})
    assert retry.value.defer_score == 500
    with pytest.raises(RuntimeError):
        await wrapped.coroutine({"job_try": 2})


async def test_arq_job_id_collapses_and_is_reusable_after_the_run(
    redis_url: str, tmp_path: Path
) -> None:
    queue_name = f"jgw:test:queue:{uuid.uuid4().hex}"
    pool = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=queue_name)
    jobs = ArqJobQueue(pool, queue_name=queue_name)
    delivery_id = str(uuid.uuid4())  # no such row: the job ends "missing", quickly
    url = f"sqlite+aiosqlite:///{tmp_path / 'arq.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    broker = MemoryBroker()

    async def startup(ctx: dict[str, Any]) -> None:
        ctx[CTX_KEY] = WorkerContext(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            broker=broker,
            http=httpx.AsyncClient(),
            owned=True,
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx[CTX_KEY].aclose()

    job_id = process_job_id(delivery_id)
    assert await jobs.enqueue(PROCESS_JOB, job_id, delivery_id) is True
    assert await jobs.enqueue(PROCESS_JOB, job_id, delivery_id) is False
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
    assert worker.jobs_complete == 1
    # keep_result=0: no stored result blocks the same id from being queued again.
    assert await jobs.enqueue(PROCESS_JOB, job_id, delivery_id) is True
    await pool.delete(queue_name, f"arq:job:{job_id}")
    await jobs.aclose()
