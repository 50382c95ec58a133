"""Gateway configuration: one ``Settings`` object read from ``JGW_*`` environment variables.

Embedded vs services mode (DESIGN §2) is derived, not configured: with ``JGW_REDIS_URL`` unset the
gateway runs embedded (SQLite, in-process cache, pub/sub and jobs); with it set, services mode.
"""

from __future__ import annotations

import enum
from functools import cached_property
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator
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

    @field_validator("sites", "cors_origins", mode="before")
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
        name = "JGW_" + str(first["loc"][0]).upper() if first["loc"] else "JGW_*"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
