"""The gateway's own signed tokens (PyJWT, HS256 pinned).

Access tokens (``typ: "access"``) carry ``iss aud exp iat jti typ sub`` (all required and
checked on every verify), ``sid`` (the session, i.e. the refresh-token family) and ``scp`` (the
scopes). They live at most ``AuthConfig.access_ttl`` (<= 15 minutes).

Purpose tokens share the key but not the ``typ``: short-lived signed values such as the OAuth
``state`` (``typ: "oauth_state"``) or an export download link (``typ: "export"``), so that no
table is needed for them. A purpose token is never accepted as an access token and vice versa.

Verification raises ``TokenExpired`` or ``TokenInvalid`` whose messages are safe to show; the
reason a token was refused goes to the debug log only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import jwt

from gateway.auth.errors import ScopeError, TokenExpired, TokenInvalid
from gateway.auth.scopes import Scope, parse_scopes
from gateway.auth.settings import AuthConfig

logger = logging.getLogger(__name__)

ALGORITHM: Final = "HS256"
ACCESS_TYPE: Final = "access"
REQUIRED_CLAIMS: Final = ("iss", "aud", "exp", "iat", "jti", "typ", "sub")
# Gateway processes on different hosts may disagree on the time by a few seconds; a token
# issued "in the future" by a fast clock must not be refused.
LEEWAY: Final = timedelta(seconds=10)
_RESERVED: Final = frozenset({*REQUIRED_CLAIMS, "nbf", "sid", "scp"})

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The default ``Clock`` of the auth services."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified access token says: who, which session, which scopes, until when."""

    principal_id: str
    session_id: str
    scopes: frozenset[Scope]
    token_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    token: str = field(repr=False)
    expires_at: datetime
    claims: AccessClaims


class TokenService:
    """Issue and verify access and purpose tokens with the configured secret and audience."""

    __slots__ = ("_clock", "_config", "_key")

    def __init__(self, config: AuthConfig, *, clock: Clock = utcnow) -> None:
        self._config = config
        self._key = config.jwt_secret.get_secret_value()
        self._clock = clock

    def __repr__(self) -> str:
        return f"TokenService(issuer={self._config.jwt_issuer!r})"

    def issue_access_token(
        self,
        principal_id: str,
        session_id: str,
        scopes: Iterable[Scope],
        *,
        ttl: timedelta | None = None,
    ) -> IssuedAccessToken:
        """A signed access token; ``ttl`` may shorten the configured lifetime, never extend it."""
        scope_set = frozenset(scopes)
        if not scope_set:
            raise ScopeError("An access token needs at least one scope.")
        lifetime = min(ttl or self._config.access_ttl, self._config.access_ttl)
        now = self._clock().replace(microsecond=0)
        claims = AccessClaims(
            principal_id=principal_id,
            session_id=session_id,
            scopes=scope_set,
            token_id=uuid.uuid4().hex,
            issued_at=now,
            expires_at=now + lifetime,
        )
        payload = {
            "iss": self._config.jwt_issuer,
            "aud": self._config.jwt_audience,
            "sub": principal_id,
            "iat": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "jti": claims.token_id,
            "typ": ACCESS_TYPE,
            "sid": session_id,
            "scp": sorted(scope.value for scope in scope_set),
        }
        token = jwt.encode(payload, self._key, algorithm=ALGORITHM)
        return IssuedAccessToken(token=token, expires_at=claims.expires_at, claims=claims)

    def verify_access_token(self, token: str) -> AccessClaims:
        """The claims of a valid access token; ``TokenExpired`` or ``TokenInvalid`` otherwise."""
        payload = self._decode(token, ACCESS_TYPE)
        sid = payload.get("sid")
        scp = payload.get("scp")
        if not isinstance(sid, str) or not sid:
            raise self._invalid("missing sid")
        if not isinstance(scp, list) or not scp or not all(isinstance(s, str) for s in scp):
            raise self._invalid("scp is not a non-empty list of strings")
        try:
            scopes = parse_scopes(scp)
        except ScopeError:
            raise self._invalid("unknown scope") from None
        return AccessClaims(
            principal_id=payload["sub"],
            session_id=sid,
            scopes=scopes,
            token_id=payload["jti"],
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )

    def issue_purpose_token(
        self,
        purpose: str,
        subject: str,
        *,
        ttl: timedelta,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """A short-lived signed token for one purpose (``oauth_state``, ``export``, ...).

        ``extra`` adds claims (JSON values); it cannot override the registered ones.
        """
        if purpose == ACCESS_TYPE:
            raise ValueError("use issue_access_token for access tokens")
        if ttl <= timedelta(0) or ttl > self._config.refresh_ttl:
            raise ValueError("a purpose token's ttl must be positive and at most refresh_ttl")
        clash = _RESERVED.intersection(extra or {})
        if clash:
            raise ValueError(f"extra claims cannot override {sorted(clash)}")
        now = self._clock().replace(microsecond=0)
        payload: dict[str, Any] = {
            **(extra or {}),
            "iss": self._config.jwt_issuer,
            "aud": self._config.jwt_audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "typ": purpose,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def verify_purpose_token(self, token: str, purpose: str) -> dict[str, Any]:
        """The claims of a valid token issued for ``purpose``; typed errors otherwise."""
        if purpose == ACCESS_TYPE:
            raise ValueError("use verify_access_token for access tokens")
        return self._decode(token, purpose)

    def _decode(self, token: str, typ: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],  # pinned: "none", RS256 and friends are refused
                audience=self._config.jwt_audience,
                issuer=self._config.jwt_issuer,
                leeway=LEEWAY,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_signature": True,
                    "verify_exp": True,
                    "verify_iat": True,
                    "verify_aud": True,
                    "verify_iss": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except jwt.InvalidTokenError as exc:
            raise self._invalid(type(exc).__name__) from None
        if payload.get("typ") != typ:
            raise self._invalid("wrong typ")
        if not isinstance(payload.get("sub"), str) or not payload["sub"]:
            raise self._invalid("sub is not a string")
        if not isinstance(payload.get("jti"), str):
            raise self._invalid("jti is not a string")
        return payload

    @staticmethod
    def _invalid(reason: str) -> TokenInvalid:
        # The reason helps whoever debugs a client; it is not shown to the caller.
        logger.debug("token refused: %s", reason)
        return TokenInvalid()


__all__ = [
    "ACCESS_TYPE",
    "ALGORITHM",
    "REQUIRED_CLAIMS",
    "AccessClaims",
    "Clock",
    "IssuedAccessToken",
    "TokenService",
    "utcnow",
]
