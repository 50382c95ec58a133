"""Model rules that hold without a database: URL normalization, UTC timestamps, conventions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Dialect
from sqlalchemy.dialects import postgresql, sqlite

from gateway.db.models import Base, Site, UTCDateTime, normalize_base_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/", "https://acme.atlassian.net"),
        (" HTTPS://ACME.Atlassian.net// ", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net:443/", "https://acme.atlassian.net"),
        ("http://jira.local:80", "http://jira.local"),
        ("http://jira.local:8080/jira/", "http://jira.local:8080/jira"),
        ("https://jira.local/Jira?x=1#frag", "https://jira.local/Jira"),  # path case is kept
        ("http://[::1]:8081/", "http://[::1]:8081"),
    ],
)
def test_db_normalize_base_url(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected
    assert normalize_base_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "bad",
    ["acme.atlassian.net", "ftp://acme.atlassian.net", "https://", "https://u:p@jira.local"],
)
def test_db_normalize_base_url_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        normalize_base_url(bad)


def test_db_site_validates_in_python() -> None:
    site = Site(base_url="https://Acme.atlassian.net/", name="Acme", flavor="server")
    assert site.base_url == "https://acme.atlassian.net"
    with pytest.raises(ValueError, match="flavor"):
        Site(base_url="https://acme.atlassian.net", name="Acme", flavor="datacenter")


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_db_utc_datetime_binds_utc_and_loads_aware(dialect: Dialect) -> None:
    column_type = UTCDateTime()
    plus_three = timezone(timedelta(hours=3))
    bound = column_type.process_bind_param(datetime(2024, 5, 1, 15, 0, tzinfo=plus_three), dialect)
    assert bound == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert bound is not None
    assert bound.tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        column_type.process_bind_param(datetime(2024, 5, 1, 12, 0), dialect)
    # SQLite hands back naive UTC text; the column type makes it aware.
    loaded = column_type.process_result_value(datetime(2024, 5, 1, 12, 0), dialect)
    assert loaded == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_db_every_relationship_raises_on_lazy_load() -> None:
    offenders = [
        f"{mapper.class_.__name__}.{rel.key} (lazy={rel.lazy!r})"
        for mapper in Base.registry.mappers
        for rel in mapper.relationships
        if rel.lazy != "raise"
    ]
    assert offenders == [], "declare relationships with lazy='raise'"


def test_db_constraints_are_named_by_convention() -> None:
    table = Site.__table__
    names = {constraint.name for constraint in table.constraints}
    assert {
        "pk_sites",
        "uq_sites_base_url",
        "ck_sites_flavor",
        "ck_sites_base_url_no_trailing_slash",
    } <= names
    assert None not in names  # unnamed constraints cannot be dropped by SQLite batch migrations
