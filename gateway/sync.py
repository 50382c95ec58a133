"""The local mirror's sync: JIRA issues -> ``mirror_issues`` rows, incremental and reconciled.

Identity: a site's mirror is fetched as ONE site account, ``mirror_sites.sync_account_id`` (the
user who enabled it, else the first account connected to the site, recorded on first sync). The
mirror therefore holds what that account can see; it is never served without a check as the
asking user (``gateway.mirror_search``, ``gateway.stats``).

Incremental pass: ``updated >= cursor - SAFETY_MARGIN ORDER BY updated ASC, key ASC``, paged,
upserted page by page; the cursor advances to the largest ``updated`` stored and is committed
with each page, so an interrupted sync resumes where it stopped. The margin covers JIRA's clock
skew between nodes and writes that commit after a search started. Upserts only change a row when
the fetched ``updated`` is newer (a slow page never overwrites a newer webhook update) and return
the keys they changed.

Full scan (every ``FULL_SCAN_EVERY``, or on request): every issue id the account can see, 5,000
per page (key-only searches); rows no longer seen become tombstones (``deleted_at``), issues seen
but missing are fetched (an account granted a new project, an issue moved in).

Job safety: idempotent; concurrent runs on one site only repeat work. Timestamps in JQL are
epoch milliseconds: independent of the account's time zone, which date literals are not.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.credentials import open_credential
from gateway.auth.vault import Vault
from gateway.db.models import MirrorIssue, MirrorSite, Site, SiteAccount
from gateway.jira.adapter_base import Caller, SearchPage
from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.client import JiraClient
from gateway.jira.dto import WebhookEvent
from gateway.mirror_rows import MIRROR_FIELDS, mirror_row, upsert_rows
from gateway.sites import SiteClients

log = logging.getLogger(__name__)

SAFETY_MARGIN = timedelta(minutes=2)
FULL_SCAN_EVERY = timedelta(hours=6)
# Ask for the most any JIRA serves: both flavors cap maxResults silently (Cloud at 100 issues
# with fields, Server/DC at 1000 by default) and the adapters page by what came back.
PAGE_SIZE = 1000
SCAN_PAGE_SIZE = 5000  # Cloud's cap for id/key-only searches (Server caps at 1000)
_REFETCH_CHUNK = 500
ANALYZE_AFTER = 1000  # rows changed by one run (and 10% of the mirror) before re-analyzing
# "Since the beginning" for a bounded query (Cloud refuses unbounded JQL); JIRA reads short
# numbers as something other than epoch milliseconds, so not 0 but one day after the epoch.
EPOCH_FLOOR_MS = 86_400_000
_STATE_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class SyncSource:
    """The JIRA identity a site's mirror is fetched with."""

    site_id: str
    account_id: str
    client: JiraClient
    caller: Caller


@dataclass(slots=True)
class SyncReport:
    """What one ``sync_site`` run did (``changed``: keys whose row was inserted or updated)."""

    site_id: str
    fetched: int = 0
    changed: list[str] = field(default_factory=list)
    tombstoned: int = 0
    restored: int = 0
    full_scan: bool = False
    pages: int = 0
    seconds: float = 0.0
    cursor: datetime | None = None


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def record_sync_account(
    sessionmaker: async_sessionmaker[AsyncSession], site_id: str, account_id: str
) -> None:
    """Make ``account_id`` the site's sync identity (an admin enabling the mirror)."""
    async with sessionmaker() as db, db.begin():
        row = await db.get(MirrorSite, site_id)
        if row is None:
            db.add(MirrorSite(site_id=site_id, sync_account_id=account_id, state="idle"))
        else:
            row.sync_account_id = account_id
            if row.state == "disabled":
                row.state = "idle"


async def _start(db: AsyncSession, site_id: str, account_id: str) -> MirrorSite:
    row = await db.get(MirrorSite, site_id)
    if row is None:
        row = MirrorSite(site_id=site_id, sync_account_id=account_id, state="syncing")
        db.add(row)
    else:
        row.state = "syncing"
        row.error = None
        row.sync_account_id = row.sync_account_id or account_id
    await db.flush()
    return row


