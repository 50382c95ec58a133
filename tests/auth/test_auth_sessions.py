"""Refresh-token sessions on real SQLite and PostgreSQL: rotation, reuse, races, revocation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.errors import (
    RefreshTokenExpired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    SessionRevoked,
)
from gateway.auth.scopes import DEFAULT_SCOPES, Scope
from gateway.auth.sessions import SessionService, TokenPair, hash_refresh_token
from gateway.auth.settings import AuthConfig
from gateway.auth.tokens import TokenService
from gateway.auth.vault import generate_key
from gateway.db.engine import create_engine, create_sessionmaker
from gateway.db.migrate import upgrade
from gateway.db.models import AuditEvent, Principal, RefreshToken

CONFIG = AuthConfig(jwt_secret=SecretStr("t" * 40), vault_keys=[SecretStr(generate_key())])


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'auth.db'}"
    else:
        url = request.getfixturevalue("fresh_pg_database")
    upgrade(url)
    return url


@pytest.fixture
async def sessionmaker(migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(migrated_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> SessionService:
    return SessionService(sessionmaker, TokenService(CONFIG), CONFIG, clock=clock)


async def new_principal(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as db, db.begin():
        principal = Principal()
        db.add(principal)
    return principal.id


async def audit_events(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as db:
        return list((await db.scalars(select(AuditEvent.event).order_by(AuditEvent.at))).all())


async def test_auth_sessions_rotation_issues_a_new_pair(
    service: SessionService, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    principal = await new_principal(sessionmaker)
    first = await service.start_session(principal, DEFAULT_SCOPES, user_agent="UA/1", ip="1.2.3.4")
    claims = TokenService(CONFIG).verify_access_token(first.access_token)
    assert (claims.principal_id, claims.session_id) == (principal, first.session_id)

    second = await service.rotate(first.refresh_token, ip="1.2.3.5")
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    assert second.scopes == DEFAULT_SCOPES
    assert TokenService(CONFIG).verify_access_token(second.access_token).scopes == DEFAULT_SCOPES

    async with sessionmaker() as db:
        rows = {r.token_hash: r for r in (await db.scalars(select(RefreshToken))).all()}
    old = rows[hash_refresh_token(first.refresh_token)]
    new = rows[hash_refresh_token(second.refresh_token)]
    assert old.used_at is not None
    assert old.replaced_by_id == new.id
    assert new.used_at is None
    assert new.ip == "1.2.3.5"
    assert "refresh" in await audit_events(sessionmaker)


async def test_auth_sessions_reuse_revokes_the_whole_family(
    service: SessionService, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    principal = await new_principal(sessionmaker)
    first = await service.start_session(principal, DEFAULT_SCOPES)
    second = await service.rotate(first.refresh_token)
    third = await service.rotate(second.refresh_token)
    other_session = await service.start_session(principal, DEFAULT_SCOPES)

    with pytest.raises(RefreshTokenReused) as caught:
        await service.rotate(first.refresh_token)  # a stolen, spent token comes back
    assert caught.value.code == "REFRESH_TOKEN_REUSED"

    # Every token of that family is dead now, including the legitimate newest one.
    with pytest.raises(SessionRevoked):
        await service.rotate(third.refresh_token)
    assert not await service.is_active(first.session_id)
    # Another session of the same principal is untouched.
    assert await service.is_active(other_session.session_id)
    await service.rotate(other_session.refresh_token)

    async with sessionmaker() as db:
        unrevoked = await db.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.family_id == first.session_id, RefreshToken.revoked_at.is_(None))
        )
    assert unrevoked == 0
    assert (await audit_events(sessionmaker)).count("refresh_reuse") == 1


async def test_auth_sessions_unknown_and_expired_tokens(
    service: SessionService, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    with pytest.raises(RefreshTokenInvalid):
        await service.rotate("not-a-token")
    principal = await new_principal(sessionmaker)
    pair = await service.start_session(principal, {Scope.READ})
    clock.now += CONFIG.refresh_ttl + timedelta(seconds=1)
    with pytest.raises(RefreshTokenExpired):
        await service.rotate(pair.refresh_token)
    assert not await service.is_active(pair.session_id)
    assert await service.purge_expired() == 1
    with pytest.raises(RefreshTokenInvalid):
        await service.rotate(pair.refresh_token)


async def test_auth_sessions_concurrent_rotation_exactly_one_wins(
    service: SessionService, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    principal = await new_principal(sessionmaker)
    for _ in range(3):
        pair = await service.start_session(principal, DEFAULT_SCOPES)
        results = await asyncio.gather(
            *(service.rotate(pair.refresh_token) for _ in range(4)), return_exceptions=True
        )
        winners = [r for r in results if isinstance(r, TokenPair)]
        losers = [r for r in results if not isinstance(r, TokenPair)]
        assert len(winners) == 1, results
        assert all(isinstance(r, RefreshTokenReused | SessionRevoked) for r in losers), losers
        # The race is a reuse: the family is revoked, the winner's successor too.
        assert not await service.is_active(pair.session_id)
        with pytest.raises(SessionRevoked):
            await service.rotate(winners[0].refresh_token)
    async with sessionmaker() as db:
        spent = await db.scalar(
            select(func.count()).select_from(RefreshToken).where(RefreshToken.used_at.is_not(None))
        )
    assert spent == 3  # one successful spend per round, never two


async def test_auth_sessions_list_revoke_logout(
    service: SessionService, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    alice = await new_principal(sessionmaker)
    mallory = await new_principal(sessionmaker)
    laptop = await service.start_session(alice, DEFAULT_SCOPES, user_agent="Laptop", ip="10.0.0.1")
    clock.now += timedelta(minutes=1)
    phone = await service.start_session(alice, {Scope.READ}, user_agent="Phone")
    clock.now += timedelta(minutes=1)
    phone = await service.rotate(phone.refresh_token, user_agent="Phone")

    sessions = await service.list_sessions(alice)
    assert [s.session_id for s in sessions] == [phone.session_id, laptop.session_id]
    assert sessions[0].scopes == {Scope.READ}
    assert sessions[0].started_at <= sessions[0].last_refreshed_at
    assert sessions[1].user_agent == "Laptop"
    assert sessions[1].ip == "10.0.0.1"
    assert await service.list_sessions(mallory) == []

    # Someone else's session id is unknown to mallory, and stays alive.
    assert not await service.revoke_family(laptop.session_id, principal_id=mallory)
    assert await service.is_active(laptop.session_id)

    assert await service.revoke_family(laptop.session_id, principal_id=alice, ip="10.0.0.9")
    assert not await service.revoke_family(laptop.session_id, principal_id=alice)
    with pytest.raises(SessionRevoked):
        await service.rotate(laptop.refresh_token)
    assert [s.session_id for s in await service.list_sessions(alice)] == [phone.session_id]

    assert await service.logout(principal_id=alice, session_id=phone.session_id)
    assert await service.list_sessions(alice) == []
    events = await audit_events(sessionmaker)
    assert "session_revoked" in events
    assert "logout" in events


async def test_auth_sessions_start_in_callers_transaction(
    service: SessionService, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    principal = await new_principal(sessionmaker)
    async with sessionmaker() as db:
        pair = await service.start_session(principal, DEFAULT_SCOPES, db=db)
        await db.rollback()  # e.g. storing the site account failed afterwards
    with pytest.raises(RefreshTokenInvalid):
        await service.rotate(pair.refresh_token)
    async with sessionmaker() as db, db.begin():
        pair = await service.start_session(principal, DEFAULT_SCOPES, db=db)
    assert (await service.rotate(pair.refresh_token)).session_id == pair.session_id
