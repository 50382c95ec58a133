"""Root mutations of signing in: login, refreshToken, logout, sessions, minted tokens.

They return their payload or fail with a GraphQL error carrying a stable ``extensions.code``
(see ``schema.auth`` for the list). Root fields stay thin: arguments -> ``gateway.login`` /
``gateway.auth`` services -> types.
"""

from __future__ import annotations

from datetime import timedelta

import strawberry
from strawberry.types import Info

from gateway.accounts import forget_site_calls
from gateway.auth.scopes import narrow_scopes
from gateway.auth.sessions import TokenPair
from gateway.context import Context
from gateway.errors import InvalidInput, SiteNotConnected
from gateway.graphql_auth import forget_session
from gateway.graphql_response_cache import forget_default_site
from gateway.login import LoginRequest, build_credential, login
from gateway.principals import AccountView, list_accounts, set_default_site
from schema.auth import AccessToken, AuthPayload, LoginInput
from schema.permissions import IsSignedIn, Scope, signed_in
from schema.viewer import Site, ViewerUser

MIN_MINT_TTL_S = 60
MAX_MINT_TTL_S = 900  # access tokens live at most 15 minutes (issue 4)


def client_ip(context: Context) -> str | None:
    client = context.request.client
    return client.host if client else None


def user_agent(context: Context) -> str | None:
    return context.request.headers.get("user-agent")


def auth_payload(pair: TokenPair, account: AccountView) -> AuthPayload:
    return AuthPayload(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_at=pair.access_expires_at,
        refresh_expires_at=pair.refresh_expires_at,
        scopes=sorted(pair.scopes),
        session_id=strawberry.ID(pair.session_id),
        user=ViewerUser.from_view(pair.principal_id, account),
        site=Site.from_view(account),
    )


@strawberry.type
class AuthMutation:
    @strawberry.mutation(
        description=(
            "Sign in to a JIRA site with your JIRA credential; returns gateway tokens. The "
            "credential is checked against JIRA and stored encrypted. Errors (extensions.code): "
            "INVALID_CREDENTIALS, SITE_UNREACHABLE, NOT_JIRA, SITE_URL_REFUSED, RATE_LIMITED "
            "(extensions.retryAfter seconds; 10 failures a minute per IP or account), "
            "BAD_USER_INPUT (extensions.field), ACCOUNT_IN_USE."
        )
    )
    async def login(self, info: Info[Context, None], input: LoginInput) -> AuthPayload:
        context = info.context
        credential = build_credential(
            email=input.email,
            api_token=input.api_token,
            username=input.username,
            password=input.password,
            personal_access_token=input.personal_access_token,
        )
        if not input.site_url.strip():
            raise InvalidInput("Give the URL of your JIRA site.", field="siteUrl")
        connected = await login(
            context.state,
            LoginRequest(
                site_url=input.site_url,
                credential=credential,
                scopes=[scope.value for scope in input.scopes] if input.scopes else None,
                label=input.label,
                ip=client_ip(context),
                user_agent=user_agent(context),
                current=context.principal,
            ),
        )
        return auth_payload(connected.pair, connected.account)

    @strawberry.mutation(
        description=(
            "Trade a refresh token for a new access + refresh token pair. Each refresh token "
            "works once: presenting a spent one ends the whole session (REFRESH_TOKEN_REUSED). "
            "Other errors: REFRESH_TOKEN_INVALID, REFRESH_TOKEN_EXPIRED, SESSION_REVOKED."
        )
    )
    async def refresh_token(self, info: Info[Context, None], token: str) -> AuthPayload:
        context = info.context
        pair = await context.state.auth.sessions.rotate(
            token, user_agent=user_agent(context), ip=client_ip(context)
        )
        accounts = await list_accounts(context.state, pair.principal_id)
        if not accounts:
            raise SiteNotConnected("You have no JIRA site connected any more; sign in again.")
        return auth_payload(pair, accounts[0])

    @strawberry.mutation(
        description="Sign out: ends the session of this request (its refresh token too).",
        permission_classes=[IsSignedIn],
    )
    async def logout(self, info: Info[Context, None]) -> bool:
        claims = signed_in(info.context)
        ended = await info.context.state.auth.sessions.logout(
            principal_id=claims.principal_id,
            session_id=claims.session_id,
            ip=client_ip(info.context),
        )
        forget_session(claims.session_id)
        return ended

    @strawberry.mutation(
        description=(
            "End one of your sessions (see `viewer.sessions`); it stops working within 5 "
            "seconds everywhere. False when you have no such active session."
        ),
        permission_classes=[IsSignedIn],
    )
    async def revoke_session(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        claims = signed_in(info.context)
        ended = await info.context.state.auth.sessions.revoke_family(
            str(id), principal_id=claims.principal_id, ip=client_ip(info.context)
        )
        forget_session(str(id))
        return ended

    @strawberry.mutation(
        description=(
            "Mint an access token with fewer scopes than yours (e.g. [READ] for a dashboard); "
            "asking for a scope you lack is INVALID_SCOPE. It belongs to your session: signing "
            "out ends it. ttlSeconds: 60..900 (default 900)."
        ),
        permission_classes=[IsSignedIn],
    )
    async def mint_token(
        self,
        info: Info[Context, None],
        scopes: list[Scope],
        ttl_seconds: int | None = None,
    ) -> AccessToken:
        claims = signed_in(info.context)
        ttl = MAX_MINT_TTL_S if ttl_seconds is None else ttl_seconds
        if not MIN_MINT_TTL_S <= ttl <= MAX_MINT_TTL_S:
            raise InvalidInput(
                f"ttlSeconds must be between {MIN_MINT_TTL_S} and {MAX_MINT_TTL_S}.",
                field="ttlSeconds",
            )
        wanted = narrow_scopes(claims.scopes, [s.value for s in scopes])
        issued = info.context.state.auth.tokens.issue_access_token(
            claims.principal_id, claims.session_id, wanted, ttl=timedelta(seconds=ttl)
        )
        return AccessToken(token=issued.token, expires_at=issued.expires_at, scopes=sorted(wanted))

    @strawberry.mutation(
        description="Use this site when a site-scoped field gets no `site` argument.",
        permission_classes=[IsSignedIn],
    )
    async def set_default_site(self, info: Info[Context, None], site: strawberry.ID) -> Site:
        claims = signed_in(info.context)
        view = await set_default_site(info.context.state, claims.principal_id, str(site))
        forget_default_site(claims.principal_id)  # the response cache keys by default site
        forget_site_calls(info.context.state, claims.principal_id)
        return Site.from_view(view)