async def sync_site(
    sessionmaker: async_sessionmaker[AsyncSession],
    source: SyncSource,
    *,
    full_scan: bool | None = None,
    page_size: int = PAGE_SIZE,
    margin: timedelta = SAFETY_MARGIN,
    now: datetime | None = None,
) -> SyncReport:
    """One sync pass of ``source.site_id`` (see the module docstring); returns what it did.

    ``full_scan``: None decides by ``last_full_scan_at``; True/False force it. On failure the
    site's state becomes ``error`` (with a short message) and the exception propagates; the
    cursor keeps the progress of the pages already stored.
    """
    started = time.perf_counter()
    report = SyncReport(source.site_id)
    async with sessionmaker() as db, db.begin():
        state = await _start(db, source.site_id, source.account_id)
        cursor = state.cursor
        last_scan = state.last_full_scan_at
    now = now or datetime.now(UTC)
    try:
        cursor = await _incremental(sessionmaker, source, cursor, page_size, margin, report)
        if full_scan is None:
            full_scan = last_scan is None or now - last_scan >= FULL_SCAN_EVERY
        if full_scan and cursor is not None:
            await _reconcile(sessionmaker, source, report)
    except Exception as exc:
        async with sessionmaker() as db, db.begin():
            await db.execute(
                update(MirrorSite)
                .where(MirrorSite.site_id == source.site_id)
                .values(state="error", error=f"{type(exc).__name__}: {exc}"[:_STATE_ERROR_CHARS])
            )
        raise
    async with sessionmaker() as db, db.begin():
        count = await db.scalar(
            select(func.count()).where(
                MirrorIssue.site_id == source.site_id, MirrorIssue.deleted_at.is_(None)
            )
        )
        if len(report.changed) >= max(ANALYZE_AFTER, int(count or 0) // 10):
            # Planner statistics: right after a bulk load they say "empty table", and the
            # full-text query scans 100,000 rows by site (340 ms) instead of the GIN index
            # (5 ms). Autovacuum would analyze eventually; searches are wanted now.
            await db.execute(text("ANALYZE mirror_issues"))
        values: dict[str, Any] = {
            "state": "idle",
            "last_synced_at": datetime.now(UTC),
            "issue_count": int(count or 0),
        }
        if report.full_scan:
            values["last_full_scan_at"] = now
        await db.execute(
            update(MirrorSite).where(MirrorSite.site_id == source.site_id).values(values)
        )
    report.cursor = cursor
    report.seconds = time.perf_counter() - started
    return report


async def _incremental(
    sessionmaker: async_sessionmaker[AsyncSession],
    source: SyncSource,
    cursor: datetime | None,
    page_size: int,
    margin: timedelta,
    report: SyncReport,
) -> datetime | None:
    since = EPOCH_FLOOR_MS if cursor is None else epoch_ms(cursor - margin)
    # A lower bound on `updated` also keeps the query bounded, which Cloud requires.
    jql = f"updated >= {since} ORDER BY updated ASC, key ASC"

    def fetch(page_cursor: str | None) -> asyncio.Task[SearchPage]:
        return asyncio.create_task(
            source.client.search(
                source.caller, jql, fields=MIRROR_FIELDS, page_size=page_size, cursor=page_cursor
            )
        )

    # The next page is requested before the current one is stored: JIRA serializing a page
    # and the database writing the previous one overlap (about 40% off an initial sync).
    pending = fetch(None)
    try:
        while True:
            page = await pending
            report.pages += 1
            report.fetched += len(page.issues)
            more = page.next_cursor is not None and bool(page.issues)
            if more:
                pending = fetch(page.next_cursor)
            cursor = await _store_page(sessionmaker, source.site_id, page, cursor, report)
            if not more:
                return cursor
    finally:
        if not pending.done():
            pending.cancel()
        elif not pending.cancelled():
            pending.exception()  # retrieved: a failed prefetch is not logged as unhandled


async def _store_page(
    sessionmaker: async_sessionmaker[AsyncSession],
    site_id: str,
    page: SearchPage,
    cursor: datetime | None,
    report: SyncReport,
) -> datetime | None:
    """Upsert one page and advance the stored cursor with it (one transaction)."""
    now = datetime.now(UTC)
    rows = [mirror_row(site_id, issue, now) for issue in page.issues]
    if not rows:
        return cursor
    async with sessionmaker() as db, db.begin():
        report.changed += await upsert_rows(db, rows)
        newest = max((r["updated"] for r in rows if r["updated"] is not None), default=None)
        if newest is not None and (cursor is None or newest > cursor):
            cursor = newest
            await db.execute(
                update(MirrorSite).where(MirrorSite.site_id == site_id).values(cursor=cursor)
            )
    return cursor


async def _reconcile(
    sessionmaker: async_sessionmaker[AsyncSession], source: SyncSource, report: SyncReport
) -> None:
    """Tombstone rows JIRA no longer shows the sync account; fetch issues the mirror lacks."""
    report.full_scan = True
    seen: dict[str, str] = {}  # issue id -> key
    page_cursor: str | None = None
    while True:
        page = await source.client.search(
            source.caller,
            f"updated >= {EPOCH_FLOOR_MS} ORDER BY key ASC",
            fields=["key"],
            page_size=SCAN_PAGE_SIZE,
            cursor=page_cursor,
        )
        seen.update((issue.id, issue.key) for issue in page.issues)
        if page.next_cursor is None or not page.issues:
            break
        page_cursor = page.next_cursor
    async with sessionmaker() as db, db.begin():
        result = await db.execute(
            select(MirrorIssue.id, MirrorIssue.issue_id).where(
                MirrorIssue.site_id == source.site_id, MirrorIssue.deleted_at.is_(None)
            )
        )
        live = {issue_id: row_id for row_id, issue_id in result}
        gone = [row_id for issue_id, row_id in live.items() if issue_id not in seen]
        now = datetime.now(UTC)
        for start in range(0, len(gone), _REFETCH_CHUNK):
            await db.execute(
                update(MirrorIssue)
                .where(MirrorIssue.id.in_(gone[start : start + _REFETCH_CHUNK]))
                .values(deleted_at=now)
            )
        report.tombstoned = len(gone)
    missing = [key for issue_id, key in seen.items() if issue_id not in live]
    for start in range(0, len(missing), _REFETCH_CHUNK):
        found = await fetch_issues_by_key(
            source.client,
            source.caller,
            missing[start : start + _REFETCH_CHUNK],
            fields=MIRROR_FIELDS,
        )
        now = datetime.now(UTC)
        rows = [mirror_row(source.site_id, i, now) for i in found.values() if i is not None]
        if rows:
            async with sessionmaker() as db, db.begin():
                restored = await upsert_rows(db, rows, force=True)
                report.restored += len(restored)
                report.changed += restored


async def tombstone_issue(
    db: AsyncSession, site_id: str, *, issue_id: str | None, issue_key: str | None
) -> int:
    """Mark one issue deleted (a ``jira:issue_deleted`` webhook); returns rows changed."""
    if issue_id is not None:
        where = MirrorIssue.issue_id == issue_id
    elif issue_key is not None:
        where = MirrorIssue.issue_key == issue_key.upper()
    else:
        return 0
    result = await db.execute(
        update(MirrorIssue)
        .where(MirrorIssue.site_id == site_id, where, MirrorIssue.deleted_at.is_(None))
        .values(deleted_at=datetime.now(UTC))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def run_periodically(
    sync_once: Any, *, interval_s: float = 300.0, first_delay_s: float = 5.0
) -> None:
    """Call ``await sync_once()`` every ``interval_s`` until cancelled (embedded mode).

    Failures are logged and retried at the next tick; cancel the task to stop it.
    """
    await asyncio.sleep(first_delay_s)
    while True:
        try:
            await sync_once()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("mirror sync failed; retrying in %.0f s", interval_s)
        await asyncio.sleep(interval_s)


# --- identities, the all-sites sweep and webhooks ---------------------------------------------


async def open_source(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    sites: SiteClients,
    site_id: str,
) -> SyncSource | None:
    """The site's sync identity (recording the first connected account when none is set);
    None when nobody is connected to the site or its mirror is disabled."""
    async with sessionmaker() as db, db.begin():
        mirror = await db.get(MirrorSite, site_id)
        if mirror is not None and mirror.state == "disabled":
            return None
        account = None
        if mirror is not None and mirror.sync_account_id is not None:
            account = await db.get(SiteAccount, mirror.sync_account_id)
        if account is None:
            account = await db.scalar(
                select(SiteAccount)
                .where(SiteAccount.site_id == site_id)
                # created_at has whole seconds on SQLite: two sign-ins in one second are
                # told apart by the (Python-set, microsecond) time of their first login.
                .order_by(
                    SiteAccount.created_at, SiteAccount.last_login_at.nulls_last(), SiteAccount.id
                )
                .limit(1)
            )
            if account is None:
                return None
            if mirror is None:
                db.add(MirrorSite(site_id=site_id, sync_account_id=account.id, state="idle"))
            else:
                mirror.sync_account_id = account.id
        site = await db.get(Site, site_id)
        if site is None:
            return None
    credential = open_credential(vault, account.credential_ciphertext, bound_to=account.id)
    return SyncSource(
        site_id=site_id,
        account_id=account.id,
        client=sites.client(site.id, site.base_url, site.flavor),
        caller=Caller(principal=account.id, auth=credential.to_httpx_auth()),
    )


async def sync_all(
    sessionmaker: async_sessionmaker[AsyncSession], vault: Vault, sites: SiteClients
) -> list[SyncReport]:
    """One pass over every site with a connected account (one failing site does not stop the
    others; its state says ``error``)."""
    async with sessionmaker() as db:
        site_ids = list(await db.scalars(select(SiteAccount.site_id).distinct()))
    reports: list[SyncReport] = []
    for site_id in sorted(site_ids):
        source = await open_source(sessionmaker, vault, sites, site_id)
        if source is None:
            continue
        try:
            reports.append(await sync_site(sessionmaker, source))
        except Exception:
            log.exception("mirror sync of site %s failed", site_id)
    return reports


async def mirror_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    sites: SiteClients,
    *,
    interval_s: float = 300.0,
) -> None:
    """Embedded mode's background task: ``sync_all`` every ``interval_s`` until cancelled.

    Start it in the app lifespan (``asyncio.create_task``) and cancel it on shutdown.
    """
    await run_periodically(lambda: sync_all(sessionmaker, vault, sites), interval_s=interval_s)


async def apply_webhook(db: AsyncSession, site_id: str, event: WebhookEvent) -> int:
    """Keep a mirrored site's row current from a webhook (inside the caller's transaction).

    ``jira:issue_deleted`` tombstones; ``jira:issue_created/updated`` upsert the issue the
    payload carries (only if newer than the stored row). Sites without a mirror are skipped.
    Returns the number of rows changed.
    """
    if event.issue is None or await db.get(MirrorSite, site_id) is None:
        return 0
    if event.webhook_event == "jira:issue_deleted":
        return await tombstone_issue(
            db, site_id, issue_id=event.issue.id, issue_key=event.issue.key
        )
    if event.webhook_event in ("jira:issue_created", "jira:issue_updated"):
        row = mirror_row(site_id, event.issue, datetime.now(UTC))
        return len(await upsert_rows(db, [row]))
    return 0


__all__ = [
    "FULL_SCAN_EVERY",
    "SAFETY_MARGIN",
    "SyncReport",
    "SyncSource",
    "apply_webhook",
    "epoch_ms",
    "mirror_loop",
    "open_source",
    "record_sync_account",
    "run_periodically",
    "sync_all",
    "sync_site",
    "tombstone_issue",
]
