"""Sign-in types: ``LoginInput``, ``AuthPayload``, sessions, scopes and minted tokens.

Error policy of the sign-in mutations: they return their payload type (``AuthPayload!``, as
DESIGN §7 fixes), so a failure is a GraphQL error whose ``extensions.code`` is stable
(``INVALID_CREDENTIALS``, ``SITE_UNREACHABLE``, ``NOT_JIRA``, ``SITE_URL_REFUSED``,
``RATE_LIMITED`` with ``retryAfter``, ``BAD_USER_INPUT`` with ``field``, ``REFRESH_TOKEN_REUSED``,
``SESSION_REVOKED``, ...) and whose message is a sentence for a person.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.permissions import Scope
from schema.viewer import Site, ViewerUser


@strawberry.input(
    description=(
        "Sign in to one JIRA site. Give the site URL and exactly one credential: `email` + "
        "`apiToken` (Jira Cloud), `username` + `password` or `personalAccessToken` (Jira "
        "Server/Data Center). Signed in already? Send your access token too and the site is "
        "added to your gateway user (see `viewer.sites`)."
    )
)
class LoginInput:
    site_url: str = strawberry.field(
        description="Base URL of the JIRA site, e.g. https://acme.atlassian.net (https only)."
    )
    email: str | None = strawberry.field(default=None, description="Cloud: account email.")
    api_token: str | None = strawberry.field(
        default=None, description="Cloud: an API token (id.atlassian.com > Security)."
    )
    username: str | None = strawberry.field(default=None, description="Server/DC: user name.")
    password: str | None = strawberry.field(default=None, description="Server/DC: password.")
    personal_access_token: str | None = strawberry.field(
        default=None, description="Server/DC: a personal access token."
    )
    scopes: list[Scope] | None = strawberry.field(
        default=None,
        description="Ask for fewer scopes than the default READ, WRITE, EXPORT (never more).",
    )
    label: str | None = strawberry.field(
        default=None, description='A name for this session ("laptop"), shown in `sessions`.'
    )


@strawberry.type(
    description=(
        "A signed-in session: send `Authorization: Bearer <accessToken>` with every request; "
        "before `expiresAt` (at most 15 minutes), trade `refreshToken` for a new pair with "
        "`refreshToken(token:)`. Each refresh token works once."
    )
)
class AuthPayload:
    access_token: str = strawberry.field(description="The gateway access token (a JWT).")
    refresh_token: str = strawberry.field(
        description="Opaque, single use; keep it secret. Reusing a spent one ends the session."
    )
    expires_at: datetime = strawberry.field(description="When the access token expires.")
    refresh_expires_at: datetime = strawberry.field(
        description="When the refresh token (and so the session, unless refreshed) expires."
    )
    scopes: list[Scope] = strawberry.field(description="The scopes of this session.")
    session_id: strawberry.ID = strawberry.field(description="The session, for `sessions`.")
    user: ViewerUser = strawberry.field(description="Who signed in (on `site`).")
    site: Site = strawberry.field(description="The JIRA site signed in to.")


@strawberry.type(
    description=(
        "An access token minted from yours with fewer scopes (e.g. READ only for a "
        "dashboard). It ends with your session and cannot be refreshed."
    )
)
class AccessToken:
    token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime = strawberry.field(description="When it expires (at most 15 minutes).")
    scopes: list[Scope] = strawberry.field(description="What it may do.")
