"""The I/O half of an export: JIRA issues fetched AS THE REQUESTING USER -> ``ReportIssue``.

Everything goes through the user's own ``Caller`` (their sealed credential, their principal as
cache and coalescing scope), so JIRA's permissions decide: an issue the user cannot see comes
back as None from the bulk fetch and is listed as skipped, never rendered. Inline images are
attachment bytes fetched with the same credential.

Issues are fetched in batches of ``BATCH_KEYS`` and written to a spool file as they come, so a
5,000-issue export never holds more than one batch of JIRA data in memory.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from html import unescape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.accounts import SiteCall
from gateway.auth.credentials import open_credential
from gateway.auth.vault import Vault
from gateway.db.models import Site, SiteAccount
from gateway.errors import LimitExceeded, SiteNotConnected
from gateway.jira.adapter_base import Caller
from gateway.jira.batching import fetch_issues_by_key
from gateway.jira.dto import Attachment, ChangelogEntry, Comment, Issue, RichText, User
from gateway.jira.errors import JiraError
from gateway.markup.adf import adf_to_html
from gateway.markup.wiki import wiki_to_html
from gateway.reports.model import (
    ChangeItem,
    ReportAttachment,
    ReportChange,
    ReportComment,
    ReportIssue,
    ReportRelated,
)
from gateway.sites import SiteClients

log = logging.getLogger(__name__)

# 50 keys per batch: two bulk calls' worth on Cloud with changelog, and small enough that the
# progress heartbeat between batches stays frequent (a batch takes well under a second).
BATCH_KEYS = 50
FIELDS = ("*all",)
EXPAND = ("changelog",)
# Inline images: at most this many per issue, each at most this big (bigger ones stay a link).
MAX_IMAGES_PER_ISSUE = 10
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Concurrent per-issue follow-up calls (comments, changelog, images) within one batch.
FOLLOW_UPS = 8
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_IMG_SRC = re.compile(r'<img\b[^>]*\bsrc="([^"]+)"')


async def load_site_call(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    sites: SiteClients,
    principal_id: str,
    site_id: str,
) -> SiteCall:
    """The principal's JIRA identity on ``site_id``, from the pieces a worker has.

    The same as ``gateway.accounts.load_site_call`` without an ``AppState``: a worker process
    builds its own vault and site clients from the settings.
    """
    async with sessionmaker() as db:
        row = (
            await db.execute(
                select(SiteAccount, Site)
                .join(Site, Site.id == SiteAccount.site_id)
                .where(SiteAccount.principal_id == principal_id, SiteAccount.site_id == site_id)
            )
        ).first()
    if row is None:
        raise SiteNotConnected("The account that requested this export is no longer connected.")
    account, site = row
    credential = open_credential(vault, account.credential_ciphertext, bound_to=account.id)
    return SiteCall(
        site_id=site.id,
        base_url=site.base_url,
        principal_id=principal_id,
        account_id=account.id,
        jira_account_id=account.jira_account_id,
        client=sites.client(site.id, site.base_url, site.flavor),
        caller=Caller(principal=account.id, auth=credential.to_httpx_auth()),
    )


async def keys_for_jql(call: SiteCall, jql: str, limit: int) -> list[str]:
    """The keys matching ``jql`` in JIRA's order (as the user); ``LimitExceeded`` past ``limit``."""
    keys: list[str] = []
    async for issue in call.client.search_all(call.caller, jql, fields=["key"], page_size=100):
        keys.append(issue.key)
        if len(keys) > limit:
            raise LimitExceeded(
                f"The query matches more than {limit} issues; one export holds at most {limit}."
            )
    return keys


async def spool_issues(
    call: SiteCall,
    keys: Sequence[str],
    write: Callable[[ReportIssue], None],
    after_batch: Callable[[int], Awaitable[None]],
) -> list[str]:
    """Fetch ``keys`` in batches, ``write`` each visible issue in key order; returns skipped.

    ``after_batch(fetched so far)`` runs between batches (heartbeat, cancellation check: it
    may raise to stop).
    """
    skipped: list[str] = []
    done = 0
    for start in range(0, len(keys), BATCH_KEYS):
        batch = list(keys[start : start + BATCH_KEYS])
        found = await fetch_issues_by_key(
            call.client, call.caller, batch, fields=FIELDS, expand=EXPAND
        )
        limit = asyncio.Semaphore(FOLLOW_UPS)
        visible = [issue for issue in found.values() if issue is not None]
        reports = await asyncio.gather(*(_report(call, issue, limit) for issue in visible))
        by_key = {issue.key.upper(): report for issue, report in zip(visible, reports, strict=True)}
        for key in batch:
            issue = found.get(key)
            report = by_key.get(issue.key.upper()) if issue is not None else None
            if report is None:
                skipped.append(key)
            else:
                write(report)
        done += len(batch)
        await after_batch(done)
    return skipped


