"""Embedded mode's maintenance loop: the periodic jobs that arq's cron runs in services mode.

One background task (started in the app lifespan, cancelled on shutdown) enqueues each entry of
a schedule through the ``JobQueue`` at start and then every ``every_s`` seconds, so the SAME
job functions run in both modes. Each entry has a fixed job id: while one run is still going,
the next tick is collapsed by the queue instead of piling up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.exports import PURGE_JOB, SWEEP_JOB
from gateway.jobs import JobArg, JobQueue
from gateway.webhook_sweep import SWEEP_DELIVERIES_JOB

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Periodic:
    """Enqueue job ``job`` every ``every_s`` seconds with ``args``; the first run, at start,
    gets ``first_args`` instead when given (a sweep catching up after the process was down)."""

    job: str
    every_s: float
    args: tuple[JobArg, ...] = ()
    first_args: tuple[JobArg, ...] | None = None

    @property
    def job_id(self) -> str:
        return f"maintenance:{self.job}"


def embedded_schedule(
    *, sweep_every_s: float = 60.0, purge_every_s: float = 3600.0
) -> tuple[Periodic, ...]:
    """Export sweep and webhook-delivery sweep every minute, retention purge every hour
    (the same rhythm as ``workers.settings.WorkerSettings.cron_jobs``)."""
    return (
        Periodic(SWEEP_JOB, sweep_every_s),
        Periodic(PURGE_JOB, purge_every_s),
        # The delivery sweep needs its own period to space retries; the first run catches up.
        Periodic(
            SWEEP_DELIVERIES_JOB,
            sweep_every_s,
            args=(sweep_every_s,),
            first_args=(sweep_every_s, True),
        ),
    )


async def maintenance_loop(jobs: JobQueue, schedule: Sequence[Periodic]) -> None:
    """Run ``schedule`` until cancelled. A failed enqueue is logged and retried next period."""
    if not schedule:
        return
    clock = asyncio.get_running_loop()
    due = [clock.time()] * len(schedule)
    started = [False] * len(schedule)
    while True:
        now = clock.time()
        for index, entry in enumerate(schedule):
            if now < due[index]:
                continue
            args = entry.args
            if not started[index] and entry.first_args is not None:
                args = entry.first_args
            due[index] = now + entry.every_s
            try:
                await jobs.enqueue(entry.job, entry.job_id, *args)
            except Exception:
                log.exception("maintenance: could not enqueue %s", entry.job)
                continue
            started[index] = True  # a failed first run keeps its first_args for the next try
        await asyncio.sleep(max(0.0, min(due) - clock.time()))


__all__ = ["Periodic", "embedded_schedule", "maintenance_loop"]
