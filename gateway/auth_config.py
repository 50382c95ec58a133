"""Builds the ``AuthConfig`` from ``Settings``, with development secrets kept on disk.

In the prod profile ``JGW_JWT_SECRET`` and ``JGW_VAULT_KEYS`` are required (``Settings`` refuses
to load without them). In the dev profile, missing ones are generated once and kept in
``<var_dir>/dev-secrets.json`` (mode 0600), so tokens and stored JIRA credentials survive a restart
of ``make run`` without anyone configuring anything.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.auth.guards import SiteGuard
from gateway.auth.ratelimit import FailedLoginLimiter, MemoryLoginLimiter, RedisLoginLimiter
from gateway.auth.sessions import SessionService
from gateway.auth.settings import AuthConfig, generate_jwt_secret
from gateway.auth.tokens import TokenService
from gateway.auth.vault import Vault, generate_key
from gateway.config import Settings

log = logging.getLogger("gateway.auth")

DEV_SECRETS_FILE = "dev-secrets.json"


def _dev_secrets(var_dir: Path) -> dict[str, str]:
    path = var_dir / DEV_SECRETS_FILE
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and {"jwt_secret", "vault_key"} <= data.keys():
            return {str(k): str(v) for k, v in data.items()}
    var_dir.mkdir(parents=True, exist_ok=True)
    data = {"jwt_secret": generate_jwt_secret(), "vault_key": generate_key()}
    # Create with 0600 from the start: the file holds secrets.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    log.warning("generated development secrets in %s (set JGW_JWT_SECRET, JGW_VAULT_KEYS)", path)
    return data


def build_auth_config(settings: Settings) -> AuthConfig:
    """The auth services' configuration; raises ``ValueError`` naming the bad variable."""
    jwt_secret = settings.jwt_secret
    vault_keys = list(settings.vault_keys)
    if jwt_secret is None or not vault_keys:
        dev = _dev_secrets(settings.var_dir)
        jwt_secret = jwt_secret or SecretStr(dev["jwt_secret"])
        vault_keys = vault_keys or [SecretStr(dev["vault_key"])]
    return AuthConfig(
        jwt_secret=jwt_secret,
        vault_keys=vault_keys,
        access_ttl=timedelta(seconds=settings.access_token_ttl_s),
        refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
        allow_insecure_sites=settings.allow_insecure_sites,
        site_allowlist=settings.site_allowlist,
    )


@dataclass(frozen=True, slots=True)
class AuthServices:
    """The sign-in services of one process, built by the app lifespan."""

    config: AuthConfig
    tokens: TokenService
    sessions: SessionService
    vault: Vault
    guard: SiteGuard
    login_limiter: FailedLoginLimiter


def build_auth_services(
    config: AuthConfig,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis | None,
) -> AuthServices:
    tokens = TokenService(config)
    limiter: FailedLoginLimiter = (
        RedisLoginLimiter(
            redis,
            limit=config.login_failure_limit,
            window_s=config.login_failure_window.total_seconds(),
        )
        if redis is not None
        else MemoryLoginLimiter(
            limit=config.login_failure_limit,
            window_s=config.login_failure_window.total_seconds(),
        )
    )
    return AuthServices(
        config=config,
        tokens=tokens,
        sessions=SessionService(sessionmaker, tokens, config),
        vault=Vault(config.vault_keys),
        guard=SiteGuard(config),
        login_limiter=limiter,
    )
