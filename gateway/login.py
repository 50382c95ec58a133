"""Signing in with a JIRA credential: check it against the site, then store it sealed.

The flow of ``login`` (issue 4)::

    validate the site URL (SiteGuard: https, no private addresses)   -> SITE_URL_REFUSED
    failed-login limiter, per IP and per (site, login name)          -> RATE_LIMITED (+retryAfter)
    GET serverInfo with the credential: is it JIRA, which flavor?    -> NOT_JIRA, SITE_UNREACHABLE,
    GET myself: whose credential is it?                                 INVALID_CREDENTIALS
    one transaction: site, principal, site account (sealed), session, audit row

Nothing is stored when a step fails except an audit row (``login_failed`` / ``site_refused`` /
``login_rate_limited``) without any secret. Only ``INVALID_CREDENTIALS`` counts against the
limiter: an unreachable site is not a guess at a password.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from gateway.accounts import forget_site_calls
from gateway.auth import audit
from gateway.auth.audit import AuditEventType
from gateway.auth.credentials import (
    ApiTokenCredential,
    Credential,
    PasswordCredential,
    PatCredential,
)
from gateway.auth.errors import AuthError, LoginRateLimited, SiteUrlRefused
from gateway.auth.ratelimit import login_keys
from gateway.auth.scopes import DEFAULT_SCOPES, narrow_scopes
from gateway.auth.tokens import AccessClaims
from gateway.errors import GatewayError, InvalidInput
from gateway.jira.adapter_base import Caller
from gateway.jira.client import ClientConfig, JiraClient
from gateway.jira.dto import User
from gateway.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraForbidden,
    JiraRateLimited,
    JiraUnavailable,
)
from gateway.jira.flavor import ServerInfo
from gateway.jira.transport import JiraTransport, TransportConfig
from gateway.principals import Connected, NewAccount, connect_account
from gateway.state import AppState

log = logging.getLogger("gateway.login")

# A login waits for one person: two quick tries, then a clear answer (not four backoffs).
LOGIN_TRANSPORT = TransportConfig(
    concurrency=2,
    timeout=httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0),
    max_response_bytes=1024 * 1024,
    max_retries=1,
    backoff_base=0.2,
    max_wait=2.0,
)
MAX_LABEL = 100


class InvalidCredentials(GatewayError):
    code = "INVALID_CREDENTIALS"


class SiteUnreachable(GatewayError):
    code = "SITE_UNREACHABLE"


class NotJira(GatewayError):
    code = "NOT_JIRA"


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """What the ``login`` mutation received, plus where the request came from."""

    site_url: str
    credential: Credential = field(repr=False)
    scopes: Sequence[str] | None = None
    label: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    current: AccessClaims | None = None


def build_credential(
    *,
    email: str | None,
    api_token: str | None,
    username: str | None,
    password: str | None,
    personal_access_token: str | None,
) -> Credential:
    """Exactly one of the three credential forms, or ``BAD_USER_INPUT`` naming the field."""
    forms: list[Credential] = []
    if email is not None or api_token is not None:
        if not email:
            raise InvalidInput("Give the email of your Atlassian account.", field="email")
        if not api_token:
            raise InvalidInput("Give an API token with the email.", field="apiToken")
        forms.append(ApiTokenCredential(email=email.strip(), token=api_token))
    if username is not None or password is not None:
        if not username:
            raise InvalidInput("Give your JIRA user name.", field="username")
        if not password:
            raise InvalidInput("Give the password with the user name.", field="password")
        forms.append(PasswordCredential(username=username.strip(), password=password))
    if personal_access_token is not None:
        if not personal_access_token.strip():
            raise InvalidInput("The personal access token is empty.", field="personalAccessToken")
        forms.append(PatCredential(token=personal_access_token.strip()))
    if len(forms) != 1:
        raise InvalidInput(
            "Give exactly one credential: email + apiToken (Cloud), username + password "
            "(Server/Data Center) or personalAccessToken (Server/Data Center).",
            field="input",
        )
    return forms[0]


def login_name(credential: Credential) -> str:
    """The name the limiter counts failures against (never the secret)."""
    if isinstance(credential, ApiTokenCredential):
        return credential.email
    if isinstance(credential, PasswordCredential):
        return credential.username
    return "pat"  # a PAT names no user: the site and the IP bound its guesses


async def login(state: AppState, request: LoginRequest) -> Connected:
    """Check ``request.credential`` against the site and sign in; typed errors otherwise."""
    scopes = narrow_scopes(DEFAULT_SCOPES, request.scopes)
    label = (request.label or "").strip()[:MAX_LABEL] or None
    try:
        checked = await state.auth.guard.validate_site_url(request.site_url)
    except SiteUrlRefused as exc:
        await _audit_failure(state, request, AuditEventType.SITE_REFUSED, exc.code)
        raise
    keys = login_keys(request.ip, checked.url, login_name(request.credential))
    limiter = state.auth.login_limiter
    try:
        await limiter.check(keys)
    except LoginRateLimited:
        await _audit_failure(state, request, AuditEventType.LOGIN_RATE_LIMITED, "RATE_LIMITED")
        raise
    try:
        info, user = await probe(state, checked.url, request.credential)
    except InvalidCredentials as exc:
        await limiter.record_failure(keys)
        await _audit_failure(state, request, AuditEventType.LOGIN_FAILED, exc.code)
        raise
    except (GatewayError, AuthError) as exc:
        await _audit_failure(state, request, AuditEventType.LOGIN_FAILED, exc.code)
        raise
    connected = await connect_account(
        state,
        NewAccount(
            base_url=checked.url,
            site_name=info.server_title or checked.host,
            flavor=info.flavor.value,
            user=user,
            credential=request.credential,
            scopes=scopes,
            current_principal_id=request.current.principal_id if request.current else None,
            label=label,
            ip=request.ip,
            user_agent=request.user_agent,
        ),
    )
    await limiter.reset(keys[-1:])  # the account key; an IP stays counted (see ratelimit)
    forget_site_calls(state, connected.pair.principal_id)  # a new or updated credential
    return connected


async def probe(state: AppState, base_url: str, credential: Credential) -> tuple[ServerInfo, User]:
    """Ask the site who it is and whose credential this is, with a throwaway client.

    A throwaway transport: failures here must not trip the breaker of the site's shared client.
    """
    host = urlsplit(base_url).hostname or "site"
    transport = JiraTransport(state.http, base_url, site=f"login:{host}", config=LOGIN_TRANSPORT)
    caller = Caller(principal="login", auth=credential.to_httpx_auth())
    try:
        info = await JiraClient(transport).server_info(caller)
        if info.version is None and info.base_url is None and info.deployment_type is None:
            raise NotJira(_NOT_JIRA)
        client = JiraClient(transport, config=ClientConfig(flavor=info.flavor))
        user = await client.myself(caller)
    except (JiraAuthError, JiraForbidden):
        raise InvalidCredentials(
            "JIRA did not accept these credentials. Check the email and API token (Cloud), "
            "the user name and password, or the personal access token."
        ) from None
    except (JiraUnavailable, JiraRateLimited):
        raise SiteUnreachable(
            "The JIRA site could not be reached (or is failing); check the URL and try again."
        ) from None
    except JiraError as exc:
        log.info("login probe of %s: not JIRA (%s)", host, type(exc).__name__)
        raise NotJira(_NOT_JIRA) from None
    return info, user


_NOT_JIRA = "This address does not answer like a JIRA site (no JIRA REST API found there)."


async def _audit_failure(
    state: AppState, request: LoginRequest, event: AuditEventType, code: str
) -> None:
    # A failed login changes nothing else, so it is recorded in a session of its own.
    try:
        host = urlsplit(request.site_url.strip()).hostname
    except ValueError:
        host = None
    async with state.sessionmaker() as db, db.begin():
        audit.record(
            db,
            event,
            principal_id=request.current.principal_id if request.current else None,
            ip=request.ip,
            detail={"code": code, "site_host": host, "auth_kind": request.credential.kind},
        )


__all__ = [
    "InvalidCredentials",
    "LoginRequest",
    "NotJira",
    "SiteUnreachable",
    "build_credential",
    "login",
    "probe",
]
