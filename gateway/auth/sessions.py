"""Sessions: opaque refresh tokens, rotated on every use, grouped in families.

A *session* is a refresh-token family (``family_id``, the ``sid`` claim of its access tokens).
Refresh tokens are ``secrets.token_urlsafe(32)`` (256 bits) handed to the client once and
stored only as their SHA-256.

:meth:`SessionService.rotate` spends the presented token and issues its successor. Presenting a
spent token again (a stolen copy, or a client that kept an old one) revokes the *whole* family
and records ``refresh_reuse``. Two concurrent rotations of one token race on a conditional
``UPDATE ... WHERE used_at IS NULL``: exactly one wins; the loser is a reuse like any other, so
clients must refresh single-flight (one refresh in flight per session).

A family counts as revoked as soon as any of its rows is: a rotation racing a revocation can
leave one successor row unrevoked, and it is refused all the same.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth import audit
from gateway.auth.audit import AuditEventType
from gateway.auth.errors import (
    RefreshTokenExpired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    ScopeError,
    SessionRevoked,
)
from gateway.auth.scopes import Scope, format_scopes, parse_scopes
from gateway.auth.settings import AuthConfig
from gateway.auth.tokens import Clock, TokenService, utcnow
from gateway.db.models import RefreshToken, new_id

_MAX_USER_AGENT = 512
_MAX_IP = 45
_MAX_LABEL = 100


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token: hex SHA-256 (a dump yields no usable tokens)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What ``login`` and ``refreshToken`` hand to the client."""

    access_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_token: str = field(repr=False)
    refresh_expires_at: datetime
    session_id: str
    principal_id: str
    scopes: frozenset[Scope]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One active session of a principal (for ``sessions`` / ``revokeSession``)."""

    session_id: str
    scopes: frozenset[Scope]
    started_at: datetime
    last_refreshed_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    label: str | None = None


class SessionService:
    """Refresh-token families over the database; access tokens through ``TokenService``."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        tokens: TokenService,
        config: AuthConfig,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._tokens = tokens
        self._config = config
        self._clock = clock

    async def start_session(
        self,
        principal_id: str,
        scopes: Iterable[Scope],
        *,
        user_agent: str | None = None,
        ip: str | None = None,
        label: str | None = None,
        db: AsyncSession | None = None,
    ) -> TokenPair:
        """Open a new session (family) for ``principal_id``.

        With ``db`` the row is added to the caller's transaction (a login stores the site
        account, the session and the audit row atomically; the caller commits); without it,
        the session is committed here.
        """
        scope_set = frozenset(scopes)
        if not scope_set:
            raise ScopeError("A session needs at least one scope.")
        if db is not None:
            return self._add_token(db, principal_id, new_id(), scope_set, user_agent, ip, label)[0]
        async with self._sessionmaker() as own, own.begin():
            return self._add_token(own, principal_id, new_id(), scope_set, user_agent, ip, label)[0]

    async def rotate(
        self, refresh_token: str, *, user_agent: str | None = None, ip: str | None = None
    ) -> TokenPair:
        """Spend ``refresh_token`` and return a new pair in the same family.

        Raises ``RefreshTokenInvalid`` (unknown), ``RefreshTokenExpired``, ``SessionRevoked``,
        or ``RefreshTokenReused`` (spent before: the family is revoked now).
        """
        now = self._clock()
        token_hash = hash_refresh_token(refresh_token)
        async with self._sessionmaker() as db:
            row = await db.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))
            if row is None:
                raise RefreshTokenInvalid()
            # Plain values: a rollback below expires the ORM row, and reloading it is I/O.
            family_id, principal_id, label = row.family_id, row.principal_id, row.label
            if row.revoked_at is not None or await self._family_revoked(db, family_id):
                raise SessionRevoked()
            if row.used_at is not None:
                await db.rollback()
                await self._on_reuse(family_id, principal_id, ip)
                raise RefreshTokenReused()
            if row.expires_at <= now:
                raise RefreshTokenExpired()
            scopes = parse_scopes(row.scopes.split())
            pair, successor = self._add_token(
                db, principal_id, family_id, scopes, user_agent, ip, label
            )
            await db.flush()  # the successor must exist before the old row points to it
            claimed = await db.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.id == row.id,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                )
                .values(used_at=now, replaced_by_id=successor.id)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(claimed) != 1:
                # Another rotation (or a revocation) got there first.
                await db.rollback()
                if await self._revoked_now(family_id):
                    raise SessionRevoked()
                await self._on_reuse(family_id, principal_id, ip)
                raise RefreshTokenReused()
            audit.record(
                db,
                AuditEventType.REFRESH,
                principal_id=principal_id,
                ip=ip,
                detail={"session_id": family_id},
            )
            await db.commit()
        return pair

    async def revoke_family(
        self,
        session_id: str,
        *,
        principal_id: str,
        ip: str | None = None,
        event: AuditEventType = AuditEventType.SESSION_REVOKED,
    ) -> bool:
        """Revoke every token of ``principal_id``'s session ``session_id``.

        Returns False when the principal has no such active session (someone else's session id
        reads as unknown, never as "not yours").
        """
        now = self._clock()
        async with self._sessionmaker() as db, db.begin():
            result = await db.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.family_id == session_id,
                    RefreshToken.principal_id == principal_id,
                    RefreshToken.revoked_at.is_(None),
                )
                .values(revoked_at=now)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) == 0:
                return False
            audit.record(
                db, event, principal_id=principal_id, ip=ip, detail={"session_id": session_id}
            )
        return True

    async def logout(self, *, principal_id: str, session_id: str, ip: str | None = None) -> bool:
        """End the caller's own session (the ``sid`` of their access token)."""
        return await self.revoke_family(
            session_id, principal_id=principal_id, ip=ip, event=AuditEventType.LOGOUT
        )

    async def list_sessions(self, principal_id: str) -> list[SessionInfo]:
        """The principal's active sessions, most recently refreshed first."""
        now = self._clock()
        async with self._sessionmaker() as db:
            live = (
                await db.scalars(
                    select(RefreshToken).where(
                        RefreshToken.principal_id == principal_id,
                        RefreshToken.used_at.is_(None),
                        RefreshToken.revoked_at.is_(None),
                        RefreshToken.expires_at > now,
                        ~self._any_revoked(RefreshToken.family_id),
                    )
                )
            ).all()
            families = [row.family_id for row in live]
            first_rows = await db.execute(
                select(RefreshToken.family_id, func.min(RefreshToken.created_at))
                .where(RefreshToken.family_id.in_(families))
                .group_by(RefreshToken.family_id)
            )
            started: dict[str, datetime] = dict(first_rows.all())
        infos = [
            SessionInfo(
                session_id=row.family_id,
                scopes=parse_scopes(row.scopes.split()),
                started_at=_aware(started.get(row.family_id, row.created_at)),
                last_refreshed_at=row.created_at,
                expires_at=row.expires_at,
                user_agent=row.user_agent,
                ip=row.ip,
                label=row.label,
            )
            for row in live
        ]
        return sorted(infos, key=lambda info: info.last_refreshed_at, reverse=True)

    async def is_active(self, session_id: str) -> bool:
        """True while the session has a live refresh token and none of its rows is revoked.

        For callers that want a revocation to cut off access tokens before they expire.
        """
        now = self._clock()
        async with self._sessionmaker() as db:
            found = await db.scalar(
                select(RefreshToken.id)
                .where(
                    RefreshToken.family_id == session_id,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.expires_at > now,
                    ~self._any_revoked(RefreshToken.family_id),
                )
                .limit(1)
            )
        return found is not None

    async def purge_expired(self) -> int:
        """Delete rows past their expiry (housekeeping job); returns how many."""
        now = self._clock()
        async with self._sessionmaker() as db, db.begin():
            result = await db.execute(
                delete(RefreshToken)
                .where(RefreshToken.expires_at <= now)
                .execution_options(synchronize_session=False)
            )
        return _rowcount(result)

    # -- internals -------------------------------------------------------------------------

    def _add_token(
        self,
        db: AsyncSession,
        principal_id: str,
        family_id: str,
        scopes: frozenset[Scope],
        user_agent: str | None,
        ip: str | None,
        label: str | None = None,
    ) -> tuple[TokenPair, RefreshToken]:
        now = self._clock()
        token = secrets.token_urlsafe(32)
        row = RefreshToken(
            id=new_id(),
            family_id=family_id,
            principal_id=principal_id,
            token_hash=hash_refresh_token(token),
            scopes=format_scopes(scopes),
            # The service clock, not the database's: expiry and ordering use the same clock
            # (and SQLite's CURRENT_TIMESTAMP only has whole seconds).
            created_at=now,
            expires_at=now + self._config.refresh_ttl,
            user_agent=user_agent[:_MAX_USER_AGENT] if user_agent else None,
            ip=ip[:_MAX_IP] if ip else None,
            label=label[:_MAX_LABEL] if label else None,
        )
        db.add(row)
        access = self._tokens.issue_access_token(principal_id, family_id, scopes)
        pair = TokenPair(
            access_token=access.token,
            access_expires_at=access.expires_at,
            refresh_token=token,
            refresh_expires_at=row.expires_at,
            session_id=family_id,
            principal_id=principal_id,
            scopes=scopes,
        )
        return pair, row

    @staticmethod
    def _any_revoked(family_id: Any) -> Any:
        other = RefreshToken.__table__.alias("other")
        return exists().where(other.c.family_id == family_id, other.c.revoked_at.is_not(None))

    async def _family_revoked(self, db: AsyncSession, family_id: str) -> bool:
        found = await db.scalar(
            select(RefreshToken.id)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None))
            .limit(1)
        )
        return found is not None

    async def _revoked_now(self, family_id: str) -> bool:
        async with self._sessionmaker() as db:
            return await self._family_revoked(db, family_id)

    async def _on_reuse(self, family_id: str, principal_id: str, ip: str | None) -> None:
        """A spent token came back: revoke its family and say so in the audit log."""
        now = self._clock()
        async with self._sessionmaker() as db, db.begin():
            await db.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
                .execution_options(synchronize_session=False)
            )
            audit.record(
                db,
                AuditEventType.REFRESH_REUSE,
                principal_id=principal_id,
                ip=ip,
                detail={"session_id": family_id},
            )


def _rowcount(result: Result[Any]) -> int:
    # UPDATE/DELETE executions return a CursorResult; the session's signature says Result.
    return int(cast(CursorResult[Any], result).rowcount)


def _aware(value: datetime) -> datetime:
    # Belt and braces: min() keeps the column type, but a naive value must never leak out.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = ["SessionInfo", "SessionService", "TokenPair", "hash_refresh_token"]
