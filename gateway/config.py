"""Gateway configuration: one ``Settings`` object read from ``JGW_*`` environment variables.

Embedded vs services mode (DESIGN §2) is derived, not configured: with ``JGW_REDIS_URL`` unset the
gateway runs embedded (SQLite, in-process cache, pub/sub and jobs); with it set, services mode.
"""

from __future__ import annotations

import enum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Self

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/jira-gateway.sqlite3"


class Profile(enum.StrEnum):
    """``dev`` serves GraphiQL and field suggestions; ``prod`` hides both."""

    DEV = "dev"
    PROD = "prod"


class Mode(enum.StrEnum):
    EMBEDDED = "embedded"
    SERVICES = "services"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the gateway. Environment variable = ``JGW_`` + the upper-case field name."""

    model_config = SettingsConfigDict(env_prefix="JGW_", extra="ignore", frozen=True)

    profile: Profile = Field(
        default=Profile.DEV, description="dev (GraphiQL on GET /graphql) or prod."
    )
    host: str = Field(default="127.0.0.1", description="Address the gateway listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the gateway listens on.")
    database_url: SecretStr = Field(
        default=SecretStr(DEFAULT_DATABASE_URL),
        description="SQLAlchemy URL: sqlite+aiosqlite:///file or postgresql+asyncpg://…",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL; set it (with a PostgreSQL database) for services mode.",
    )
    sites: Annotated[list[AnyHttpUrl], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated base URLs of the JIRA sites served; /readyz checks each.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed by CORS (empty: no cross-origin access).",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    var_dir: Path = Field(
        default=Path("./var"),
        description="Directory for local state: the SQLite file, dev secrets, export files.",
    )
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 secret (>= 32 bytes) signing gateway access tokens; required in prod.",
    )
    vault_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Fernet keys encrypting stored JIRA credentials; the first "
        "encrypts, all decrypt (rotation). Required in prod.",
    )
    access_token_ttl_s: int = Field(
        default=900, ge=60, le=900, description="Access token lifetime in seconds (max 15 min)."
    )
    refresh_token_ttl_days: int = Field(
        default=30, ge=1, le=365, description="Refresh token (session) lifetime in days."
    )
    allow_insecure_sites: bool = Field(
        default=False, description="Allow plain-http JIRA sites on loopback (the demo sets it)."
    )
    site_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts, *.suffixes or CIDRs of JIRA sites allowed on private addresses.",
    )
    cache_issue_ttl_s: float = Field(default=60, gt=0, description="Issue cache TTL (seconds).")
    cache_search_ttl_s: float = Field(default=60, gt=0, description="Search cache TTL (seconds).")
    cache_meta_ttl_s: float = Field(
        default=3600, gt=0, description="Metadata (projects, statuses, …) cache TTL (seconds)."
    )
    # --- OAuth 2.0 (3LO) for Jira Cloud (issue 4); off while JGW_OAUTH_CLIENT_ID is unset ---
    oauth_client_id: str | None = Field(
        default=None, description="OAuth 2.0 (3LO) client id of the gateway's Atlassian app."
    )
    oauth_client_secret: SecretStr | None = Field(
        default=None, description="OAuth 2.0 client secret of the Atlassian app."
    )
    oauth_authorize_url: str = Field(
        default="https://auth.atlassian.com/authorize",
        description="The authorization endpoint users are sent to.",
    )
    oauth_token_url: str = Field(
        default="https://auth.atlassian.com/oauth/token",
        description="The token endpoint (code exchange and refresh).",
    )
    oauth_resources_url: str = Field(
        default="https://api.atlassian.com/oauth/token/accessible-resources",
        description="Lists the sites (cloud ids) an OAuth access token may use.",
    )
    oauth_api_url: str = Field(
        default="https://api.atlassian.com/ex/jira/{cloud_id}",
        description="Base URL of JIRA's REST API for OAuth tokens; {cloud_id} and {site_url} "
        "are filled in.",
    )
    oauth_scopes: str = Field(
        default="read:jira-work read:jira-user write:jira-work offline_access",
        description="Space-separated OAuth scopes asked for (offline_access: refresh tokens).",
    )
    public_url: str | None = Field(
        default=None,
        description="The gateway's public base URL (OAuth callback: <public_url>/auth/oauth/"
        "callback); default http://<host>:<port>.",
    )

    # --- limits per GraphQL operation (issue 5 item 7; gateway.validation) ---
    max_query_depth: int = Field(default=10, ge=1, description="Deepest selection nesting.")
    max_query_aliases: int = Field(default=15, ge=0, description="Aliases per operation.")
    max_root_fields: int = Field(default=10, ge=1, description="Root fields per operation.")
    max_query_tokens: int = Field(default=1000, ge=10, description="Tokens per document.")
    max_key_repeats: int = Field(
        default=3, ge=1, description="Repeats of one response key in a selection set."
    )
    max_validation_errors: int = Field(
        default=3, ge=1, description="Validation errors returned per operation."
    )
    operation_deadline_s: float = Field(
        default=10.0, gt=0, description="Seconds an operation may run before it is cut off."
    )

    @field_validator("sites", "cors_origins", "vault_keys", "site_allowlist", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: SecretStr) -> SecretStr:
        scheme = value.get_secret_value().split(":", 1)[0]
        if not scheme.startswith(("sqlite", "postgres")):
            raise ValueError(f"unsupported scheme {scheme!r}: use sqlite or postgresql")
        return value

    @model_validator(mode="after")
    def _prod_needs_secrets(self) -> Self:
        if self.profile is Profile.PROD:
            if self.jwt_secret is None:
                raise ValueError("JGW_JWT_SECRET is required in the prod profile")
            if not self.vault_keys:
                raise ValueError("JGW_VAULT_KEYS is required in the prod profile")
        return self

    @cached_property
    def mode(self) -> Mode:
        return Mode.SERVICES if self.redis_url is not None else Mode.EMBEDDED

    @property
    def site_urls(self) -> list[str]:
        """Configured site base URLs without a trailing slash."""
        return [str(url).rstrip("/") for url in self.sites]


class SettingsError(Exception):
    """Invalid configuration; the message is one line naming the environment variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ``SettingsError`` (one line) if invalid."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a whole-model rule; its message names the variables itself
            message = str(first["msg"]).removeprefix("Value error, ")
            raise SettingsError(f"invalid settings: {message}") from None
        name = "JGW_" + str(first["loc"][0]).upper()
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