async def _report(call: SiteCall, issue: Issue, limit: asyncio.Semaphore) -> ReportIssue:
    async with limit:
        comments: tuple[Comment, ...] = ()
        if issue.comments is not None:
            comments = await call.client.complete_comments(call.caller, issue.key, issue.comments)
        changes: tuple[ChangelogEntry, ...] = ()
        if issue.changelog is not None:
            changes = await call.client.complete_changelog(call.caller, issue.key, issue.changelog)
    resolve = _attachment_resolver(issue.attachments)
    description = _html(issue.description, resolve)
    bodies = [(c, _html(c.body, resolve)) for c in comments]
    images = await _images(call, issue, [description, *(b for _, b in bodies)], limit)
    return ReportIssue(
        key=issue.key,
        url=issue.browse_url or f"{call.base_url}/browse/{issue.key}",
        summary=issue.summary or "",
        description_html=description,
        fields=_fields(issue),
        status=issue.status.name if issue.status else "",
        priority=issue.priority.name if issue.priority else "",
        assignee=_name(issue.assignee),
        reporter=_name(issue.reporter),
        created=issue.created,
        updated=issue.updated,
        labels=issue.labels,
        comments=tuple(
            ReportComment(_name(c.author), c.created or issue.created or EPOCH, body)
            for c, body in bodies
        ),
        changelog=tuple(
            ReportChange(
                _name(entry.author),
                entry.created or EPOCH,
                tuple(ChangeItem(i.field, i.from_string, i.to_string) for i in entry.items),
            )
            for entry in changes
        ),
        attachments=tuple(_attachment(a, images.get(a.id)) for a in issue.attachments),
        subtasks=tuple(
            ReportRelated(s.key, s.summary or "", s.status.name if s.status else "", "subtask")
            for s in issue.subtasks
        ),
        links=tuple(
            ReportRelated(
                link.other.key,
                link.other.summary or "",
                link.other.status.name if link.other.status else "",
                (link.outward if link.direction == "outward" else link.inward) or link.type_name,
            )
            for link in issue.links
        ),
    )


def _name(user: User | None) -> str:
    return user.display_name if user is not None else ""


def _html(text: RichText | None, resolve: Callable[[str], str | None]) -> str:
    if text is None:
        return ""
    if text.adf is not None:
        return adf_to_html(text.adf, attachment_url=resolve)
    if text.wiki is not None:
        return wiki_to_html(text.wiki, attachment_url=resolve)
    return ""


def _attachment_resolver(attachments: Sequence[Attachment]) -> Callable[[str], str | None]:
    """Rich text names attachments by id (ADF media) or file name (wiki ``!name.png!``)."""
    urls: dict[str, str] = {}
    for a in attachments:
        url = a.content_url or f"attachment:{a.id}"
        urls.setdefault(a.id, url)
        urls.setdefault(a.filename, url)
    return urls.get


def _attachment(a: Attachment, image: bytes | None) -> ReportAttachment:
    return ReportAttachment(
        name=a.filename,
        size=a.size or 0,
        mime=a.mime_type or "application/octet-stream",
        author=_name(a.author),
        created=a.created or EPOCH,
        url=a.content_url or f"attachment:{a.id}",
        image_bytes=image,
    )


async def _images(
    call: SiteCall, issue: Issue, html: Sequence[str], limit: asyncio.Semaphore
) -> Mapping[str, bytes]:
    """Bytes of the image attachments the rich text shows, fetched as the user."""
    sources = {unescape(src) for fragment in html for src in _IMG_SRC.findall(fragment)}
    if not sources:
        return {}
    wanted: list[Attachment] = []
    for a in issue.attachments:
        url = a.content_url or f"attachment:{a.id}"
        shown = url in sources or any(s.rsplit("/", 1)[-1] == a.filename for s in sources)
        small = a.size is None or a.size <= MAX_IMAGE_BYTES
        if shown and small and (a.mime_type or "").startswith("image/"):
            wanted.append(a)

    async def fetch(a: Attachment) -> tuple[str, bytes | None]:
        async with limit:
            try:
                data = await call.client.attachment_content(call.caller, a.id, filename=a.filename)
            except JiraError as exc:  # an image that will not load becomes its alt text
                log.info("inline image %s of %s not fetched: %s", a.id, issue.key, exc)
                return a.id, None
        return a.id, data if len(data) <= MAX_IMAGE_BYTES else None

    fetched = await asyncio.gather(*(fetch(a) for a in wanted[:MAX_IMAGES_PER_ISSUE]))
    return {ident: data for ident, data in fetched if data is not None}


def _fields(issue: Issue) -> tuple[tuple[str, str], ...]:
    """Fields beyond the renderer's built-ins, standard ones first, then custom fields."""
    out: list[tuple[str, str]] = []
    if issue.issuetype is not None:
        out.append(("Type", issue.issuetype.name))
    if issue.project is not None:
        out.append(("Project", f"{issue.project.name} ({issue.project.key})"))
    if issue.components:
        out.append(("Components", ", ".join(c.name for c in issue.components)))
    if issue.fix_versions:
        out.append(("Fix versions", ", ".join(v.name for v in issue.fix_versions)))
    if issue.resolution is not None:
        out.append(("Resolution", issue.resolution.name))
    if issue.duedate is not None:
        out.append(("Due date", issue.duedate.isoformat()))
    if issue.parent is not None:
        out.append(("Parent", f"{issue.parent.key} {issue.parent.summary or ''}".strip()))
    for value in issue.custom_fields.values():
        if value.text:
            out.append((value.name, value.text))
    return tuple(out)


__all__ = ["BATCH_KEYS", "keys_for_jql", "load_site_call", "spool_issues"]
