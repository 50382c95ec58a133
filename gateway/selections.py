"""Saved selections: named sets of issue keys per principal and site (issue 6, item 1).

Storage is a row per (selection, key) under a primary key, so concurrent edits never lose a key:
adds are ``INSERT ... ON CONFLICT DO NOTHING``, removes plain ``DELETE``s, and nothing reads a
list, changes it and writes it back. Every change first touches the selection's own row
(``UPDATE selections SET updated_at``): on PostgreSQL that row lock serializes the edits of one
selection, so the 10,000-key limit holds under concurrency; on SQLite it takes the write lock up
front (a deferred transaction that reads first and writes later can fail with "database is
locked" instead of waiting).

Visibility: the owner sees and edits a selection; a ``shared`` one is readable by every principal
with an account on its site. Anything else is ``NotFound`` (the same answer as an unknown id).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.db.models import Selection, SelectionItem, SiteAccount
from gateway.errors import Forbidden, InvalidInput, LimitExceeded, NotFound

MAX_KEYS = 10_000
MAX_NAME = 200
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[0-9]+")
# Rows per INSERT statement: well below SQLite's 32,766 bound parameters (2 per row).
_INSERT_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class SelectionInfo:
    """A selection as the API shows it (its keys are paged separately)."""

    id: str
    site_id: str
    principal_id: str
    name: str
    shared: bool
    size: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class KeyPage:
    keys: list[str]
    total: int


def check_name(name: str) -> str:
    """The trimmed name; ``InvalidInput`` (field ``name``) when empty or over 200 characters."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("A selection needs a name.", field="name")
    if len(cleaned) > MAX_NAME:
        raise InvalidInput(f"Names are at most {MAX_NAME} characters.", field="name")
    return cleaned


def check_keys(keys: Iterable[str], *, field: str = "keys") -> list[str]:
    """Upper-cased, de-duplicated keys in the given order; malformed keys or more than 10,000
    are typed errors naming ``field``."""
    cleaned = list(dict.fromkeys(key.strip().upper() for key in keys))
    bad = [key for key in cleaned if not ISSUE_KEY.fullmatch(key)]
    if bad:
        shown = ", ".join(repr(key) for key in bad[:5])
        raise InvalidInput(f"Not issue keys (like ABC-123): {shown}.", field=field)
    if len(cleaned) > MAX_KEYS:
        raise LimitExceeded(f"A selection holds at most {MAX_KEYS} keys.", field=field)
    return cleaned


class SelectionService:
    """Selections of one principal; every method checks ownership (see the module docstring)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    # --- reads ------------------------------------------------------------------------------
    async def list(self, principal_id: str, site_id: str) -> list[SelectionInfo]:
        """The principal's selections on the site plus the site's shared ones, newest first."""
        async with self._sessionmaker() as db:
            rows = await db.execute(
                _with_size()
                .where(
                    Selection.site_id == site_id,
                    (Selection.principal_id == principal_id) | Selection.shared.is_(True),
                )
                .order_by(Selection.updated_at.desc(), Selection.id)
            )
            return [_info(selection, size) for selection, size in rows]

    async def get(self, principal_id: str, selection_id: str) -> SelectionInfo:
        async with self._sessionmaker() as db:
            row = (await db.execute(_with_size().where(Selection.id == selection_id))).first()
            if row is None:
                raise NotFound("No such selection.", field="id")
            selection, size = row
            if selection.principal_id != principal_id and not (
                selection.shared and await _has_site(db, principal_id, selection.site_id)
            ):
                raise NotFound("No such selection.", field="id")
            return _info(selection, size)

    async def keys(
        self, principal_id: str, selection_id: str, *, offset: int = 0, limit: int = 100
    ) -> KeyPage:
        """A page of the keys, in the order they were added (then by key)."""
        info = await self.get(principal_id, selection_id)
        async with self._sessionmaker() as db:
            keys = await db.scalars(
                select(SelectionItem.issue_key)
                .where(SelectionItem.selection_id == selection_id)
                .order_by(SelectionItem.added_at, SelectionItem.issue_key)
                .offset(offset)
                .limit(limit)
            )
            return KeyPage(list(keys), info.size)

    async def contains(self, selection_id: str, keys: Sequence[str]) -> set[str]:
        async with self._sessionmaker() as db:
            found = await db.scalars(
                select(SelectionItem.issue_key).where(
                    SelectionItem.selection_id == selection_id, SelectionItem.issue_key.in_(keys)
                )
            )
            return set(found)

    # --- writes -----------------------------------------------------------------------------
    async def create(
        self,
        principal_id: str,
        site_id: str,
        name: str,
        keys: Iterable[str] = (),
        *,
        shared: bool = False,
    ) -> SelectionInfo:
        cleaned_name = check_name(name)
        cleaned = check_keys(keys)
        async with self._sessionmaker() as db, db.begin():
            selection = Selection(
                principal_id=principal_id, site_id=site_id, name=cleaned_name, shared=shared
            )
            db.add(selection)
            await db.flush()
            await _insert_keys(db, selection.id, cleaned)
            selection_id = selection.id
        return await self.get(principal_id, selection_id)

    async def rename(
        self, principal_id: str, selection_id: str, name: str, *, shared: bool | None = None
    ) -> SelectionInfo:
        cleaned = check_name(name)
        async with self._sessionmaker() as db, db.begin():
            await self._lock(db, principal_id, selection_id)
            values: dict[str, object] = {"name": cleaned}
            if shared is not None:
                values["shared"] = shared
            await db.execute(update(Selection).where(Selection.id == selection_id).values(values))
        return await self.get(principal_id, selection_id)

    async def add(self, principal_id: str, selection_id: str, keys: Iterable[str]) -> SelectionInfo:
        cleaned = check_keys(keys)
        async with self._sessionmaker() as db, db.begin():
            await self._lock(db, principal_id, selection_id)
            await _insert_keys(db, selection_id, cleaned)
            await _check_size(db, selection_id)
        return await self.get(principal_id, selection_id)

    async def remove(
        self, principal_id: str, selection_id: str, keys: Iterable[str]
    ) -> SelectionInfo:
        cleaned = check_keys(keys)
        async with self._sessionmaker() as db, db.begin():
            await self._lock(db, principal_id, selection_id)
            await _delete_keys(db, selection_id, cleaned)
        return await self.get(principal_id, selection_id)

    async def toggle_all(
        self, principal_id: str, selection_id: str, keys: Iterable[str]
    ) -> tuple[SelectionInfo, bool]:
        """Add every key unless all are present already, in which case remove them all.

        Returns the selection and True when the keys were added (False: removed). Decided and
        applied under the selection's lock, so a concurrent edit cannot split the decision.
        """
        cleaned = check_keys(keys)
        async with self._sessionmaker() as db, db.begin():
            await self._lock(db, principal_id, selection_id)
            present = 0
            for start in range(0, len(cleaned), _INSERT_CHUNK):
                chunk = cleaned[start : start + _INSERT_CHUNK]
                present += (
                    await db.scalar(
                        select(func.count()).where(
                            SelectionItem.selection_id == selection_id,
                            SelectionItem.issue_key.in_(chunk),
                        )
                    )
                    or 0
                )
            added = present < len(cleaned)
            if added:
                await _insert_keys(db, selection_id, cleaned)
                await _check_size(db, selection_id)
            else:
                await _delete_keys(db, selection_id, cleaned)
        return await self.get(principal_id, selection_id), added

    async def clear(self, principal_id: str, selection_id: str) -> SelectionInfo:
        async with self._sessionmaker() as db, db.begin():
            await self._lock(db, principal_id, selection_id)
            await db.execute(
                delete(SelectionItem).where(SelectionItem.selection_id == selection_id)
            )
        return await self.get(principal_id, selection_id)

    async def delete(self, principal_id: str, selection_id: str) -> None:
        async with self._sessionmaker() as db, db.begin():
            await self._lock(db, principal_id, selection_id)
            await db.execute(
                delete(SelectionItem).where(SelectionItem.selection_id == selection_id)
            )
            await db.execute(delete(Selection).where(Selection.id == selection_id))

    async def _lock(self, db: AsyncSession, principal_id: str, selection_id: str) -> None:
        """Touch the owner's row first (row lock / write lock); a miss explains itself."""
        result = await db.execute(
            update(Selection)
            .where(Selection.id == selection_id, Selection.principal_id == principal_id)
            .values(updated_at=func.now())
        )
        if getattr(result, "rowcount", 0) == 1:
            return
        row = await db.scalar(select(Selection).where(Selection.id == selection_id))
        if row is not None and row.shared and await _has_site(db, principal_id, row.site_id):
            raise Forbidden("Only the owner can change a shared selection.")
        raise NotFound("No such selection.", field="id")


