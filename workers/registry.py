"""Every job with its limits: the ONE list used by the arq worker and the embedded runner."""

from __future__ import annotations

from gateway.exports import EXPORT_JOB, PURGE_JOB, SWEEP_JOB
from gateway.jobs import JobSpec
from gateway.webhook_sweep import SWEEP_DELIVERIES_JOB
from gateway.webhooks import PROCESS_JOB
from workers.exports import (
    EXPORT_TIMEOUT_S,
    EXPORT_TRIES,
    export_pdf,
    purge_exports,
    sweep_exports,
)
from workers.sync import SYNC_ALL_JOB, SYNC_JOB, sync_mirror, sync_mirrors
from workers.webhooks import process_webhook, sweep_webhook_deliveries

JOBS: tuple[JobSpec, ...] = (
    # Touches the DB, the cache and the broker once each: 30 s is generous; 5 tries with 1, 2,
    # 3, 4 s waits ride out a Redis or PostgreSQL failover of ~10 s.
    JobSpec(PROCESS_JOB, process_webhook, max_tries=5, timeout_s=30.0, retry_delay_s=1.0),
    # The sweeper re-enqueues lost deliveries; the next run (a minute later) is its retry.
    JobSpec(SWEEP_DELIVERIES_JOB, sweep_webhook_deliveries, max_tries=1, timeout_s=60.0),
    # Exports are long and resumable only by rerunning: 3 tries, 5 then 10 s apart.
    JobSpec(EXPORT_JOB, export_pdf, EXPORT_TRIES, EXPORT_TIMEOUT_S, retry_delay_s=5.0),
    JobSpec(SWEEP_JOB, sweep_exports, max_tries=1, timeout_s=60.0),
    JobSpec(PURGE_JOB, purge_exports, max_tries=1, timeout_s=300.0),
    # Mirror sync: an initial 100,000-issue sync takes minutes; the next run resumes from the
    # stored cursor, so one try per run is enough.
    JobSpec(SYNC_JOB, sync_mirror, max_tries=1, timeout_s=3600.0),
    JobSpec(SYNC_ALL_JOB, sync_mirrors, max_tries=1, timeout_s=3600.0),
)

__all__ = ["JOBS"]
