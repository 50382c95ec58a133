"""Search history: the last 100 distinct searches of each principal, newest first.

A search is distinct by (site, kind, exact text); running it again moves it to the top and
counts it. Rows beyond the newest ``KEEP`` are deleted on every write, so the table stays small.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db.models import SearchHistoryEntry, new_id
from gateway.errors import InvalidInput

KEEP = 100
KINDS = ("text", "jql")
MAX_QUERY = 10_000


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: str
    site_id: str
    kind: str
    query: str
    used_at: datetime
    count: int


class SearchHistory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def record(self, principal_id: str, site_id: str, kind: str, query: str) -> None:
        """Remember one search (blank queries are not worth remembering and are skipped)."""
        if kind not in KINDS:
            raise InvalidInput(f"kind is one of {KINDS}.", field="kind")
        text = query.strip()[:MAX_QUERY]
        if not text:
            return
        now = datetime.now(UTC)
        digest = hashlib.sha256(text.encode()).hexdigest()
        async with self._sessionmaker() as db, db.begin():
            make = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
            stmt = make(SearchHistoryEntry).values(
                id=new_id(),
                principal_id=principal_id,
                site_id=site_id,
                kind=kind,
                query=text,
                query_hash=digest,
                used_at=now,
                count=1,
            )
            await db.execute(
                stmt.on_conflict_do_update(
                    index_elements=["principal_id", "site_id", "kind", "query_hash"],
                    set_={"used_at": now, "count": SearchHistoryEntry.count + 1},
                )
            )
            keep = (
                select(SearchHistoryEntry.id)
                .where(SearchHistoryEntry.principal_id == principal_id)
                .order_by(SearchHistoryEntry.used_at.desc(), SearchHistoryEntry.id)
                .limit(KEEP)
            )
            await db.execute(
                delete(SearchHistoryEntry).where(
                    SearchHistoryEntry.principal_id == principal_id,
                    SearchHistoryEntry.id.not_in(keep.scalar_subquery()),
                )
            )

    async def list(self, principal_id: str, first: int = KEEP) -> list[HistoryEntry]:
        async with self._sessionmaker() as db:
            rows = await db.scalars(
                select(SearchHistoryEntry)
                .where(SearchHistoryEntry.principal_id == principal_id)
                .order_by(SearchHistoryEntry.used_at.desc(), SearchHistoryEntry.id)
                .limit(max(0, min(first, KEEP)))
            )
            return [
                HistoryEntry(r.id, r.site_id, r.kind, r.query, r.used_at, r.count) for r in rows
            ]

    async def clear(self, principal_id: str) -> int:
        async with self._sessionmaker() as db, db.begin():
            result = await db.execute(
                delete(SearchHistoryEntry).where(SearchHistoryEntry.principal_id == principal_id)
            )
            return int(getattr(result, "rowcount", 0) or 0)


__all__ = ["KEEP", "HistoryEntry", "SearchHistory"]
