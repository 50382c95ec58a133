"""Saved filters, quick filter sets built from presets and saved filters, and usage counts.

A saved filter holds a structured filter (the ``IssueFilter`` input as JSON) and/or JQL; it is
private to its owner or ``shared`` with every user of the site (only the owner changes or
deletes it). A quick filter set is a user's own ordered list of references to presets
(``PRESETS``) and saved filters they can see. Every application of a filter bumps a per-user
counter in ``filter_usage`` (``preset:<name>`` / ``saved:<id>``), for analytics later.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db.models import FilterUsage, QuickFilterSet, SavedFilter
from gateway.errors import InvalidInput, LimitExceeded, NotFound
from gateway.selections import check_name

MAX_JQL = 10_000
MAX_SET_ENTRIES = 50

# Built-in quick filters: JQL every JIRA flavor understands.
PRESETS: Mapping[str, tuple[str, str]] = {
    "assignedToMe": ("Assigned to me", "assignee = currentUser() AND resolution IS EMPTY"),
    "reportedByMe": ("Reported by me", "reporter = currentUser()"),
    "openIssues": ("Open issues", "statusCategory != Done"),
    "recentlyUpdated": ("Updated in the last 7 days", "updated >= -7d"),
    "dueThisWeek": ("Due this week", "due <= endOfWeek() AND resolution IS EMPTY"),
}


@dataclass(frozen=True, slots=True)
class FilterInfo:
    id: str
    site_id: str
    owner_id: str
    name: str
    filter: dict[str, Any] | None
    jql: str | None
    shared: bool
    use_count: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class QuickFilter:
    """One resolved entry of a quick filter set (``ref``: preset name or saved filter id)."""

    kind: str
    ref: str
    name: str
    filter: dict[str, Any] | None
    jql: str | None


@dataclass(frozen=True, slots=True)
class QuickFilterSetInfo:
    """One of a principal's quick filter sets, entries resolved in their order."""

    id: str
    name: str
    filters: list[QuickFilter]


