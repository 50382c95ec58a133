"""Types of full-text search (``searchIssues``) and of the local mirror's sync status.

``SearchMatch`` rides on ``IssueEdge.match`` (null outside ``searchIssues``): the rank and the
highlighted snippets belong to one result of one search, not to the issue. ``SiteSync`` is
``viewer.sites { sync }``.

Search cursors are opaque: ``m:<offset>`` pages the permission-checked mirror candidates,
``j:<token>`` carries JIRA's own page token on the fallback path. A cursor of one path given
to the other (the mirror finished syncing between two pages) starts that path over.
"""

from __future__ import annotations

import binascii
import enum
import re
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db.models import MirrorSite
from gateway.errors import InvalidInput
from schema.common import b64_decode, b64_encode


@strawberry.enum(description="Where search results came from.")
class SearchSource(enum.Enum):
    MIRROR = strawberry.enum_value(
        "mirror",
        description="The gateway's full-text index of the site, each hit checked as you in JIRA.",
    )
    JIRA = strawberry.enum_value(
        "jira", description="JIRA's own `text ~` search (the site is not mirrored yet)."
    )


@strawberry.type(description="Why an issue matched a text search: its rank and snippets.")
class SearchMatch:
    rank: float = strawberry.field(
        description="Relevance, higher is better (0 for JIRA's own search, which has none)."
    )
    summary_html: str = strawberry.field(
        description="The summary as safe HTML, matched words in `<mark>`."
    )
    description_html: str = strawberry.field(
        description="An excerpt of the description around the matches, safe HTML with `<mark>`."
    )
    source: SearchSource = strawberry.field(description="Mirror index or JIRA's search.")


@strawberry.enum(description="What the mirror's sync is doing.")
class SyncState(enum.Enum):
    IDLE = strawberry.enum_value("idle", description="Waiting for the next run.")
    SYNCING = strawberry.enum_value("syncing", description="Pulling changes from JIRA now.")
    ERROR = strawberry.enum_value("error", description="The last run failed (see `error`).")
    DISABLED = strawberry.enum_value("disabled", description="Mirroring is off for this site.")


@strawberry.type(description="The gateway's local copy of a site, used for full-text search.")
class SiteSync:
    state: SyncState = strawberry.field(description="What the sync is doing.")
    last_synced_at: datetime | None = strawberry.field(
        description="When the last run finished; null before the first one."
    )
    issues: int = strawberry.field(description="Issues in the mirror (tombstones excluded).")
    error: str | None = strawberry.field(description="Why the last run failed, if it did.")


async def site_sync(
    sessionmaker: async_sessionmaker[AsyncSession], site_id: str
) -> SiteSync | None:
    """The mirror state of ``site_id``; None when the site was never mirrored."""
    async with sessionmaker() as db:
        row = await db.get(MirrorSite, site_id)
    if row is None:
        return None
    return SiteSync(
        state=SyncState(row.state),
        last_synced_at=row.last_synced_at,
        issues=row.issue_count,
        error=row.error,
    )


# ASCII digits only: str.isdigit() also takes '²', which int() then refuses (an internal error).
_OFFSET = re.compile(r"[0-9]{1,9}")


def encode_search_cursor(kind: str, value: str) -> str:
    return b64_encode(f"{kind}:{value}".encode())


def decode_search_cursor(cursor: str | None) -> tuple[str, str] | None:
    """``(kind, value)`` with kind ``m`` (offset) or ``j`` (JIRA token); None for no cursor."""
    if cursor is None:
        return None
    try:
        raw = b64_decode(cursor).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("This cursor does not belong to this search.", field="after") from None
    kind, _, value = raw.partition(":")
    if kind not in ("m", "j") or not value or (kind == "m" and not _OFFSET.fullmatch(value)):
        raise InvalidInput("This cursor does not belong to this search.", field="after")
    return kind, value