def _with_size() -> Select[Selection, int]:
    size = (
        select(func.count())
        .where(SelectionItem.selection_id == Selection.id)
        .correlate(Selection)
        .scalar_subquery()
    )
    return select(Selection, size)


def _info(selection: Selection, size: int) -> SelectionInfo:
    return SelectionInfo(
        id=selection.id,
        site_id=selection.site_id,
        principal_id=selection.principal_id,
        name=selection.name,
        shared=selection.shared,
        size=int(size),
        created_at=selection.created_at,
        updated_at=selection.updated_at,
    )


async def _has_site(db: AsyncSession, principal_id: str, site_id: str) -> bool:
    found = await db.scalar(
        select(SiteAccount.id).where(
            SiteAccount.principal_id == principal_id, SiteAccount.site_id == site_id
        )
    )
    return found is not None


async def _insert_keys(db: AsyncSession, selection_id: str, keys: Sequence[str]) -> None:
    dialect = db.get_bind().dialect.name
    for start in range(0, len(keys), _INSERT_CHUNK):
        rows = [
            {"selection_id": selection_id, "issue_key": k}
            for k in keys[start : start + _INSERT_CHUNK]
        ]
        if dialect == "postgresql":
            await db.execute(pg_insert(SelectionItem).values(rows).on_conflict_do_nothing())
        elif dialect == "sqlite":
            await db.execute(sqlite_insert(SelectionItem).values(rows).on_conflict_do_nothing())
        else:  # pragma: no cover - the gateway runs on the two engines above
            await db.execute(insert(SelectionItem).values(rows))


async def _delete_keys(db: AsyncSession, selection_id: str, keys: Sequence[str]) -> None:
    for start in range(0, len(keys), _INSERT_CHUNK):
        await db.execute(
            delete(SelectionItem).where(
                SelectionItem.selection_id == selection_id,
                SelectionItem.issue_key.in_(keys[start : start + _INSERT_CHUNK]),
            )
        )


async def _check_size(db: AsyncSession, selection_id: str) -> None:
    size = await db.scalar(select(func.count()).where(SelectionItem.selection_id == selection_id))
    if (size or 0) > MAX_KEYS:
        # Raising rolls the whole change back: the selection keeps its previous keys.
        raise LimitExceeded(f"A selection holds at most {MAX_KEYS} keys.", field="keys")


__all__ = [
    "ISSUE_KEY",
    "MAX_KEYS",
    "MAX_NAME",
    "KeyPage",
    "SelectionInfo",
    "SelectionService",
    "check_keys",
    "check_name",
]
