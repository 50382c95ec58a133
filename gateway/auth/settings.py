"""``AuthConfig``: the settings of the sign-in services, validated once at startup.

``gateway.config.Settings`` owns the environment variables; the composition root builds one
``AuthConfig`` from them. Every check here names the environment variable to fix, and no
message ever contains a secret.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import SecretStr

# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (32 bytes). PyJWT
# also warns (an error in our tests) below that length.
MIN_JWT_SECRET_BYTES = 32
MAX_ACCESS_TTL = timedelta(minutes=15)  # issue 4: access tokens live at most 15 minutes
DEFAULT_REFRESH_TTL = timedelta(days=30)
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")


def generate_jwt_secret() -> str:
    """A fresh random HS256 secret (43 url-safe characters, 256 bits) for ``JGW_JWT_SECRET``."""
    return secrets.token_urlsafe(32)


def is_fernet_key(value: str) -> bool:
    """True when ``value`` is a Fernet key: 32 bytes in url-safe base64 (44 characters)."""
    # Strict: the base64 decoder alone skips stray characters, so "x!" + key would pass.
    if not _FERNET_KEY.fullmatch(value):
        return False
    try:
        return len(base64.urlsafe_b64decode(value)) == 32
    except (binascii.Error, ValueError):
        return False


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Everything the auth services need; immutable and validated on construction.

    ``vault_keys``: the first key encrypts, all keys decrypt (rotation: prepend a new key,
    re-seal the rows with ``Vault.rotate``, then drop the old key). ``site_allowlist``: host
    names (``jira.corp.example``), ``*.suffix`` wildcards or CIDR networks (``10.20.0.0/16``)
    whose addresses may be private (an on-premises Server/DC); metadata addresses are refused
    regardless.
    """

    jwt_secret: SecretStr
    vault_keys: Sequence[SecretStr]
    jwt_issuer: str = "jira-gateway"
    jwt_audience: str = "jira-gateway"
    access_ttl: timedelta = MAX_ACCESS_TTL
    refresh_ttl: timedelta = DEFAULT_REFRESH_TTL
    allow_insecure_sites: bool = False
    site_allowlist: Sequence[str] = field(default_factory=tuple)
    login_failure_limit: int = 10
    login_failure_window: timedelta = timedelta(minutes=1)
    dns_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        # Freeze the sequences: a list handed in must not change the config behind our back.
        object.__setattr__(self, "vault_keys", tuple(self.vault_keys))
        object.__setattr__(
            self, "site_allowlist", tuple(h.strip().lower() for h in self.site_allowlist if h)
        )
        secret = self.jwt_secret.get_secret_value()
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                f"JGW_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long "
                "(generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if not self.vault_keys:
            raise ValueError("JGW_VAULT_KEYS must hold at least one Fernet key")
        for number, key in enumerate(self.vault_keys, start=1):
            if not is_fernet_key(key.get_secret_value()):
                raise ValueError(
                    f"JGW_VAULT_KEYS entry #{number} is not a Fernet key (32 url-safe "
                    "base64-encoded bytes); generate one with `python -c 'from "
                    "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                )
        if not self.jwt_issuer or not self.jwt_audience:
            raise ValueError("JGW_JWT_ISSUER and JGW_JWT_AUDIENCE must not be empty")
        if not timedelta(0) < self.access_ttl <= MAX_ACCESS_TTL:
            raise ValueError("JGW_ACCESS_TOKEN_TTL must be between 1 second and 15 minutes")
        if self.refresh_ttl <= self.access_ttl:
            raise ValueError("JGW_REFRESH_TOKEN_TTL must be longer than JGW_ACCESS_TOKEN_TTL")
        if self.login_failure_limit < 1 or self.login_failure_window <= timedelta(0):
            raise ValueError("the failed-login limit and window must be positive")
        if self.dns_timeout_s <= 0:
            raise ValueError("the DNS timeout must be positive")


__all__ = [
    "DEFAULT_REFRESH_TTL",
    "MAX_ACCESS_TTL",
    "MIN_JWT_SECRET_BYTES",
    "AuthConfig",
    "generate_jwt_secret",
    "is_fernet_key",
]
