"""Expected failures of the gateway, each with a stable ``code`` clients can branch on.

Three tiers (STYLE rule 6): the JIRA error tree (``gateway.jira.errors``) and the sign-in tree
(``gateway.auth.errors``) describe what went wrong below; ``GatewayError`` subclasses describe
what the API refuses; ``expected_error`` maps all three to (code, message) for GraphQL. Anything
else is unexpected: masked for clients, logged with the request id.

    GatewayError              code, message safe to show
    ├── Unauthenticated       UNAUTHENTICATED: no or bad access token for a field that needs one
    ├── Forbidden             FORBIDDEN: authenticated, but not allowed (scope, ownership)
    ├── NotFound              NOT_FOUND: unknown, or exists but hidden (the same answer)
    ├── InvalidInput          BAD_USER_INPUT: an argument is invalid; ``field`` names it
    ├── LimitExceeded         LIMIT_EXCEEDED: a documented limit (page size, key count, ...)
    └── SiteNotConnected      SITE_NOT_CONNECTED: the user has no account on that site
"""

from __future__ import annotations

from typing import ClassVar

from gateway.auth.errors import AuthError, LoginRateLimited
from gateway.jira.errors import (
    JiraAuthError,
    JiraBadRequest,
    JiraError,
    JiraForbidden,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
)


class GatewayError(Exception):
    code: ClassVar[str] = "GATEWAY_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(message)


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class InvalidInput(GatewayError):
    code = "BAD_USER_INPUT"


class LimitExceeded(GatewayError):
    code = "LIMIT_EXCEEDED"


class SiteNotConnected(GatewayError):
    code = "SITE_NOT_CONNECTED"


def expected_error(exc: BaseException) -> tuple[str, str, dict[str, object]] | None:
    """(code, message, extra extensions) for an expected failure, or None if unexpected."""
    if isinstance(exc, GatewayError):
        return exc.code, exc.message, ({"field": exc.field} if exc.field else {})
    if isinstance(exc, LoginRateLimited):
        return exc.code, exc.message, {"retryAfter": exc.retry_after}
    if isinstance(exc, AuthError):
        return exc.code, exc.message, {}
    if isinstance(exc, JiraError):
        return _jira_error(exc)
    return None


def _jira_error(exc: JiraError) -> tuple[str, str, dict[str, object]]:
    if isinstance(exc, JiraBadRequest):
        messages = list(exc.error_messages) + [f"{k}: {v}" for k, v in exc.errors.items()]
        text = " ".join(messages) or "JIRA refused the request."
        is_jql = "/search" in exc.endpoint or "jql" in text.lower()
        code = "BAD_JQL" if is_jql else "JIRA_BAD_REQUEST"
        return code, text, {"jiraMessages": messages}
    if isinstance(exc, JiraRateLimited):
        return (
            "RATE_LIMITED",
            "JIRA is rate limiting requests; retry later.",
            {"retryAfter": exc.retry_after},
        )
    if isinstance(exc, JiraUnavailable):
        return "JIRA_UNAVAILABLE", "The JIRA site is unavailable right now; retry later.", {}
    if isinstance(exc, JiraAuthError):
        return (
            "JIRA_AUTH_FAILED",
            "JIRA no longer accepts your stored credential; sign in to the site again.",
            {},
        )
    if isinstance(exc, JiraForbidden):
        return "FORBIDDEN", "JIRA does not allow you to do this.", {}
    if isinstance(exc, JiraNotFound):
        return "NOT_FOUND", "Not found (or you do not have permission to see it).", {}
    return "JIRA_ERROR", "JIRA answered unexpectedly.", {}
