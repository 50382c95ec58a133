"""Errors of the sign-in services: one tree, each with a stable ``code`` and an HTTP status.

The tree::

    AuthError                      base: code, status, a message safe to show to the user
    ├── TokenError                 401, a gateway access or purpose token was refused
    │   ├── TokenExpired           the token's ``exp`` has passed
    │   └── TokenInvalid           bad signature, algorithm, audience, issuer, type, claims
    ├── InsufficientScope          403, the token lacks a scope the operation needs
    ├── ScopeError                 400, unknown scope, or asking for more than was granted
    ├── SessionError               401, a refresh token was refused
    │   ├── RefreshTokenInvalid    unknown token
    │   ├── RefreshTokenExpired    past its ``expires_at``
    │   ├── RefreshTokenReused     a spent token came back: its whole family is now revoked
    │   └── SessionRevoked         the session (family) was revoked (logout, revokeSession)
    ├── SiteUrlRefused             400, the site URL or an address it resolves to is not allowed
    ├── LoginRateLimited           429, too many failed logins (``retry_after`` seconds)
    └── VaultError                 500, a stored credential cannot be decrypted or is misplaced

Messages never contain a token, a password, a key or a ciphertext: resolvers may put them into
GraphQL errors as they are, and they end up in logs.
"""

from __future__ import annotations

from typing import ClassVar


class AuthError(Exception):
    """Base of every error raised by ``gateway.auth``."""

    code: ClassVar[str] = "AUTH_ERROR"
    status: ClassVar[int] = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TokenError(AuthError):
    code = "TOKEN_INVALID"
    status = 401


class TokenExpired(TokenError):
    code = "TOKEN_EXPIRED"

    def __init__(self, message: str = "Your session token has expired; sign in again.") -> None:
        super().__init__(message)


class TokenInvalid(TokenError):
    code = "TOKEN_INVALID"

    def __init__(self, message: str = "The session token is not valid; sign in again.") -> None:
        super().__init__(message)


class InsufficientScope(AuthError):
    code = "INSUFFICIENT_SCOPE"
    status = 403

    def __init__(self, needed: str) -> None:
        self.needed = needed
        super().__init__(f"This operation needs the '{needed}' scope, which your token lacks.")


class ScopeError(AuthError):
    code = "INVALID_SCOPE"
    status = 400


class SessionError(AuthError):
    code = "SESSION_INVALID"
    status = 401


class RefreshTokenInvalid(SessionError):
    code = "REFRESH_TOKEN_INVALID"

    def __init__(self) -> None:
        super().__init__("The refresh token is not valid; sign in again.")


class RefreshTokenExpired(SessionError):
    code = "REFRESH_TOKEN_EXPIRED"

    def __init__(self) -> None:
        super().__init__("The refresh token has expired; sign in again.")


class RefreshTokenReused(SessionError):
    code = "REFRESH_TOKEN_REUSED"

    def __init__(self) -> None:
        super().__init__(
            "This refresh token was already used. The session has been closed for your "
            "safety; sign in again."
        )


class SessionRevoked(SessionError):
    code = "SESSION_REVOKED"

    def __init__(self) -> None:
        super().__init__("This session was signed out; sign in again.")


class SiteUrlRefused(AuthError):
    """The site URL is malformed, not https, or reaches an address the gateway must not call."""

    code = "SITE_URL_REFUSED"
    status = 400

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"This site URL cannot be used: {reason}.")


class LoginRateLimited(AuthError):
    code = "RATE_LIMITED"
    status = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))  # whole seconds, never 0
        super().__init__(
            f"Too many failed sign-in attempts. Try again in {self.retry_after} seconds."
        )


class VaultError(AuthError):
    code = "CREDENTIAL_UNREADABLE"
    status = 500


__all__ = [
    "AuthError",
    "InsufficientScope",
    "LoginRateLimited",
    "RefreshTokenExpired",
    "RefreshTokenInvalid",
    "RefreshTokenReused",
    "ScopeError",
    "SessionError",
    "SessionRevoked",
    "SiteUrlRefused",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "VaultError",
]
