"""The ``JobQueue`` seam: run a job function by name, later, at most once per job id at a time.

Two backends (DESIGN §2): ``ArqJobQueue`` (services mode, arq workers run the jobs) and
``InProcessJobQueue`` (embedded mode, asyncio tasks in this process calling the SAME job
functions). ``gateway`` never imports ``workers``: the composition root hands the in-process
queue the job registry (``workers.embedded`` builds it).

Contract for callers:

- enqueue AFTER the transaction that wrote the job's input has committed (a worker may start
  before ``enqueue`` returns and must find the row); never inside an open transaction;
- jobs take ids, not payloads (STYLE rule 10); ``job_id`` is the deduplication key: while a
  job with that id is queued or running, enqueueing it again does nothing (returns False);
- jobs may still run twice (a worker dies mid-job, a retry): they are idempotent.

arq specifics handled here: jobs are registered with ``keep_result=0`` (arq refuses to enqueue a
``_job_id`` while an old result exists, so a finished job could never be re-enqueued), and every
function sets its own ``max_tries`` (arq's default of 5 would silently cap or extend retries).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from arq.connections import ArqRedis

log = logging.getLogger(__name__)

JobArg = str | int | float | bool | None
JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job function and its limits, shared by the arq worker and the in-process runner.

    ``max_tries`` counts the first run; ``timeout_s`` bounds one run; ``retry_delay_s`` is the
    wait before the next try after a failure (multiplied by the try number).
    """

    name: str
    function: JobFunction
    max_tries: int = 3
    timeout_s: float = 60.0
    retry_delay_s: float = 1.0


class JobQueue(Protocol):
    """Enqueue a job by function name (see the module docstring for the contract)."""

    async def enqueue(self, function: str, job_id: str, *args: JobArg) -> bool:
        """Queue ``function(ctx, *args)`` under ``job_id``; False when that id is pending."""

    async def aclose(self) -> None:
        """Release what the queue holds (in-process: finish or cancel running jobs)."""


class ArqJobQueue:
    """Services mode: jobs go to arq's Redis queue; ``jira-gateway worker`` runs them.

    ``pool`` is an ``ArqRedis`` from ``arq.create_pool`` built in the lifespan (it does not
    decode responses: do not share it with code expecting text).
    """

    def __init__(self, pool: ArqRedis, *, queue_name: str | None = None) -> None:
        self._pool = pool
        self._queue_name = queue_name

    async def enqueue(self, function: str, job_id: str, *args: JobArg) -> bool:
        job = await self._pool.enqueue_job(
            function, *args, _job_id=job_id, _queue_name=self._queue_name
        )
        return job is not None

    async def aclose(self) -> None:
        await self._pool.aclose()


class InProcessJobQueue:
    """Embedded mode: each job runs as an asyncio task of this process, with arq's semantics.

    ``ctx`` is the worker context dict the job functions expect (``workers.context``); each run
    gets a copy with ``job_id`` and ``job_try`` set, as arq does. Retries on any exception up to
    the spec's ``max_tries``; a run longer than ``timeout_s`` is cancelled and counts as a
    failure. Nothing is persisted: jobs queued when the process stops are lost, which is why
    jobs work from database rows that a sweeper can find again.
    """

    def __init__(self, specs: Mapping[str, JobSpec], ctx: Mapping[str, Any]) -> None:
        self._specs = dict(specs)
        self._ctx = dict(ctx)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._closed = False
        self.completed = 0
        self.failed = 0

    async def enqueue(self, function: str, job_id: str, *args: JobArg) -> bool:
        if self._closed:
            raise RuntimeError("the job queue is closed")
        spec = self._specs.get(function)
        if spec is None:
            raise KeyError(f"no job function named {function!r}")
        if job_id in self._running:
            return False
        task = asyncio.create_task(self._run(spec, job_id, args), name=f"job:{function}:{job_id}")
        self._running[job_id] = task
        task.add_done_callback(lambda _t: self._running.pop(job_id, None))
        return True

    async def _run(self, spec: JobSpec, job_id: str, args: tuple[JobArg, ...]) -> None:
        for job_try in range(1, spec.max_tries + 1):
            ctx = {**self._ctx, "job_id": job_id, "job_try": job_try}
            try:
                await asyncio.wait_for(spec.function(ctx, *args), spec.timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "job %s %s failed (try %d/%d)", spec.name, job_id, job_try, spec.max_tries
                )
                if job_try < spec.max_tries:
                    await asyncio.sleep(spec.retry_delay_s * job_try)
                continue
            self.completed += 1
            return
        self.failed += 1

    async def drain(self, within: float = 30.0) -> None:
        """Wait until every queued job has finished (tests, shutdown)."""
        deadline = asyncio.get_running_loop().time() + within
        while self._running:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._running)} jobs still running")
            await asyncio.wait(set(self._running.values()), timeout=remaining)

    async def aclose(self, grace: float = 5.0) -> None:
        """Let running jobs finish for ``grace`` seconds, then cancel the rest."""
        self._closed = True
        tasks = set(self._running.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


__all__ = ["ArqJobQueue", "InProcessJobQueue", "JobArg", "JobFunction", "JobQueue", "JobSpec"]
