"""JIRA webhook intake: ``POST /webhooks/jira/{site_id}`` -> verified, stored once, job queued.

Order of checks (STYLE rule 9), each answer final for JIRA (it retries only 5xx and timeouts):

1. the site must have a webhook secret (``site_webhooks``), else **404**;
2. the body is read as a stream and counted: above ``max_body_bytes`` (1 MiB) -> **413**;
3. authenticity on the RAW body, before any parsing, else **401** (nothing stored or queued):
   ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` compared in constant time; or,
   when that header is absent, a Cloud ``Authorization: JWT|Bearer <token>`` verified as HS256
   with the same secret: signature, ``exp`` (required) and ``nbf``/``iat`` with 60 s leeway.
   ``qsh`` and ``iss`` are NOT checked (webhooks do not require ``qsh``; no Connect install
   record exists to match ``iss``). A JWT does not cover the body, so a captured token could
   carry another body until it expires: prefer the HMAC where the site offers it;
4. the body must be a JSON object with a ``webhookEvent`` string, else **400**;
5. ``INSERT ... ON CONFLICT DO NOTHING`` into ``webhook_deliveries`` keyed by (site,
   ``X-Atlassian-Webhook-Identifier``; without the header ``sha256:<hex of the body>``); the
   transaction commits, THEN ``process_webhook`` is enqueued, only for a new row; **202** for
   new and replayed deliveries alike. If enqueueing fails the row is removed again and the
   answer is **503**, so JIRA's retry stores and queues it anew.

Mounting: ``webhook_route(lambda request: request.app.state.gateway.webhooks)`` in the app's
routes, with a ``WebhookIntake`` built in the lifespan.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import jwt
import orjson
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.auth.vault import Vault
from gateway.db.models import SiteWebhook, WebhookDelivery, new_id
from gateway.jobs import JobQueue

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/jira/{site_id}"
MAX_BODY_BYTES = 1024 * 1024
PROCESS_JOB = "process_webhook"
JWT_LEEWAY_S = 60
_MAX_IDENTIFIER = 128


def secret_binding(site_id: str) -> str:
    """The vault binding of a site's webhook secret (a ciphertext moved to another row fails)."""
    return f"site_webhook:{site_id}"


def process_job_id(delivery_id: str) -> str:
    """The job id of a delivery's processing job: one job per delivery, whatever the retries."""
    return f"{PROCESS_JOB}:{delivery_id}"


class WebhookSecrets:
    """Per-site webhook secrets, stored sealed by the credential vault in ``site_webhooks``."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], vault: Vault) -> None:
        self._sessionmaker = sessionmaker
        self._vault = vault

    async def get(self, site_id: str) -> bytes | None:
        """The site's secret as HMAC key bytes, or None when the site has none."""
        async with self._sessionmaker() as session:
            ciphertext = await session.scalar(
                select(SiteWebhook.secret_ciphertext).where(SiteWebhook.site_id == site_id)
            )
        if ciphertext is None:
            return None
        secret = self._vault.open(ciphertext, bound_to=secret_binding(site_id))["secret"]
        return str(secret).encode()

    async def set(self, site_id: str, secret: str) -> None:
        """Store (or replace) the secret of ``site_id`` (the ``sites`` row must exist)."""
        sealed = self._vault.seal({"secret": secret}, bound_to=secret_binding(site_id))
        async with self._sessionmaker() as session, session.begin():
            row = await session.get(SiteWebhook, site_id)
            if row is None:
                session.add(SiteWebhook(site_id=site_id, secret_ciphertext=sealed))
            else:
                row.secret_ciphertext = sealed


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def verify(secret: bytes, body: bytes, signature: str | None, authorization: str | None) -> bool:
    """True when ``body`` is authentic (see the module docstring for what is checked)."""
    if signature is not None:
        scheme, _, digest = signature.strip().partition("=")
        if scheme.lower() != "sha256" or not digest:
            return False
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), digest.strip().lower().encode())
    if authorization is None:
        return False
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in ("jwt", "bearer") or not token:
        return False
    try:
        jwt.decode(
            token.strip(),
            secret,
            algorithms=["HS256"],
            options={"require": ["exp"], "verify_aud": False},
            leeway=JWT_LEEWAY_S,
        )
    except jwt.PyJWTError:
        return False
    return True


class WebhookIntake:
    """The endpoint's logic with its dependencies (built in the lifespan)."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        secrets: WebhookSecrets,
        jobs: JobQueue,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._secrets = secrets
        self._jobs = jobs
        self._max_body_bytes = max_body_bytes

    async def handle(self, request: Request) -> Response:
        site_id = str(request.path_params["site_id"])
        headers = request.headers
        try:
            secret = await self._secrets.get(site_id)
            if secret is None:
                raise _Refused(404, "unknown site")
            body = await self._read_body(request)
            if not verify(
                secret, body, headers.get("x-hub-signature"), headers.get("authorization")
            ):
                raise _Refused(401, "bad or missing signature")
            payload = _decode(body)
        except _Refused as refused:
            if refused.status == 401:
                log.warning("webhook for site %s refused: %s", site_id, refused.message)
            return JSONResponse({"error": refused.message}, status_code=refused.status)
        identifier = _identifier(headers.get("x-atlassian-webhook-identifier"), body)
        delivery_id = await self._store(site_id, identifier, payload)
        if delivery_id is None:
            return JSONResponse({"status": "accepted", "duplicate": True}, status_code=202)
        try:
            await self._jobs.enqueue(PROCESS_JOB, process_job_id(delivery_id), delivery_id)
        except Exception:
            log.exception("could not enqueue webhook delivery %s; JIRA will retry", delivery_id)
            async with self._sessionmaker() as session, session.begin():
                await session.execute(
                    delete(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                )
            return JSONResponse({"error": "try again later"}, status_code=503)
        return JSONResponse({"status": "accepted", "duplicate": False}, status_code=202)

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_body_bytes:
            raise _Refused(413, "body too large")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self._max_body_bytes:
                raise _Refused(413, "body too large")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _store(self, site_id: str, identifier: str, payload: dict[str, Any]) -> str | None:
        """Insert the delivery once; its id, or None when (site, identifier) already exists."""
        async with self._sessionmaker() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = (
                insert(WebhookDelivery)
                .values(
                    id=new_id(),
                    site_id=site_id,
                    identifier=identifier,
                    body=payload,
                    status="received",
                )
                .on_conflict_do_nothing(index_elements=["site_id", "identifier"])
                .returning(WebhookDelivery.id)
            )
            inserted: str | None = await session.scalar(statement)
        return inserted


def _decode(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _Refused(400, "malformed JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("webhookEvent"), str):
        raise _Refused(400, "not a JIRA webhook body (no webhookEvent)")
    return payload


def _identifier(header: str | None, body: bytes) -> str:
    if header and header.strip():
        value = header.strip()
        if len(value) <= _MAX_IDENTIFIER:
            return value
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def webhook_route(intake_of: Callable[[Request], WebhookIntake], path: str = WEBHOOK_PATH) -> Route:
    """The Starlette route; ``intake_of(request)`` finds the intake (e.g. on ``app.state``)."""

    async def endpoint(request: Request) -> Response:
        return await intake_of(request).handle(request)

    return Route(path, endpoint, methods=["POST"], name="jira_webhook")


__all__ = [
    "MAX_BODY_BYTES",
    "PROCESS_JOB",
    "WEBHOOK_PATH",
    "WebhookIntake",
    "WebhookSecrets",
    "process_job_id",
    "secret_binding",
    "verify",
    "webhook_route",
]