class SavedFilters:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def save(
        self,
        principal_id: str,
        site_id: str,
        name: str,
        *,
        filter: Mapping[str, Any] | None = None,
        jql: str | None = None,
        shared: bool = False,
        filter_id: str | None = None,
    ) -> FilterInfo:
        """Create, or (with ``filter_id``) replace the owner's filter of that id."""
        cleaned = check_name(name)
        jql = (jql or "").strip() or None
        if not filter and jql is None:
            raise InvalidInput("A saved filter needs a filter or JQL.", field="filter")
        if jql is not None and len(jql) > MAX_JQL:
            raise InvalidInput(f"JQL is at most {MAX_JQL} characters.", field="jql")
        async with self._sessionmaker() as db, db.begin():
            if filter_id is None:
                row = SavedFilter(principal_id=principal_id, site_id=site_id)
                db.add(row)
            else:
                found = await db.get(SavedFilter, filter_id)
                if found is None or found.principal_id != principal_id:
                    raise NotFound("No such saved filter.", field="id")
                row = found
            row.name, row.filter, row.jql, row.shared = (
                cleaned,
                dict(filter or {}) or None,
                jql,
                shared,
            )
            await db.flush()
            saved_id = row.id
        return await self.get(principal_id, saved_id)

    async def get(self, principal_id: str, filter_id: str) -> FilterInfo:
        async with self._sessionmaker() as db:
            row = await db.get(SavedFilter, filter_id)
            if row is None or not (row.principal_id == principal_id or row.shared):
                raise NotFound("No such saved filter.", field="id")
            counts = await self._counts(db, principal_id, row.site_id)
            return _info(row, counts)

    async def visible(self, principal_id: str, site_id: str) -> list[FilterInfo]:
        """The principal's own filters and the site's shared ones, by name."""
        async with self._sessionmaker() as db:
            rows = await db.scalars(
                select(SavedFilter)
                .where(
                    SavedFilter.site_id == site_id,
                    (SavedFilter.principal_id == principal_id) | SavedFilter.shared.is_(True),
                )
                .order_by(SavedFilter.name, SavedFilter.id)
            )
            counts = await self._counts(db, principal_id, site_id)
            return [_info(row, counts) for row in rows]

    async def delete(self, principal_id: str, filter_id: str) -> None:
        async with self._sessionmaker() as db, db.begin():
            row = await db.get(SavedFilter, filter_id)
            if row is None or row.principal_id != principal_id:
                raise NotFound("No such saved filter.", field="id")
            await db.delete(row)

    async def record_use(self, principal_id: str, site_id: str, ref: str) -> None:
        """Count one application of ``preset:<name>`` or ``saved:<id>``."""
        now = datetime.now(UTC)
        async with self._sessionmaker() as db, db.begin():
            make = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
            stmt = make(FilterUsage).values(
                principal_id=principal_id,
                site_id=site_id,
                filter_ref=ref,
                count=1,
                last_used_at=now,
            )
            await db.execute(
                stmt.on_conflict_do_update(
                    index_elements=["principal_id", "site_id", "filter_ref"],
                    set_={"count": FilterUsage.count + 1, "last_used_at": now},
                )
            )

    async def _counts(self, db: AsyncSession, principal_id: str, site_id: str) -> dict[str, int]:
        rows = await db.execute(
            select(FilterUsage.filter_ref, FilterUsage.count).where(
                FilterUsage.principal_id == principal_id, FilterUsage.site_id == site_id
            )
        )
        return {str(ref): int(count) for ref, count in rows}

    # --- quick filter sets ------------------------------------------------------------------
    async def save_set(
        self,
        principal_id: str,
        site_id: str,
        name: str,
        entries: Sequence[tuple[str, str]],
        *,
        set_id: str | None = None,
        presets: Collection[str] | None = None,
    ) -> str:
        """Create or replace a quick filter set; ``entries`` are ``(kind, ref)`` pairs.

        ``presets``: the preset names a caller offers (default: ``PRESETS``; the GraphQL layer
        passes its per-site catalog)."""
        cleaned = check_name(name)
        if len(entries) > MAX_SET_ENTRIES:
            raise LimitExceeded(f"A set holds at most {MAX_SET_ENTRIES} filters.", field="entries")
        known_presets = PRESETS.keys() if presets is None else presets
        visible = {f.id for f in await self.visible(principal_id, site_id)}
        for kind, ref in entries:
            known = ref in known_presets if kind == "preset" else kind == "saved" and ref in visible
            if not known:
                raise InvalidInput(f"Unknown {kind} filter {ref!r}.", field="entries")
        async with self._sessionmaker() as db, db.begin():
            if set_id is None:
                row = QuickFilterSet(principal_id=principal_id, site_id=site_id)
                db.add(row)
            else:
                found = await db.get(QuickFilterSet, set_id)
                if found is None or found.principal_id != principal_id:
                    raise NotFound("No such quick filter set.", field="id")
                row = found
            row.name = cleaned
            row.entries = [{"kind": kind, "ref": ref} for kind, ref in entries]
            await db.flush()
            return row.id

    async def sets(
        self,
        principal_id: str,
        site_id: str,
        presets: Mapping[str, tuple[str, str]] | None = None,
    ) -> list[QuickFilterSetInfo]:
        """The principal's quick filter sets on the site, oldest first, entries resolved
        (``presets``: name -> (title, JQL), default ``PRESETS``; entries that no longer resolve,
        like a deleted saved filter, are skipped)."""
        catalog = PRESETS if presets is None else presets
        async with self._sessionmaker() as db:
            rows = list(
                await db.scalars(
                    select(QuickFilterSet)
                    .where(
                        QuickFilterSet.principal_id == principal_id,
                        QuickFilterSet.site_id == site_id,
                    )
                    .order_by(QuickFilterSet.created_at, QuickFilterSet.id)
                )
            )
        if not rows:
            return []
        saved = {f.id: f for f in await self.visible(principal_id, site_id)}
        out: list[QuickFilterSetInfo] = []
        for row in rows:
            filters: list[QuickFilter] = []
            for entry in row.entries:
                kind, ref = entry.get("kind", ""), entry.get("ref", "")
                if kind == "preset" and ref in catalog:
                    title, jql = catalog[ref]
                    filters.append(QuickFilter(kind, ref, title, None, jql))
                elif kind == "saved" and ref in saved:
                    f = saved[ref]
                    filters.append(QuickFilter(kind, ref, f.name, f.filter, f.jql))
            out.append(QuickFilterSetInfo(row.id, row.name, filters))
        return out

    async def quick_filters(self, principal_id: str, site_id: str) -> list[QuickFilter]:
        """The principal's quick filters: their sets' entries in order (saved filters that
        vanished are skipped), or every preset when they have no set yet."""
        sets = await self.sets(principal_id, site_id)
        if not sets:
            return [QuickFilter("preset", k, n, None, jql) for k, (n, jql) in PRESETS.items()]
        return [f for quick_set in sets for f in quick_set.filters]

    async def delete_set(self, principal_id: str, set_id: str) -> None:
        async with self._sessionmaker() as db, db.begin():
            result = await db.execute(
                delete(QuickFilterSet).where(
                    QuickFilterSet.id == set_id, QuickFilterSet.principal_id == principal_id
                )
            )
            if not getattr(result, "rowcount", 0):
                raise NotFound("No such quick filter set.", field="id")


def _info(row: SavedFilter, counts: Mapping[str, int]) -> FilterInfo:
    return FilterInfo(
        id=row.id,
        site_id=row.site_id,
        owner_id=row.principal_id,
        name=row.name,
        filter=row.filter,
        jql=row.jql,
        shared=row.shared,
        use_count=counts.get(f"saved:{row.id}", 0),
        updated_at=row.updated_at,
    )


__all__ = ["PRESETS", "FilterInfo", "QuickFilter", "QuickFilterSetInfo", "SavedFilters"]
