"""Every job with its limits: the ONE list used by the arq worker and the embedded runner."""

from __future__ import annotations

from gateway.jobs import JobSpec
from gateway.webhooks import PROCESS_JOB
from workers.webhooks import process_webhook

JOBS: tuple[JobSpec, ...] = (
    # Touches the DB, the cache and the broker once each: 30 s is generous; 5 tries with 1, 2,
    # 3, 4 s waits ride out a Redis or PostgreSQL failover of ~10 s.
    JobSpec(PROCESS_JOB, process_webhook, max_tries=5, timeout_s=30.0, retry_delay_s=1.0),
)

__all__ = ["JOBS"]
