"""Embedded mode's maintenance loop: the sweeps and the purge keep running after startup."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.config import load_settings
from gateway.db.migrate import upgrade
from gateway.db.models import Site, WebhookDelivery
from gateway.exports import PURGE_JOB, SWEEP_JOB
from gateway.jobs import JobArg
from gateway.maintenance import Periodic, embedded_schedule, maintenance_loop
from gateway.webhook_sweep import SWEEP_DELIVERIES_JOB
from tests.support import serve_in_thread
from workers.registry import JOBS

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
PAYLOAD = CONTRACT / "webhooks" / "mattermost-plugin-jira" / "webhook-issue-created.json"


class RecordingQueue:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[str, str, tuple[JobArg, ...]]] = []
        self.fail_first = fail_first

    async def enqueue(self, function: str, job_id: str, *args: JobArg) -> bool:
        if self.fail_first:
            self.fail_first -= 1
            raise ConnectionError("queue down")
        self.calls.append((function, job_id, args))
        return True

    async def aclose(self) -> None:
        return None

    def of(self, function: str) -> list[tuple[JobArg, ...]]:
        return [args for name, _id, args in self.calls if name == function]


async def run_for(seconds: float, queue: RecordingQueue, schedule: tuple[Periodic, ...]) -> None:
    task = asyncio.create_task(maintenance_loop(queue, schedule))
    await asyncio.sleep(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_loop_enqueues_sweeps_often_and_the_purge_rarely() -> None:
    queue = RecordingQueue()
    await run_for(0.65, queue, embedded_schedule(sweep_every_s=0.05, purge_every_s=0.3))

    exports, purges, deliveries = (
        queue.of(n) for n in (SWEEP_JOB, PURGE_JOB, SWEEP_DELIVERIES_JOB)
    )
    assert len(exports) >= 6
    assert 2 <= len(purges) <= 3  # at start, then every 0.3 s
    assert len(deliveries) >= 6
    # The first delivery sweep catches up on whatever a previous run left; later ones do not.
    assert deliveries[0] == (0.05, True)
    assert set(deliveries[1:]) == {(0.05,)}
    # Every scheduled job is a registered job function (the same ones the arq worker runs).
    assert {name for name, _id, _args in queue.calls} <= {spec.name for spec in JOBS}
    # One fixed id per job: a run still going collapses the next tick.
    assert len({job_id for _name, job_id, _args in queue.calls}) == 3


async def test_loop_survives_a_failing_queue_and_keeps_the_catch_up() -> None:
    queue = RecordingQueue(fail_first=1)
    schedule = (Periodic("job", 0.05, args=(1,), first_args=(1, True)),)
    await run_for(0.3, queue, schedule)

    assert queue.of("job")[0] == (1, True)  # the failed first run kept its first_args
    assert len(queue.of("job")) >= 3


def wait_until(predicate: Callable[[], bool], within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_embedded_app_keeps_sweeping_and_purging(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}"
    upgrade(url)
    settings = load_settings(database_url=url, var_dir=tmp_path, allow_insecure_sites=True)
    db = create_engine(f"sqlite:///{tmp_path / 'gw.sqlite3'}")
    body: Any = json.loads(PAYLOAD.read_text(encoding="utf-8"))

    def add_delivery(age_s: float) -> str:
        delivery_id = str(uuid.uuid4())
        with Session(db) as session, session.begin():
            session.add(
                WebhookDelivery(
                    id=delivery_id,
                    site_id="site-m",
                    identifier=delivery_id,
                    body=body,
                    status="received",
                    received_at=datetime.now(UTC) - timedelta(seconds=age_s),
                )
            )
        return delivery_id

    def status(delivery_id: str) -> str:
        with Session(db) as session:
            return str(
                session.scalar(
                    select(WebhookDelivery.status).where(WebhookDelivery.id == delivery_id)
                )
            )

    with Session(db) as session, session.begin():
        session.add(Site(id="site-m", base_url="https://m.example.net", name="m", flavor="cloud"))
    # Left by a previous run that died 50 minutes ago: only the catch-up sweep takes it.
    before = add_delivery(3000)
    exports_dir = tmp_path / "exports"
    app = create_app(settings, maintenance=embedded_schedule(sweep_every_s=0.1, purge_every_s=0.5))
    server = serve_in_thread(app)
    try:
        assert wait_until(lambda: status(before) == "processed")
        # Lost while this process runs: a later, periodic sweep takes it once it is stale.
        during = add_delivery(119)
        exports_dir.mkdir(exist_ok=True)
        orphan = exports_dir / "orphan.pdf"  # no export row names it: the purge deletes it
        orphan.write_bytes(b"%PDF-1.4")
        assert wait_until(lambda: status(during) == "processed")
        assert wait_until(lambda: not orphan.exists())
    finally:
        server.stop()
        db.dispose()
