"""Audit details are scrubbed of anything that looks secret before they are stored."""

from __future__ import annotations

import pytest

from gateway.auth.audit import REDACTED, AuditEventType, scrub


def test_auth_audit_scrub_drops_secret_keys_at_any_depth() -> None:
    detail = {
        "site": "https://acme.atlassian.net",
        "auth_kind": "api_token",
        "issue_keys": ["ABC-1", "ABC-2"],
        "api_token": "alice-token",
        "Password": "hunter2",
        "headers": {"Authorization": "Basic YWxpY2U6cHc=", "User-Agent": "UA"},
        "nested": {"refresh_token": "r", "client_secret": "c", "Cookie": "sid=1", "ok": 1},
        "attempts": [{"credential": "x", "at": 3}],
        "api_key": "k",
    }
    cleaned = scrub(detail)
    assert cleaned == {
        "site": "https://acme.atlassian.net",
        "auth_kind": "api_token",
        "issue_keys": ["ABC-1", "ABC-2"],
        "headers": {"User-Agent": "UA"},
        "nested": {"ok": 1},
        "attempts": [{"at": 3}],
    }
    for secret in ("alice-token", "hunter2", "YWxpY2U6cHc", "sid=1"):
        assert secret not in repr(cleaned)


def test_auth_audit_scrub_redacts_secret_looking_values() -> None:
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    cleaned = scrub({"note": "Bearer abc.def", "value": jwt_like, "other": "plain"})
    assert cleaned == {"note": REDACTED, "value": REDACTED, "other": "plain"}


def test_auth_audit_scrub_caps_sizes() -> None:
    cleaned = scrub(
        {
            "long": "x" * 10_000,
            "many": list(range(500)),
            "deep": {"a": {"b": {"c": {"d": {"e": 1}}}}},
        }
    )
    assert cleaned is not None
    assert len(cleaned["long"]) == 200
    assert len(cleaned["many"]) == 50
    assert "nested too deep" in repr(cleaned["deep"])
    assert scrub(None) is None


def test_auth_audit_event_types_are_checked() -> None:
    assert AuditEventType("refresh_reuse") is AuditEventType.REFRESH_REUSE
    with pytest.raises(ValueError, match="is not a valid"):
        AuditEventType("made_up")
