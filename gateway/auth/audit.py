"""The audit log: security-relevant events written to ``audit_events``, scrubbed of secrets.

:func:`record` adds a row to the caller's session, so the event commits (or rolls back) with the
change it describes; a failed login, which changes nothing else, is recorded in a session of its
own by the caller. ``detail`` goes through :func:`scrub` first: keys that look secret are
dropped at any depth, long strings are cut, and the whole detail is size-capped.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db.models import AuditEvent


class AuditEventType(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_RATE_LIMITED = "login_rate_limited"
    LOGOUT = "logout"
    REFRESH = "refresh"
    REFRESH_REUSE = "refresh_reuse"
    SESSION_REVOKED = "session_revoked"
    SITE_REFUSED = "site_refused"
    OAUTH_CONNECTED = "oauth_connected"
    EXPORT_REQUESTED = "export_requested"


# Key names whose values are (or may be) secrets. Tight on purpose: "issue_key" and
# "auth_kind" are useful audit detail, "api_key", "authorization" and "passwd" are not.
_SECRET_KEY: Final = re.compile(
    r"token|passw|passphrase|secret|credential|cookie|authorization|signature|cipher"
    r"|(api|private|access|signing)_?key|^auth$|auth_?header",
    re.IGNORECASE,
)
# Values that are secrets whatever their key says: bearer/basic headers and JWT-shaped strings.
_SECRET_VALUE: Final = re.compile(
    r"^\s*(bearer|basic)\s+\S+|^eyJ[\w-]+\.[\w-]+\.[\w-]*$", re.IGNORECASE
)
REDACTED: Final = "[redacted]"
_MAX_STRING = 200
_MAX_ITEMS = 50
_MAX_DEPTH = 4


def scrub(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``detail`` that is safe to store: secret-looking keys dropped, values capped."""
    if detail is None:
        return None
    cleaned = _scrub_value(dict(detail), 0)
    return cleaned if isinstance(cleaned, dict) else None


def _scrub_value(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return "[nested too deep]"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in list(value.items())[:_MAX_ITEMS]:
            name = str(key)
            if _SECRET_KEY.search(name):
                continue
            out[name[:_MAX_STRING]] = _scrub_value(item, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub_value(item, depth + 1) for item in list(value)[:_MAX_ITEMS]]
    if isinstance(value, str):
        if _SECRET_VALUE.search(value):
            return REDACTED
        return value[:_MAX_STRING]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)[:_MAX_STRING]


def record(
    session: AsyncSession,
    event: AuditEventType | str,
    *,
    principal_id: str | None = None,
    site_id: str | None = None,
    ip: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to ``session`` (the caller commits). ``event`` must be a known type."""
    row = AuditEvent(
        event=AuditEventType(event).value,
        principal_id=principal_id,
        site_id=site_id,
        ip=ip[:45] if ip else None,
        detail=scrub(detail),
    )
    session.add(row)
    return row


__all__ = ["REDACTED", "AuditEventType", "record", "scrub"]
