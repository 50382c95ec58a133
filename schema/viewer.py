"""The signed-in user as the API shows them: ``Viewer``, their sites and JIRA identities."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar, cast

import strawberry
from strawberry.types import Info

from gateway.auth.sessions import SessionInfo
from gateway.auth.tokens import AccessClaims
from gateway.context import Context
from gateway.principals import AccountView, list_accounts
from schema.permissions import Scope
from schema.search import SiteSync, site_sync
from schema.user import User, user_of

T = TypeVar("T")


@strawberry.enum(description="Which kind of JIRA a site runs.")
class SiteFlavor(enum.Enum):
    CLOUD = strawberry.enum_value("cloud", description="Jira Cloud (atlassian.net).")
    SERVER = strawberry.enum_value("server", description="Jira Server or Data Center.")


@strawberry.type(description="Your identity on one JIRA site.")
class JiraAccount:
    account_id: str = strawberry.field(
        description="JIRA's id for you: the Cloud accountId, or the Server/DC user key."
    )
    username: str | None = strawberry.field(description="Server/DC user name (null on Cloud).")
    display_name: str = strawberry.field(description="Your name as JIRA shows it.")
    email: str | None = strawberry.field(
        description="Your email, when JIRA shows it (Cloud privacy settings may hide it)."
    )
    auth_kind: str = strawberry.field(
        description="How the gateway signs in for you: api_token, password, pat or oauth."
    )
    last_login_at: datetime | None = strawberry.field(description="Your last sign-in here.")


@strawberry.type(description="A JIRA site you connected (sign in to more with `login`).")
class Site:
    id: strawberry.ID = strawberry.field(
        description="Pass it as the `site` argument of site-scoped fields."
    )
    url: str = strawberry.field(description="The site's base URL.")
    name: str = strawberry.field(description="The site's title (from JIRA's serverInfo).")
    flavor: SiteFlavor | None = strawberry.field(description="Cloud or Server/Data Center.")
    is_default: bool = strawberry.field(
        description="True for the site used when a field gets no `site` argument."
    )
    account: JiraAccount = strawberry.field(description="Who you are on this site.")

    # --- issue 6: the local mirror's progress (owned by schema/search.py) -----------------------
    @strawberry.field(
        description="The gateway's full-text mirror of this site: state, last sync, issue count "
        "(null until the site was first mirrored)."
    )
    async def sync(self, info: Info[Context, None]) -> SiteSync | None:
        return await site_sync(info.context.state.sessionmaker, str(self.id))

    @classmethod
    def from_view(cls, view: AccountView) -> Site:
        return cls(
            id=strawberry.ID(view.site.id),
            url=view.site.base_url,
            name=view.site.name,
            flavor=SiteFlavor(view.site.flavor) if view.site.flavor else None,
            is_default=view.is_default,
            account=JiraAccount(
                account_id=view.jira_account_id,
                username=view.jira_username,
                display_name=view.display_name,
                email=view.email,
                auth_kind=view.auth_kind,
                last_login_at=view.last_login_at,
            ),
        )


@strawberry.type(description="One signed-in session (a device or app) of yours.")
class Session:
    id: strawberry.ID = strawberry.field(description="Pass it to `revokeSession` to end it.")
    label: str | None = strawberry.field(description="The name given at login, if any.")
    created_at: datetime = strawberry.field(description="When you signed in.")
    last_used_at: datetime = strawberry.field(
        description="When the session last refreshed its tokens (or signed in)."
    )
    expires_at: datetime = strawberry.field(description="When it ends unless refreshed.")
    current: bool = strawberry.field(description="True for the session making this request.")
    user_agent: str | None = strawberry.field(description="The client that signed in.")
    scopes: list[Scope] = strawberry.field(description="What its tokens may do.")

    @classmethod
    def from_info(cls, info: SessionInfo, current_id: str | None) -> Session:
        return cls(
            id=strawberry.ID(info.session_id),
            label=info.label,
            created_at=info.started_at,
            last_used_at=info.last_refreshed_at,
            expires_at=info.expires_at,
            current=info.session_id == current_id,
            user_agent=info.user_agent,
            scopes=sorted(info.scopes),
        )


@strawberry.type(description="You, as the gateway knows you.")
class ViewerUser:
    id: strawberry.ID = strawberry.field(description="Your gateway user id.")
    account_id: str = strawberry.field(description="Your JIRA id on the (default) site.")
    display_name: str = strawberry.field(description="Your name on the (default) site.")
    email: str | None = strawberry.field(description="Your email, when JIRA shows it.")

    @classmethod
    def from_view(cls, principal_id: str, view: AccountView) -> ViewerUser:
        return cls(
            id=strawberry.ID(principal_id),
            account_id=view.jira_account_id,
            display_name=view.display_name,
            email=view.email,
        )


@strawberry.type(
    description=(
        "The signed-in user: who you are, the JIRA sites you connected, what your token may "
        "do and your sessions. Needs an access token (UNAUTHENTICATED otherwise)."
    )
)
class Viewer:
    claims: strawberry.Private[AccessClaims]
    reads: strawberry.Private[dict[str, asyncio.Future[Any]]] = dataclasses.field(
        default_factory=dict
    )

    def _once(self, name: str, read: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        # Sibling fields (``user`` and ``sites``; ``session`` and ``sessions``) resolve
        # concurrently: memoize the task, not the result, so each read runs once.
        if name not in self.reads:
            self.reads[name] = asyncio.ensure_future(read())
        return cast("asyncio.Future[T]", self.reads[name])

    def accounts(self, info: Info[Context, None]) -> Awaitable[list[AccountView]]:
        """The principal's sites, read once per operation."""
        return self._once(
            "accounts", lambda: list_accounts(info.context.state, self.claims.principal_id)
        )

    def session_infos(self, info: Info[Context, None]) -> Awaitable[list[SessionInfo]]:
        """The principal's active sessions, read once per operation."""
        sessions = info.context.state.auth.sessions
        return self._once("sessions", lambda: sessions.list_sessions(self.claims.principal_id))

    @strawberry.field(description="You on your default site (null before any site is kept).")
    async def user(self, info: Info[Context, None]) -> ViewerUser | None:
        accounts = await self.accounts(info)
        return ViewerUser.from_view(self.claims.principal_id, accounts[0]) if accounts else None

    @strawberry.field(description="Every JIRA site you connected, the default one first.")
    async def sites(self, info: Info[Context, None]) -> list[Site]:
        return [Site.from_view(view) for view in await self.accounts(info)]

    @strawberry.field(
        description=(
            "You as JIRA sees you right now on `site` (default: your default site); asks "
            "JIRA (myself). Needs the READ scope."
        )
    )
    async def jira_user(self, info: Info[Context, None], site: strawberry.ID | None = None) -> User:
        call = await info.context.site_call(str(site) if site else None)
        found = user_of(await call.client.myself(call.caller))
        assert found is not None  # user_of maps None only
        return found

    @strawberry.field(description="What the token of this request may do.")
    def scopes(self) -> list[Scope]:
        return sorted(self.claims.scopes)

    @strawberry.field(description="The session of this request.")
    async def session(self, info: Info[Context, None]) -> Session | None:
        infos = await self.session_infos(info)
        current = self.claims.session_id
        found = next((s for s in infos if s.session_id == current), None)
        return Session.from_info(found, current) if found else None

    @strawberry.field(description="All your active sessions, most recently used first.")
    async def sessions(self, info: Info[Context, None]) -> list[Session]:
        infos = await self.session_infos(info)
        return [Session.from_info(s, self.claims.session_id) for s in infos]
