"""Job ``process_webhook``: a stored delivery -> cache invalidation -> one published IssueEvent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from gateway.db.models import WebhookDelivery
from gateway.events import normalize
from gateway.jira.errors import JiraMalformedResponse
from gateway.jira.parse_webhook import parse_webhook
from gateway.sync import apply_webhook
from gateway.webhook_sweep import SweepPolicy, sweep_deliveries
from workers.context import job_queue, worker_context

log = logging.getLogger(__name__)


def publish_dedupe_key(delivery_id: str) -> str:
    return f"webhook:{delivery_id}"


async def process_webhook(ctx: dict[str, Any], delivery_id: str) -> str:
    """Process one ``webhook_deliveries`` row; returns its final status. Idempotent.

    In ONE transaction holding the row (``FOR UPDATE`` on PostgreSQL): skip unless the row is
    still ``received``; parse and normalize the stored body; invalidate the issue's cache
    entries; publish the event with the delivery as dedupe key; record ``processed`` with the
    event's cursor. A rerun after a crash between publish and commit finds the dedupe key and
    gets the first cursor back, so the event is published once. Bodies that do not parse end
    ``failed`` and events about no issue ``ignored``; neither is retried.

    Deliveries naming the issue by id only (Server ``comment_*`` without ``issue``,
    ``issuelink_*``) are not invalidated here: JIRA sends the same change with the issue key
    too (``jira:issue_updated``), and that delivery invalidates it.
    """
    worker = worker_context(ctx)
    async with worker.sessionmaker() as session, session.begin():
        query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        delivery = await session.scalar(query)
        if delivery is None:
            log.warning("webhook delivery %s vanished before processing", delivery_id)
            return "missing"
        if delivery.status != "received":
            return delivery.status
        delivery.processed_at = datetime.now(UTC)
        try:
            parsed = parse_webhook(delivery.body, endpoint="webhook delivery")
        except JiraMalformedResponse as exc:
            log.warning("webhook delivery %s does not parse: %s", delivery_id, exc)
            delivery.status = "failed"
            return delivery.status
        event = normalize(parsed, delivery.site_id, body=delivery.body, now=delivery.received_at)
        if event is None:
            delivery.status = "ignored"
            return delivery.status
        if event.issue_key is not None and worker.invalidator is not None:
            await worker.invalidator.invalidate_issue(event.site_id, event.issue_key)
        await apply_webhook(session, delivery.site_id, parsed)  # the local mirror's row
        published = await worker.broker.publish(event, dedupe_key=publish_dedupe_key(delivery_id))
        delivery.status = "processed"
        delivery.event_id = published.id
        return delivery.status


async def sweep_webhook_deliveries(
    ctx: dict[str, Any], period_s: float = 60.0, catch_up: bool = False
) -> int:
    """Re-enqueue deliveries whose ``process_webhook`` job was lost; returns how many.

    ``period_s`` is how often this sweep runs (the arq cron: every minute), ``catch_up`` asks
    for every stale delivery at once (the embedded loop's first run): ``gateway.webhook_sweep``.
    """
    worker = worker_context(ctx)
    policy = SweepPolicy(period_s=period_s)
    return len(
        await sweep_deliveries(worker.sessionmaker, job_queue(ctx), policy, catch_up=catch_up)
    )


__all__ = ["process_webhook", "publish_dedupe_key", "sweep_webhook_deliveries"]
