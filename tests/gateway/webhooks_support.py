"""Test harness for the webhook intake: a minimal Starlette app mounting the real endpoint.

It is what ``gateway/app.py`` will do, reduced: a migrated database with one site and its
sealed secret, a broker, a job queue (in-process, or arq in services mode) and the route. A
``Recorder`` collects, thread-safely, the events a subscriber of the app's broker receives and
the invalidations the job asked for; ``GET /_test/deliveries`` lists the stored deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.auth.vault import Vault, generate_key
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.models import Site, WebhookDelivery
from gateway.events import IssueEvent
from gateway.jobs import JobQueue
from gateway.pubsub import Broker, MemoryBroker
from gateway.webhooks import WebhookIntake, WebhookSecrets, webhook_route
from workers.context import WorkerContext
from workers.embedded import build_job_queue


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Recorder:
    """Events seen by a subscriber and invalidations asked for, readable from the test thread."""

    events: list[IssueEvent] = field(default_factory=list)
    invalidated: list[tuple[str, str]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def invalidate_issue(self, site_id: str, issue_key: str) -> int:
        with self.changed:
            self.invalidated.append((site_id, issue_key))
        return 1

    def add(self, event: IssueEvent) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def wait_for(
        self, predicate: Callable[[list[IssueEvent]], bool], within: float = 10.0
    ) -> list[IssueEvent]:
        deadline = time.monotonic() + within
        with self.changed:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(left)
            return list(self.events)


@dataclass
class Harness:
    """What a test needs to talk to the served intake."""

    site_id: str
    secret: str
    recorder: Recorder
    base_url: str = ""

    @property
    def url(self) -> str:
        return f"{self.base_url}/webhooks/jira/{self.site_id}"

    def deliveries(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.base_url}/_test/deliveries", timeout=10)
        answer.raise_for_status()
        rows: list[dict[str, Any]] = answer.json()
        return rows


BrokerFactory = Callable[[], Broker]
QueueFactory = Callable[[WorkerContext], Any]  # returns JobQueue or an awaitable of one


def intake_app(
    database_url: str,
    harness: Harness,
    *,
    make_broker: BrokerFactory = MemoryBroker,
    make_queue: QueueFactory = build_job_queue,
) -> Starlette:
    """The app: the database at ``database_url`` must already be migrated to head."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(database_url)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            session.add(
                Site(
                    id=harness.site_id,
                    base_url=f"https://{harness.site_id}.example.net",
                    name="test site",
                    flavor="cloud",
                )
            )
        secrets = WebhookSecrets(sessionmaker, Vault([SecretStr(generate_key())]))
        await secrets.set(harness.site_id, harness.secret)
        broker = make_broker()
        await broker.start()
        http = httpx.AsyncClient()
        worker = WorkerContext(
            engine=engine,
            sessionmaker=sessionmaker,
            broker=broker,
            http=http,
            invalidator=harness.recorder,
        )
        queue = make_queue(worker)
        jobs: JobQueue = await queue if asyncio.iscoroutine(queue) else queue
        app.state.intake = WebhookIntake(sessionmaker=sessionmaker, secrets=secrets, jobs=jobs)
        app.state.sessionmaker = sessionmaker

        async def collect() -> None:
            async for event in broker.subscribe():
                harness.recorder.add(event)

        collector = asyncio.create_task(collect())
        try:
            yield
        finally:
            await jobs.aclose()
            await broker.aclose()
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
            await http.aclose()
            await engine.dispose()

    async def deliveries(request: Request) -> JSONResponse:
        async with request.app.state.sessionmaker() as session:
            rows = (await session.scalars(select(WebhookDelivery))).all()
        return JSONResponse(
            [
                {
                    "id": r.id,
                    "identifier": r.identifier,
                    "status": r.status,
                    "event_id": r.event_id,
                    "webhookEvent": r.body.get("webhookEvent"),
                }
                for r in rows
            ]
        )

    return Starlette(
        routes=[
            webhook_route(lambda request: request.app.state.intake),
            Route("/_test/deliveries", deliveries, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def new_harness() -> Harness:
    return Harness(
        site_id=str(uuid.uuid4()), secret="s3cret-" + uuid.uuid4().hex, recorder=Recorder()
    )
