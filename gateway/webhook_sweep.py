"""The webhook-delivery sweeper: re-enqueue deliveries whose ``process_webhook`` job was lost.

The intake stores a delivery (status ``received``), commits, then enqueues its job. The job can
be lost: the embedded process dies between commit and run, or an arq worker is killed mid-job
(arq then retries only once the job's in-progress key expires, and that TTL is the LONGEST job
timeout of the worker, 30 minutes because of exports). The sweeper finds deliveries still
``received`` after ``stale_after_s`` and enqueues ``process_webhook`` again.

Job ids: the original id (``process_job_id``) may stay reserved in arq for that long, so a swept
run gets ``<process job id>:sweep<attempt>``. The attempt is derived from the delivery's age,
with exponentially growing buckets (attempt 0 from 1x to 2x ``stale_after_s``, attempt 1 from
2x to 4x, ...), so no state is stored. A delivery is enqueued only on the sweep that sees it
enter a new bucket (the sweep knows its own period), so a delivery whose processing keeps
failing is retried after 2, 4, 8, ... minutes, not every minute, and not at all after
``give_up_after_s``. A sweep with ``catch_up`` (the first one after a start) enqueues every
stale delivery regardless of buckets: the process may have been down through several.

Exactly-once publication does not depend on any of this: ``process_webhook`` skips deliveries
no longer ``received`` and publishes with the delivery as dedupe key, so a swept run racing the
original one publishes one event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db.models import WebhookDelivery
from gateway.jobs import JobQueue
from gateway.webhooks import PROCESS_JOB, process_job_id

log = logging.getLogger(__name__)

SWEEP_DELIVERIES_JOB: Final = "sweep_webhook_deliveries"


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    """When a ``received`` delivery counts as lost, and for how long it is retried.

    ``period_s`` is how often the sweep runs (the arq cron: every minute); a delivery is
    enqueued by the sweeps within ``window_s`` of entering a bucket: one period plus slack for
    a late run (an extra enqueue at worst, collapsed by the job id while it is pending).
    ``limit`` bounds one sweep's work (oldest first); the rest waits for the next sweep.
    """

    stale_after_s: float = 120.0
    period_s: float = 60.0
    give_up_after_s: float = 24 * 3600.0
    limit: int = 500

    @property
    def window_s(self) -> float:
        return self.period_s + max(5.0, 0.1 * self.period_s)


def sweep_attempt(age_s: float, stale_after_s: float) -> int | None:
    """The attempt bucket of a delivery ``age_s`` old: None before ``stale_after_s``, then
    0 until twice that, 1 until four times, and so on (``floor(log2(age / stale))``)."""
    if age_s < stale_after_s:
        return None
    return int(age_s // stale_after_s).bit_length() - 1


def sweep_job_id(delivery_id: str, attempt: int) -> str:
    """A fresh job id per attempt (arq refuses an id whose job or result key still exists)."""
    return f"{process_job_id(delivery_id)}:sweep{attempt}"


def due_attempt(age_s: float, policy: SweepPolicy, *, catch_up: bool) -> int | None:
    """The attempt to enqueue now for a delivery ``age_s`` old, or None to leave it."""
    if age_s > policy.give_up_after_s:
        return None
    attempt = sweep_attempt(age_s, policy.stale_after_s)
    if attempt is None or catch_up:
        return attempt
    # Enqueue only on the sweeps that see the delivery newly in this bucket.
    earlier = sweep_attempt(age_s - policy.window_s, policy.stale_after_s)
    return attempt if earlier != attempt else None


async def sweep_deliveries(
    sessionmaker: async_sessionmaker[AsyncSession],
    jobs: JobQueue,
    policy: SweepPolicy | None = None,
    *,
    catch_up: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """Re-enqueue lost ``process_webhook`` jobs; returns the ids of the deliveries enqueued.

    Enqueue happens after the read transaction ended (``JobQueue`` contract); an id still
    pending is not counted.
    """
    policy = policy or SweepPolicy()
    now = now or datetime.now(UTC)
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(WebhookDelivery.id, WebhookDelivery.received_at)
                .where(
                    WebhookDelivery.status == "received",
                    WebhookDelivery.received_at < now - timedelta(seconds=policy.stale_after_s),
                    WebhookDelivery.received_at >= now - timedelta(seconds=policy.give_up_after_s),
                )
                .order_by(WebhookDelivery.received_at)
                .limit(policy.limit)
            )
        ).all()
    requeued: list[str] = []
    for delivery_id, received_at in rows:
        attempt = due_attempt((now - received_at).total_seconds(), policy, catch_up=catch_up)
        if attempt is None:
            continue
        if await jobs.enqueue(PROCESS_JOB, sweep_job_id(delivery_id, attempt), delivery_id):
            requeued.append(delivery_id)
    if requeued:
        log.warning("re-enqueued %d lost webhook deliveries: %s", len(requeued), requeued[:20])
    return requeued


__all__ = [
    "SWEEP_DELIVERIES_JOB",
    "SweepPolicy",
    "due_attempt",
    "sweep_attempt",
    "sweep_deliveries",
    "sweep_job_id",
]
