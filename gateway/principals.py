"""What the gateway knows about a principal: their connected sites and JIRA identities.

Read by ``viewer`` (user, sites, default site) and written by ``login`` / the OAuth callback
(``connect_account``: one transaction that upserts the site, the principal and the site account
with its sealed credential, opens a session and writes the audit row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth import audit
from gateway.auth.audit import AuditEventType
from gateway.auth.credentials import Credential, seal_credential
from gateway.auth.scopes import Scope
from gateway.auth.sessions import TokenPair
from gateway.db.models import Principal, Site, SiteAccount, normalize_base_url
from gateway.errors import GatewayError, SiteNotConnected
from gateway.jira.dto import User
from gateway.state import AppState


class AccountInUse(GatewayError):
    """The JIRA account is already connected to another gateway user."""

    code = "ACCOUNT_IN_USE"


@dataclass(frozen=True, slots=True)
class SiteView:
    """A JIRA site as the API shows it."""

    id: str
    base_url: str
    name: str
    flavor: str | None


@dataclass(frozen=True, slots=True)
class AccountView:
    """A principal's identity on one site (no credential)."""

    id: str
    site: SiteView
    jira_account_id: str
    jira_username: str | None
    email: str | None
    display_name: str
    auth_kind: str
    is_default: bool
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class Connected:
    """The outcome of a successful sign-in: the new session and the account it is for."""

    pair: TokenPair
    account: AccountView


def _site_view(site: Site) -> SiteView:
    return SiteView(id=site.id, base_url=site.base_url, name=site.name, flavor=site.flavor)


def _account_view(account: SiteAccount, site: Site, default_site_id: str | None) -> AccountView:
    return AccountView(
        id=account.id,
        site=_site_view(site),
        jira_account_id=account.jira_account_id,
        jira_username=account.jira_username,
        email=account.email,
        display_name=account.display_name,
        auth_kind=account.auth_kind,
        is_default=site.id == default_site_id,
        last_login_at=account.last_login_at,
    )


async def list_accounts(state: AppState, principal_id: str) -> list[AccountView]:
    """Every site the principal has connected, the default site first, then by URL."""
    async with state.sessionmaker() as db:
        default_site_id = await db.scalar(
            select(Principal.default_site_id).where(Principal.id == principal_id)
        )
        rows = (
            await db.execute(
                select(SiteAccount, Site)
                .join(Site, Site.id == SiteAccount.site_id)
                .where(SiteAccount.principal_id == principal_id)
            )
        ).all()
    views = [_account_view(account, site, default_site_id) for account, site in rows]
    return sorted(views, key=lambda view: (not view.is_default, view.site.base_url))


async def set_default_site(state: AppState, principal_id: str, site_id: str) -> AccountView:
    """Make ``site_id`` the principal's default; ``SiteNotConnected`` unless they have it."""
    async with state.sessionmaker() as db, db.begin():
        row = (
            await db.execute(
                select(SiteAccount, Site)
                .join(Site, Site.id == SiteAccount.site_id)
                .where(SiteAccount.principal_id == principal_id, SiteAccount.site_id == site_id)
            )
        ).first()
        if row is None:
            raise SiteNotConnected("You have no account on that JIRA site.", field="site")
        await db.execute(
            update(Principal).where(Principal.id == principal_id).values(default_site_id=site_id)
        )
        account, site = row
        return _account_view(account, site, site_id)


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A JIRA identity proven a moment ago, ready to be stored."""

    base_url: str
    site_name: str
    flavor: str
    user: User
    credential: Credential
    scopes: frozenset[Scope]
    current_principal_id: str | None
    """The caller's principal when the request carried a valid access token (connect a site)."""
    label: str | None
    ip: str | None
    user_agent: str | None
    audit_event: AuditEventType = AuditEventType.LOGIN


async def connect_account(state: AppState, new: NewAccount) -> Connected:
    """Store the site, principal and account (credential sealed) and open a session, atomically.

    The principal is the caller's (connecting one more site), else the one already holding this
    JIRA account, else a new one. A JIRA account held by another principal is refused
    (``ACCOUNT_IN_USE``) rather than moved: moving it would hand someone else's session the
    account's data.
    """
    now = datetime.now(UTC)
    base_url = normalize_base_url(new.base_url)
    async with state.sessionmaker() as db, db.begin():
        site = await db.scalar(select(Site).where(Site.base_url == base_url))
        if site is None:
            site = Site(base_url=base_url, name=new.site_name[:255], flavor=new.flavor)
            db.add(site)
            await db.flush()
        else:
            site.flavor = new.flavor
            site.name = new.site_name[:255] or site.name
        holder = await db.scalar(
            select(SiteAccount).where(
                SiteAccount.site_id == site.id, SiteAccount.jira_account_id == new.user.id
            )
        )
        principal_id = await _principal_for(db, new.current_principal_id, holder)
        account = holder or await db.scalar(
            select(SiteAccount).where(
                SiteAccount.principal_id == principal_id, SiteAccount.site_id == site.id
            )
        )
        if account is None:
            account = SiteAccount(
                principal_id=principal_id,
                site_id=site.id,
                jira_account_id=new.user.id,
                auth_kind=new.credential.kind,
                display_name="",
                credential_ciphertext="sealed below",
            )
            db.add(account)
            await db.flush()  # the id exists now: the credential is bound to it
        account.jira_account_id = new.user.id
        account.jira_username = new.user.name
        account.email = new.user.email
        account.display_name = (new.user.display_name or new.user.id)[:255]
        account.auth_kind = new.credential.kind
        account.credential_ciphertext = seal_credential(
            state.auth.vault, new.credential, bound_to=account.id
        )
        account.last_login_at = now
        principal = await db.get(Principal, principal_id)
        if principal is not None and principal.default_site_id is None:
            principal.default_site_id = site.id
        pair = await state.auth.sessions.start_session(
            principal_id,
            new.scopes,
            user_agent=new.user_agent,
            ip=new.ip,
            label=new.label,
            db=db,
        )
        audit.record(
            db,
            new.audit_event,
            principal_id=principal_id,
            site_id=site.id,
            ip=new.ip,
            detail={
                "auth_kind": new.credential.kind,
                "flavor": new.flavor,
                "jira_account_id": new.user.id,
                "session_id": pair.session_id,
            },
        )
        default_site_id = principal.default_site_id if principal is not None else None
        view = _account_view(account, site, default_site_id)
    return Connected(pair=pair, account=view)


async def _principal_for(db: AsyncSession, current: str | None, holder: SiteAccount | None) -> str:
    if current is not None:
        if holder is not None and holder.principal_id != current:
            raise AccountInUse(
                "This JIRA account is already connected to another gateway user; sign out "
                "and sign in with it directly instead.",
            )
        if await db.get(Principal, current) is None:
            raise SiteNotConnected("Your gateway user no longer exists; sign in again.")
        return current
    if holder is not None:
        return holder.principal_id
    principal = Principal()
    db.add(principal)
    await db.flush()
    return principal.id


__all__ = [
    "AccountInUse",
    "AccountView",
    "Connected",
    "NewAccount",
    "SiteView",
    "connect_account",
    "list_accounts",
    "set_default_site",
]
