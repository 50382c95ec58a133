"""ORM models: the declarative ``Base``, shared column mixins and the tables.

Rules for every model here:

- portable types only (the same models run on SQLite and PostgreSQL);
- every relationship is declared with ``lazy="raise"``: async sessions cannot lazy-load, and an
  accidental lazy load must fail loudly in tests rather than issue hidden queries (load with
  ``selectinload`` explicitly);
- every schema change gets an Alembic migration in ``gateway/db/migrations/versions/``;
  ``gateway.db.migrate.check`` (and its test) fails when models and migrations differ.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import CheckConstraint, DateTime, Dialect, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so that Alembic can drop and alter them (SQLite batch mode
# needs a name for every constraint it recreates) and the names match on both engines.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SITE_FLAVORS: Final = ("cloud", "server")


class Base(DeclarativeBase):
    """Declarative base of all gateway tables (``Base.metadata`` is Alembic's target)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on both engines.

    PostgreSQL stores ``timestamptz``. SQLite has no time zone type: values are stored as UTC
    text (``CURRENT_TIMESTAMP`` is UTC too) and come back naive, so UTC is attached on load.
    Naive datetimes are refused on the way in: their zone is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTCDateTime column; attach a tzinfo")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TimestampMixin:
    """``created_at`` / ``updated_at`` set by the database (server defaults), timezone-aware.

    ``eager_defaults`` fetches the database-generated values with RETURNING after INSERT and
    UPDATE. Without it ``updated_at`` is expired after every update and reading it would need a
    lazy load, which an ``AsyncSession`` cannot do (``MissingGreenlet``).
    """

    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=func.now(), onupdate=func.now()
    )


def new_id() -> str:
    """A new primary key: a random UUID in its 36-character text form (portable)."""
    return str(uuid.uuid4())


def normalize_base_url(url: str) -> str:
    """The canonical form of a JIRA site URL: lower-case scheme and host, no trailing slash.

    Query string and fragment are dropped (they are never part of a site's base URL). A context
    path is kept (Server/DC often runs under ``/jira``). Raises ``ValueError`` for anything that
    is not an absolute http(s) URL.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    netloc = parts.hostname.lower()
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        raise ValueError("a site URL must not carry credentials")
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


class Site(TimestampMixin, Base):
    """A JIRA site the gateway talks to (one row per base URL).

    ``flavor`` is ``"cloud"`` or ``"server"`` (Server/Data Center), NULL until the gateway has
    asked the site's ``serverInfo``.
    """

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint(
            "flavor IS NULL OR flavor IN ('cloud', 'server')",
            name="flavor",
        ),
        # The ORM normalizes; this keeps raw SQL writers honest about the one rule that makes
        # two spellings of a URL collide under the unique constraint.
        CheckConstraint("base_url NOT LIKE '%/'", name="base_url_no_trailing_slash"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # 512 keeps the unique B-tree entry far below PostgreSQL's ~2.7 kB index row limit.
    base_url: Mapped[str] = mapped_column(String(512), nullable=False, unique=True)
    flavor: Mapped[str | None] = mapped_column(String(16), nullable=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)

    @validates("base_url")
    def _normalize_base_url(self, _key: str, value: str) -> str:
        return normalize_base_url(value)

    @validates("flavor")
    def _check_flavor(self, _key: str, value: str | None) -> str | None:
        if value is not None and value not in SITE_FLAVORS:
            raise ValueError(f"flavor must be one of {SITE_FLAVORS} or None, not {value!r}")
        return value

    def __repr__(self) -> str:
        return f"Site(id={self.id!r}, base_url={self.base_url!r}, flavor={self.flavor!r})"


__all__ = [
    "NAMING_CONVENTION",
    "SITE_FLAVORS",
    "Base",
    "Site",
    "TimestampMixin",
    "UTCDateTime",
    "new_id",
    "normalize_base_url",
]
