"""Errors raised by the JIRA client layer, and the mapping from HTTP responses to them.

The tree::

    JiraError                      base: site, endpoint template, status, message
    ├── JiraUnavailable            network errors, 5xx, 429 after retries exhausted
    │   └── JiraCircuitOpen        the site's breaker is open: failed without network I/O
    ├── JiraRateLimited            429 whose wait is too long to sit out (``retry_after`` s)
    ├── JiraAuthError              401
    ├── JiraForbidden              403
    ├── JiraNotFound               404
    ├── JiraBadRequest             400 (``error_messages`` list, ``errors`` dict, e.g. JQL)
    ├── JiraGone                   410
    └── JiraMalformedResponse      non-JSON, truncated, wrong shape, over the size limit

Every error names the endpoint *template* (``/rest/api/3/issue/{key}``), never the expanded
URL, and never carries credentials or request headers: messages may end up in GraphQL errors
and logs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

# Bound what we copy from an upstream body into an error message.
_MAX_MESSAGE = 500


class JiraError(Exception):
    """Base of every JIRA client error."""

    def __init__(
        self,
        message: str,
        *,
        site: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        self.message = message
        self.site = site
        self.endpoint = endpoint
        self.status = status
        super().__init__(self._render())

    def _render(self) -> str:
        where = " ".join(part for part in (self.site, self.endpoint) if part)
        status = f" HTTP {self.status}" if self.status is not None else ""
        prefix = f"[{where}{status}] " if where or status else ""
        return f"{prefix}{self.message}"


class JiraUnavailable(JiraError):
    """JIRA could not be reached or answered with a server-side failure."""


class JiraCircuitOpen(JiraUnavailable):
    """The site's circuit breaker is open; the call was refused locally."""


class JiraRateLimited(JiraError):
    """JIRA asked us to wait longer than we are willing to (``retry_after`` seconds)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        site: str = "",
        endpoint: str = "",
        status: int | None = 429,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, site=site, endpoint=endpoint, status=status)


class JiraAuthError(JiraError):
    """401: the credentials were missing, wrong or expired."""


class JiraForbidden(JiraError):
    """403: authenticated but not allowed."""


class JiraNotFound(JiraError):
    """404: the resource does not exist or is invisible to this principal."""


class JiraGone(JiraError):
    """410: the resource or API was removed."""


class JiraBadRequest(JiraError):
    """400: JIRA rejected the request; JQL errors land in ``error_messages``."""

    def __init__(
        self,
        message: str,
        *,
        error_messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
        site: str = "",
        endpoint: str = "",
        status: int | None = 400,
    ) -> None:
        self.error_messages = list(error_messages or [])
        self.errors = dict(errors or {})
        super().__init__(message, site=site, endpoint=endpoint, status=status)


class JiraMalformedResponse(JiraError):
    """The response could not be used: not JSON, truncated, wrong shape or too large."""

    def __init__(
        self,
        endpoint: str,
        detail: str,
        *,
        site: str = "",
        status: int | None = None,
    ) -> None:
        self.detail = detail
        super().__init__(
            f"malformed response: {detail}", site=site, endpoint=endpoint, status=status
        )


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _clip(text: str) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def parse_error_body(body: bytes) -> tuple[str, list[str], dict[str, str]]:
    """Extract (message, errorMessages, errors) from a JIRA error body of any known shape.

    Shapes: ``{"errorMessages": [...], "errors": {...}}`` (REST v2/v3, Server and Cloud),
    Cloud's gateway ``{"message": ...}`` / ``{"error": ...}``, HTML error pages (title or
    stripped text) and plain text. Never raises.
    """
    error_messages: list[str] = []
    errors: dict[str, str] = {}
    stripped = body.strip()
    if not stripped:
        return "", error_messages, errors
    try:
        data: Any = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        raw_list = data.get("errorMessages")
        if isinstance(raw_list, list):
            error_messages = [str(item) for item in raw_list if item is not None]
        raw_errors = data.get("errors")
        if isinstance(raw_errors, dict):
            errors = {str(key): str(value) for key, value in raw_errors.items()}
        parts = list(error_messages) + [f"{key}: {value}" for key, value in errors.items()]
        for key in ("message", "error", "errorMessage"):
            value = data.get(key)
            if isinstance(value, str) and value:
                parts.append(value)
        return _clip("; ".join(parts)), error_messages, errors
    if isinstance(data, str):
        return _clip(data), error_messages, errors
    if data is not None:
        return "", error_messages, errors
    if stripped[:1] == b"<":
        match = _TITLE.search(stripped)
        if match:
            text = match.group(1).decode("utf-8", "replace")
        else:
            text = _TAGS.sub(" ", stripped.decode("utf-8", "replace"))
        return _clip(text), error_messages, errors
    return _clip(stripped.decode("utf-8", "replace")), error_messages, errors


def parse_retry_after(value: str | None, *, now_epoch: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now_epoch)


def parse_rate_limit_reset(value: str | None, *, now_epoch: float) -> float | None:
    """Seconds to wait from ``X-RateLimit-Reset`` (ISO 8601 instant, as JIRA Cloud sends)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_epoch)


def error_for_response(
    response: httpx.Response,
    *,
    endpoint: str,
    site: str = "",
    body: bytes | None = None,
    retry_after: float | None = None,
) -> JiraError:
    """Map a non-2xx response to the matching error (the body must already be read).

    ``body`` overrides ``response.content`` when the caller streamed it itself.
    """
    status = response.status_code
    raw = body if body is not None else response.content
    message, error_messages, errors = parse_error_body(raw)
    if not message:
        message = response.reason_phrase or f"HTTP {status}"
    common: dict[str, Any] = {"site": site, "endpoint": endpoint}
    if status == 400:
        return JiraBadRequest(
            message, error_messages=error_messages, errors=errors, status=status, **common
        )
    if status == 401:
        return JiraAuthError(message, status=status, **common)
    if status == 403:
        return JiraForbidden(message, status=status, **common)
    if status == 404:
        return JiraNotFound(message, status=status, **common)
    if status == 410:
        return JiraGone(message, status=status, **common)
    if status == 429:
        return JiraRateLimited(message, retry_after=retry_after, status=status, **common)
    if status >= 500:
        return JiraUnavailable(message, status=status, **common)
    if 400 <= status < 500:
        # Other 4xx (405, 409, 413, 415, 422 ...) are request problems, like a 400.
        return JiraBadRequest(
            message, error_messages=error_messages, errors=errors, status=status, **common
        )
    return JiraMalformedResponse(
        endpoint, f"unexpected HTTP status {status}", site=site, status=status
    )
