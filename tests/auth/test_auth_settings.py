"""AuthConfig refuses unsafe settings at startup, naming the variable and never the secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from gateway.auth.settings import AuthConfig, generate_jwt_secret
from gateway.auth.vault import generate_key


def build(**overrides: Any) -> AuthConfig:
    values: dict[str, Any] = {
        "jwt_secret": SecretStr(generate_jwt_secret()),
        "vault_keys": [SecretStr(generate_key())],
    }
    values.update(overrides)
    return AuthConfig(**values)


def test_auth_settings_defaults() -> None:
    config = build()
    assert config.access_ttl == timedelta(minutes=15)
    assert config.refresh_ttl == timedelta(days=30)
    assert config.allow_insecure_sites is False
    assert config.site_allowlist == ()
    assert len(generate_jwt_secret()) >= 43


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"jwt_secret": SecretStr("sekrit-zz" * 3)}, "JGW_JWT_SECRET"),
        ({"vault_keys": []}, "JGW_VAULT_KEYS"),
        ({"vault_keys": [SecretStr("not-a-key-sekrit-zz")]}, "JGW_VAULT_KEYS"),
        ({"access_ttl": timedelta(minutes=16)}, "JGW_ACCESS_TOKEN_TTL"),
        ({"access_ttl": timedelta(0)}, "JGW_ACCESS_TOKEN_TTL"),
        ({"refresh_ttl": timedelta(minutes=10)}, "JGW_REFRESH_TOKEN_TTL"),
        ({"jwt_audience": ""}, "JGW_JWT_AUDIENCE"),
    ],
)
def test_auth_settings_refused(overrides: dict[str, Any], variable: str) -> None:
    with pytest.raises(ValueError, match=variable) as caught:
        build(**overrides)
    assert "sekrit-zz" not in str(caught.value)


def test_auth_settings_are_frozen_and_normalized() -> None:
    keys = [SecretStr(generate_key())]
    allow = ["Jira.Corp.Example ", "", "10.0.0.0/8"]
    config = build(vault_keys=keys, site_allowlist=allow)
    keys.append(SecretStr("later"))
    assert len(config.vault_keys) == 1  # a caller's list cannot change the config later
    assert config.site_allowlist == ("jira.corp.example", "10.0.0.0/8")
    with pytest.raises(AttributeError):
        config.allow_insecure_sites = True  # type: ignore[misc]
