"""Signed webhook delivery with JIRA's retry semantics, from background asyncio tasks.

Every delivery is a POST with ``Content-Type: application/json``, a unique
``X-Atlassian-Webhook-Identifier`` that stays the SAME on every retry (receivers dedupe on it),
``X-Atlassian-Webhook-Retry: n`` on retries only (as Atlassian documents it), and, when the webhook
has a secret, ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.

A delivery is retried (up to ``len(retry_delays)`` times) after a transport error, a timeout, or a
408/409/425/429/5xx answer; other answers are final. Real JIRA waits minutes between retries; the
sandbox waits fractions of a second so tests stay fast.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
DEFAULT_RETRY_DELAYS = (0.2, 0.4, 0.8)
LOG_SIZE = 200


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value JIRA sends for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(slots=True)
class DeliveryRecord:
    """One delivery (all its attempts), as shown by ``GET /_sandbox/webhooks/deliveries``."""

    id: str
    webhook_id: int
    url: str
    event: str
    state: Literal["pending", "delivered", "failed"] = "pending"
    status: int | None = None
    attempts: int = 0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhookId": self.webhook_id,
            "url": self.url,
            "event": self.event,
            "state": self.state,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
        }


class Deliverer:
    """Posts webhook bodies with one shared, lazily created ``httpx.AsyncClient``.

    ``submit`` must be called on the event loop (the store calls its subscribers synchronously
    from request handlers). Call ``aclose()`` from the app lifespan: it lets in-flight deliveries
    finish for a moment, cancels the rest and closes the client.
    """

    def __init__(
        self,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retry_delays = tuple(retry_delays)
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.log: deque[DeliveryRecord] = deque(maxlen=LOG_SIZE)

    def submit(
        self, *, webhook_id: int, url: str, event: str, body: bytes, secret: str | None
    ) -> DeliveryRecord:
        """Record a delivery and start it in the background; returns its (live) record."""
        record = DeliveryRecord(id=str(uuid.uuid4()), webhook_id=webhook_id, url=url, event=event)
        self.log.append(record)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # a write outside the server (seeding, a synchronous test): nobody to deliver with
            record.state = "failed"
            record.error = "no running event loop"
            return record
        task = loop.create_task(self._deliver(record, body, secret))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return record

    def deliveries(self) -> list[dict[str, Any]]:
        return [record.as_json() for record in self.log]

    async def drain(self, within: float = 10.0) -> None:
        """Wait (at most ``within`` seconds) until in-flight deliveries have finished."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)

    async def aclose(self, grace: float = 1.0) -> None:
        await self.drain(grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout, transport=self._transport, follow_redirects=False
            )
        return self._client

    async def _deliver(self, record: DeliveryRecord, body: bytes, secret: str | None) -> None:
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-Atlassian-Webhook-Identifier": record.id,
            "User-Agent": "Atlassian Webhook HTTP Client",
        }
        if secret:
            headers["X-Hub-Signature"] = signature(secret, body)
        for attempt in range(len(self.retry_delays) + 1):
            if attempt:
                await asyncio.sleep(self.retry_delays[attempt - 1])
                headers["X-Atlassian-Webhook-Retry"] = str(attempt)
            record.attempts = attempt + 1
            try:
                answer = await self._http().post(record.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                record.status = None
                record.error = f"{type(exc).__name__}: {exc}"
                continue
            record.status = answer.status_code
            record.error = None
            if answer.status_code < 400:
                record.state = "delivered"
                return
            if answer.status_code not in RETRYABLE_STATUSES and answer.status_code < 500:
                break
        record.state = "failed"
        logger.info(
            "webhook %s to %s failed after %d attempts", record.id, record.url, record.attempts
        )
