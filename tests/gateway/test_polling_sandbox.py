"""The polling fallback against the sandbox over real HTTP: an edit becomes one ``updated``
event in the broker, with no webhook at all, and a second poll does not repeat it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from gateway.auth.credentials import ApiTokenCredential, seal_credential
from gateway.auth.vault import Vault, generate_key
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.db.models import Principal, Site, SiteAccount
from gateway.events import EventType
from gateway.jira.metrics import InMemoryRecorder
from gateway.polling import OVERLAP, Poller, poll_jql
from gateway.pubsub import MemoryBroker
from gateway.sites import SiteClients
from gateway.webhook_registration import Registrar
from gateway.webhooks import WebhookSecrets
from tests.conftest import SandboxFactory

SANDBOX = {"flavor": "server", "issues": 40, "seed": 83, "site": "a"}


def test_poll_jql_covers_the_time_since_the_last_poll() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert poll_jql(None, now) == "updated >= -1m ORDER BY updated ASC"
    assert poll_jql(now - timedelta(seconds=90), now) == "updated >= -3m ORDER BY updated ASC"
    assert poll_jql(now - timedelta(days=2), now) == "updated >= -60m ORDER BY updated ASC"
    assert timedelta(minutes=1) == OVERLAP


@pytest.mark.timeout(60)
async def test_poller_publishes_an_edit_once(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(**SANDBOX)
    url = f"sqlite+aiosqlite:///{tmp_path / 'poll.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    vault = Vault([SecretStr(generate_key())])
    async with sessionmaker() as db, db.begin():
        site = Site(base_url=sandbox.base_url, name="polled", flavor="server")
        principal = Principal()
        db.add_all([site, principal])
        await db.flush()
        account = SiteAccount(
            principal_id=principal.id,
            site_id=site.id,
            jira_account_id="alice",
            display_name="Alice",
            auth_kind="api_token",
            credential_ciphertext="sealed below",
        )
        db.add(account)
        await db.flush()
        account.credential_ciphertext = seal_credential(
            vault, ApiTokenCredential("alice", "alice-token"), bound_to=account.id
        )
        site_id, account_id = site.id, account.id
    registrar = Registrar(sessionmaker, WebhookSecrets(sessionmaker, vault))
    source = await registrar.use_polling(site_id, account_id)
    assert (source.kind, source.webhook_ids) == ("polling", ())

    http = httpx.AsyncClient(timeout=10)
    try:
        async with MemoryBroker() as broker:
            subscription = broker.subscribe()
            poller = Poller(sessionmaker, vault, SiteClients(http, InMemoryRecorder()), broker)
            assert await poller.poll_once() == 0  # nothing changed in the last minute
            edit = await http.put(
                f"{sandbox.base_url}/rest/api/2/issue/ALPHA-3",
                json={"fields": {"summary": "seen by polling"}},
                auth=("alice", "alice-token"),
            )
            assert edit.status_code == 204, edit.text
            assert await poller.poll_once() == 1
            event = await subscription.__anext__()
            assert await poller.poll_once() == 1  # the overlap finds it again ...
            with pytest.raises(TimeoutError):  # ... but its dedupe key publishes it once
                await asyncio.wait_for(subscription.__anext__(), 0.5)
            await subscription.aclose()
    finally:
        await http.aclose()
        await engine.dispose()
    assert (event.issue_key, event.type, event.changes) == ("ALPHA-3", EventType.UPDATED, ())
    assert event.project_key == "ALPHA"
    assert event.site_id == site_id
