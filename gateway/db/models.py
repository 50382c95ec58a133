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

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
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


# --- Sign-in and tenancy (issue 4): principals, their JIRA accounts, sessions, audit ---------

AUTH_KINDS: Final = ("api_token", "password", "pat", "oauth")


class Principal(TimestampMixin, Base):
    """A gateway user. Their identities on JIRA sites are ``site_accounts`` (viewer.sites)."""

    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # The site used when a site-scoped field gets no ``site`` argument.
    default_site_id: Mapped[str | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), nullable=True, index=True
    )

    site_accounts: Mapped[list[SiteAccount]] = relationship(
        back_populates="principal", lazy="raise", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"Principal(id={self.id!r})"


class SiteAccount(TimestampMixin, Base):
    """One JIRA identity of a principal on one site, with its credential sealed by the vault.

    ``jira_account_id`` is the Cloud ``accountId`` or the Server/DC user ``key``.
    ``credential_ciphertext`` is a ``gateway.auth.vault.Vault`` ciphertext bound to this row's
    id: copied to another row it does not decrypt. Plaintext credentials never reach the table.
    """

    __tablename__ = "site_accounts"
    __table_args__ = (
        UniqueConstraint(
            "site_id", "jira_account_id", name="uq_site_accounts_site_id_jira_account_id"
        ),
        UniqueConstraint("principal_id", "site_id", name="uq_site_accounts_principal_id_site_id"),
        CheckConstraint("auth_kind IN ('api_token', 'password', 'pat', 'oauth')", name="auth_kind"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    jira_account_id: Mapped[str] = mapped_column(String(128), nullable=False)
    jira_username: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    display_name: Mapped[str] = mapped_column(String(255), nullable=False)
    auth_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    credential_ciphertext: Mapped[str] = mapped_column(Text, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    principal: Mapped[Principal] = relationship(back_populates="site_accounts", lazy="raise")
    site: Mapped[Site] = relationship(lazy="raise")

    @validates("auth_kind")
    def _check_auth_kind(self, _key: str, value: str) -> str:
        if value not in AUTH_KINDS:
            raise ValueError(f"auth_kind must be one of {AUTH_KINDS}, not {value!r}")
        return value

    def __repr__(self) -> str:
        # No credential, not even its ciphertext.
        return (
            f"SiteAccount(id={self.id!r}, site_id={self.site_id!r}, "
            f"jira_account_id={self.jira_account_id!r}, auth_kind={self.auth_kind!r})"
        )


class RefreshToken(Base):
    """One opaque refresh token, stored as its SHA-256; a session is a ``family_id``.

    Rotation spends a token (``used_at``) and links its successor (``replaced_by_id``); a
    spent token presented again revokes the whole family (``revoked_at`` on every row).
    """

    __tablename__ = "refresh_tokens"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (read by SQLAlchemy only)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Hex SHA-256 of the token: a database dump does not yield usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scopes: Mapped[str] = mapped_column(String(64), nullable=False)  # space-separated
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    replaced_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("refresh_tokens.id", ondelete="SET NULL"), nullable=True
    )
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    # A name the user gave the session at login ("laptop"); copied to each successor.
    label: Mapped[str | None] = mapped_column(String(100), nullable=True)

    def __repr__(self) -> str:
        return f"RefreshToken(id={self.id!r}, family_id={self.family_id!r})"


class AuditEvent(Base):
    """An append-only security log entry (logins, logouts, refresh reuse, revocations...).

    No foreign keys on purpose: the log outlives the principals and sites it names. ``detail``
    goes through ``gateway.auth.audit.scrub`` first and never holds secrets.
    """

    __tablename__ = "audit_events"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (read by SQLAlchemy only)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=func.now(), index=True
    )
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    principal_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    site_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    def __repr__(self) -> str:
        return f"AuditEvent(id={self.id!r}, event={self.event!r}, at={self.at!r})"


__all__ += ["AUTH_KINDS", "AuditEvent", "Principal", "RefreshToken", "SiteAccount"]


# --- Live changes (issue 7): per-site webhook secrets and received webhook deliveries --------

from sqlalchemy.dialects.postgresql import JSONB  # noqa: E402 (this section's own import)

WEBHOOK_DELIVERY_STATUSES: Final = ("received", "processed", "ignored", "failed")


class SiteWebhook(TimestampMixin, Base):
    """The webhook secret of one site, sealed by ``gateway.auth.vault.Vault``.

    The secret is an HMAC-SHA256 key, so it must be recoverable (not hashed): it is stored as a
    vault ciphertext bound to ``site_webhook:<site_id>`` (see ``gateway.webhooks``).
    """

    __tablename__ = "site_webhooks"

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    secret_ciphertext: Mapped[str] = mapped_column(Text, nullable=False)

    def __repr__(self) -> str:
        return f"SiteWebhook(site_id={self.site_id!r})"  # never the secret


class WebhookDelivery(Base):
    """One webhook delivery, stored once per (site, ``X-Atlassian-Webhook-Identifier``).

    ``status``: ``received`` (stored, job queued), ``processed`` (event published: ``event_id``
    is its broker cursor), ``ignored`` (about no issue) or ``failed`` (unparseable body).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("site_id", "identifier", name="uq_webhook_deliveries_site_id_identifier"),
        CheckConstraint("status IN ('received', 'processed', 'ignored', 'failed')", name="status"),
    )
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (read by SQLAlchemy only)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    # Atlassian's identifier, or "sha256:<hex of the body>" when the header is missing.
    identifier: Mapped[str] = mapped_column(String(128), nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=func.now(), index=True
    )
    body: Mapped[Any] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received")
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return (
            f"WebhookDelivery(id={self.id!r}, site_id={self.site_id!r}, "
            f"identifier={self.identifier!r}, status={self.status!r})"
        )


__all__ += ["WEBHOOK_DELIVERY_STATUSES", "SiteWebhook", "WebhookDelivery"]


# --- Live changes (issue 7): how each site's changes reach the gateway ---------------------

EVENT_SOURCE_KINDS: Final = ("admin", "dynamic", "polling")


class SiteEventSource(TimestampMixin, Base):
    """How a site's issue changes reach the gateway: a registered webhook, or polling.

    ``kind``: ``admin`` (Server admin webhook), ``dynamic`` (Cloud dynamic webhooks, which
    expire 30 days after registration or refresh: ``expires_at``) or ``polling`` (no webhook;
    the poller searches ``updated >=`` its last poll). ``account_id`` is the site account whose
    credential registered it, refreshes it and polls with it (None when the demo registered it).
    """

    __tablename__ = "site_event_sources"
    __table_args__ = (CheckConstraint("kind IN ('admin', 'dynamic', 'polling')", name="kind"),)

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("site_accounts.id", ondelete="SET NULL"), nullable=True
    )
    webhook_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False, default=list)
    callback_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"SiteEventSource(site_id={self.site_id!r}, kind={self.kind!r})"


__all__ += ["EVENT_SOURCE_KINDS", "SiteEventSource"]


# --- PDF exports (issue 8): export jobs and saved export templates ---------------------------

EXPORT_STATUSES: Final = ("PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED")
EXPORT_LAYOUTS: Final = ("MERGED", "ZIP")


class Export(Base):
    """One PDF export job of a principal; ``gateway.exports`` documents the life cycle.

    ``source`` is what was asked (``{"keys": [...]}`` or ``{"jql": "..."}``); ``issue_keys`` the
    keys it resolved to, fixed by the first run so that a rerun renders the same issues.
    ``lease_token`` names the run that holds the export; ``heartbeat_at`` is renewed while it
    works, so the sweeper can tell a dead run from a slow one. ``progress_done`` never decreases.
    """

    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('PENDING', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED')", name="status"
        ),
        CheckConstraint("layout IN ('MERGED', 'ZIP')", name="layout"),
    )
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (read by SQLAlchemy only)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="PENDING", index=True)
    layout: Mapped[str] = mapped_column(String(8), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    issue_keys: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    skipped: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    progress_done: Mapped[int] = mapped_column(nullable=False, default=0)
    progress_total: Mapped[int] = mapped_column(nullable=False, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(nullable=True)
    page_count: Mapped[int | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"Export(id={self.id!r}, status={self.status!r}, layout={self.layout!r})"


class ExportTemplate(TimestampMixin, Base):
    """A principal's saved export options under a name (validated ``ReportOptions`` fields)."""

    __tablename__ = "export_templates"
    __table_args__ = (
        UniqueConstraint("principal_id", "name", name="uq_export_templates_principal_id_name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)

    def __repr__(self) -> str:
        return f"ExportTemplate(id={self.id!r}, name={self.name!r})"


__all__ += ["EXPORT_LAYOUTS", "EXPORT_STATUSES", "Export", "ExportTemplate"]


# --- Saved selections, filters, search history, the local mirror (issue 6) ------------------

from sqlalchemy import BigInteger, Boolean, Index, Integer  # noqa: E402 (this section's imports)

# Objects the migrations create with raw DDL because SQLAlchemy cannot declare them portably:
# the PostgreSQL tsvector column with its GIN index, and SQLite's FTS5 table (plus the shadow
# tables FTS5 creates and the triggers keeping it in sync). ``alembic check`` and the schema
# tests skip exactly these names (``is_unmanaged``).
UNMANAGED_COLUMNS: Final = frozenset({("mirror_issues", "search_vector")})
UNMANAGED_INDEXES: Final = frozenset({"ix_mirror_issues_search_vector"})
UNMANAGED_TABLE_PREFIX: Final = "mirror_fts"


def is_unmanaged(name: str | None, type_: str, parent_table: str | None = None) -> bool:
    """True for a database object the models deliberately do not describe (see above)."""
    if name is None:
        return False
    if type_ == "table":
        return name.startswith(UNMANAGED_TABLE_PREFIX)
    if type_ == "column":
        return (parent_table or "", name) in UNMANAGED_COLUMNS
    if type_ == "index":
        return name in UNMANAGED_INDEXES
    return False


class Selection(TimestampMixin, Base):
    """A named set of issue keys of one principal on one site (its keys: ``selection_items``).

    ``shared``: readable by every user of the site; only the owner changes it.
    """

    __tablename__ = "selections"
    __table_args__ = (Index("ix_selections_principal_id_site_id", "principal_id", "site_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    shared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    def __repr__(self) -> str:
        return f"Selection(id={self.id!r}, name={self.name!r})"


class SelectionItem(Base):
    """One key in one selection: a row each, so concurrent adds and removes never lose a key."""

    __tablename__ = "selection_items"

    selection_id: Mapped[str] = mapped_column(
        ForeignKey("selections.id", ondelete="CASCADE"), primary_key=True
    )
    issue_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=func.now()
    )


class SavedFilter(TimestampMixin, Base):
    """A named filter (structured ``IssueFilter`` JSON and/or JQL), private or shared with the
    site."""

    __tablename__ = "saved_filters"
    __table_args__ = (Index("ix_saved_filters_site_id_principal_id", "site_id", "principal_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    jql: Mapped[str | None] = mapped_column(Text, nullable=True)
    shared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    def __repr__(self) -> str:
        return f"SavedFilter(id={self.id!r}, name={self.name!r}, shared={self.shared!r})"


class QuickFilterSet(TimestampMixin, Base):
    """A user's own ordered set of quick filters: ``entries`` is a list of references
    (``{"kind": "preset", "ref": "assignedToMe"}`` or ``{"kind": "saved", "ref": <id>}``),
    replaced as a whole when edited."""

    __tablename__ = "quick_filter_sets"
    __table_args__ = (
        Index("ix_quick_filter_sets_principal_id_site_id", "principal_id", "site_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    entries: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False)


class FilterUsage(Base):
    """How often a principal applied a filter (``preset:<name>`` or ``saved:<id>``)."""

    __tablename__ = "filter_usage"

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    filter_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class SearchHistoryEntry(Base):
    """One distinct search of a principal (``kind`` text or jql); re-running bumps ``used_at``."""

    __tablename__ = "search_history"
    __table_args__ = (
        UniqueConstraint(
            "principal_id",
            "site_id",
            "kind",
            "query_hash",
            name="uq_search_history_principal_id_site_id_kind_query_hash",
        ),
        CheckConstraint("kind IN ('text', 'jql')", name="kind"),
        Index("ix_search_history_principal_id_used_at", "principal_id", "used_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    query: Mapped[str] = mapped_column(Text, nullable=False)
    # SHA-256 of the query text: a unique index on unbounded text would hit PostgreSQL's limit.
    query_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


MIRROR_STATES: Final = ("idle", "syncing", "error", "disabled")


class MirrorSite(TimestampMixin, Base):
    """Sync state of one site's mirror and the identity it is fetched with.

    ``sync_account_id`` is the site account whose JIRA view the mirror holds (the user who
    enabled it, or the first to connect): the mirror is never served without checking each
    issue as the asking user. ``cursor`` is the largest ``updated`` seen so far.
    """

    __tablename__ = "mirror_sites"
    __table_args__ = (
        CheckConstraint("state IN ('idle', 'syncing', 'error', 'disabled')", name="state"),
    )

    site_id: Mapped[str] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    sync_account_id: Mapped[str | None] = mapped_column(
        ForeignKey("site_accounts.id", ondelete="SET NULL"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="idle")
    cursor: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_full_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    issue_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class MirrorIssue(Base):
    """One mirrored issue; ``deleted_at`` marks a tombstone (gone from the sync identity's view).

    Full-text search lives beside the columns (see ``UNMANAGED_*``): a generated ``tsvector``
    with a GIN index on PostgreSQL, the ``mirror_fts`` FTS5 table (``rowid`` = ``id``) on SQLite.
    """

    __tablename__ = "mirror_issues"
    __table_args__ = (
        UniqueConstraint("site_id", "issue_id", name="uq_mirror_issues_site_id_issue_id"),
        Index("ix_mirror_issues_site_id_issue_key", "site_id", "issue_key"),
        Index("ix_mirror_issues_site_id_updated", "site_id", "updated"),
        Index("ix_mirror_issues_site_id_project_key", "site_id", "project_key"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    issue_id: Mapped[str] = mapped_column(String(32), nullable=False)
    issue_key: Mapped[str] = mapped_column(String(64), nullable=False)
    project_key: Mapped[str] = mapped_column(String(64), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status_category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(255), nullable=True)
    issue_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    assignee_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    assignee_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reporter_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    labels: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolution_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    document: Mapped[Any] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), nullable=False
    )
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"MirrorIssue(site_id={self.site_id!r}, issue_key={self.issue_key!r})"


__all__ += [
    "MIRROR_STATES",
    "UNMANAGED_COLUMNS",
    "UNMANAGED_INDEXES",
    "UNMANAGED_TABLE_PREFIX",
    "FilterUsage",
    "MirrorIssue",
    "MirrorSite",
    "QuickFilterSet",
    "SavedFilter",
    "SearchHistoryEntry",
    "Selection",
    "SelectionItem",
    "is_unmanaged",
]
