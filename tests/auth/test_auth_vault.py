"""The credential vault: rotation, row binding, key validation, and credentials that never show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from gateway.auth.credentials import (
    ApiTokenCredential,
    BearerAuth,
    OAuthCredential,
    PasswordCredential,
    PatCredential,
    open_credential,
    seal_credential,
)
from gateway.auth.errors import VaultError
from gateway.auth.settings import AuthConfig, is_fernet_key
from gateway.auth.vault import Vault, generate_key

PAYLOAD = {"email": "alice@example.com", "token": "alice-token"}


def keys(*values: str) -> list[SecretStr]:
    return [SecretStr(v) for v in values]


def test_auth_vault_round_trip_and_ciphertext_hides_plaintext() -> None:
    vault = Vault(keys(generate_key()))
    sealed = vault.seal(PAYLOAD, bound_to="site_account:1")
    assert "alice" not in sealed
    assert vault.open(sealed, bound_to="site_account:1") == PAYLOAD


def test_auth_vault_swapped_ciphertext_fails() -> None:
    vault = Vault(keys(generate_key()))
    alice = vault.seal(PAYLOAD, bound_to="site_account:alice")
    with pytest.raises(VaultError, match="another record") as caught:
        vault.open(alice, bound_to="site_account:mallory")
    assert "alice" not in str(caught.value)


def test_auth_vault_tampered_or_foreign_ciphertext_fails() -> None:
    vault = Vault(keys(generate_key()))
    sealed = vault.seal(PAYLOAD, bound_to="x")
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    for bad in (flipped, "not a ciphertext", "", "é"):
        with pytest.raises(VaultError, match="cannot be decrypted"):
            vault.open(bad, bound_to="x")
    stranger = Vault(keys(generate_key())).seal(PAYLOAD, bound_to="x")
    with pytest.raises(VaultError):
        vault.open(stranger, bound_to="x")


def test_auth_vault_rotation() -> None:
    old_key, new_key = generate_key(), generate_key()
    old_vault = Vault(keys(old_key))
    sealed = old_vault.seal(PAYLOAD, bound_to="row-1")

    # Step 1: the new key goes first; old ciphertexts still open, are not current.
    both = Vault(keys(new_key, old_key))
    assert both.open(sealed, bound_to="row-1") == PAYLOAD
    assert not both.is_current(sealed)
    rotated = both.rotate(sealed)
    assert both.is_current(rotated)
    assert rotated != sealed

    # Step 2: the old key is dropped; only rotated rows survive, and keep their binding.
    new_only = Vault(keys(new_key))
    assert new_only.open(rotated, bound_to="row-1") == PAYLOAD
    with pytest.raises(VaultError):
        new_only.open(rotated, bound_to="row-2")
    with pytest.raises(VaultError):
        new_only.open(sealed, bound_to="row-1")
    with pytest.raises(VaultError):
        new_only.rotate(sealed)


@pytest.mark.parametrize(
    "bad",
    ["", "short", "x" * 44, Fernet.generate_key().decode()[:-1], "!" + generate_key()],
)
def test_auth_vault_refuses_bad_keys_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Fernet key") as caught:
        Vault(keys(generate_key(), bad))
    assert "#2" in str(caught.value)
    if bad:
        assert bad not in str(caught.value)
    assert not is_fernet_key(bad)
    with pytest.raises(ValueError, match="JGW_VAULT_KEYS entry #1"):
        AuthConfig(jwt_secret=SecretStr("k" * 32), vault_keys=keys(bad))


def test_auth_vault_needs_a_key_and_hides_keys() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        Vault([])
    key = generate_key()
    assert key not in repr(Vault(keys(key)))
    assert is_fernet_key(key)


CREDENTIALS = [
    ApiTokenCredential(email="alice@example.com", token="alice-token-SECRET"),
    PasswordCredential(username="bob", password="bob-password-SECRET"),
    PatCredential(token="pat-SECRET"),
    OAuthCredential(
        access_token="oauth-access-SECRET",
        refresh_token="oauth-refresh-SECRET",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        cloud_id="cloud-1",
        scopes=("read:jira-work", "offline_access"),
    ),
]


@pytest.mark.parametrize("credential", CREDENTIALS, ids=lambda c: c.kind)
def test_auth_credentials_seal_open_and_never_show(credential: object) -> None:
    vault = Vault(keys(generate_key()))
    assert isinstance(
        credential, ApiTokenCredential | PasswordCredential | PatCredential | OAuthCredential
    )
    for text in (repr(credential), str(credential), repr(credential.to_httpx_auth())):
        assert "SECRET" not in text
    sealed = seal_credential(vault, credential, bound_to="sa-1")
    assert "SECRET" not in sealed
    assert open_credential(vault, sealed, bound_to="sa-1") == credential
    with pytest.raises(VaultError):
        open_credential(vault, sealed, bound_to="sa-2")


def test_auth_credentials_httpx_auth_headers() -> None:
    def header(auth: httpx.Auth) -> str:
        request = httpx.Request("GET", "https://jira.example.com/rest/api/2/myself")
        return next(auth.sync_auth_flow(request)).headers["Authorization"]

    basic = header(ApiTokenCredential("alice@example.com", "tok").to_httpx_auth())
    assert basic == httpx.BasicAuth("alice@example.com", "tok")._auth_header
    assert header(PasswordCredential("bob", "pw").to_httpx_auth()).startswith("Basic ")
    assert header(PatCredential("pat-1").to_httpx_auth()) == "Bearer pat-1"
    oauth = OAuthCredential("acc", "ref", datetime.now(UTC), "c1")
    assert header(oauth.to_httpx_auth()) == "Bearer acc"
    assert isinstance(oauth.to_httpx_auth(), BearerAuth)


def test_auth_credentials_oauth_expiry_margin() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    credential = OAuthCredential("a", "r", now + timedelta(seconds=50), "c")
    assert credential.expires_within(timedelta(seconds=60), now=now)
    assert not credential.expires_within(timedelta(seconds=30), now=now)


def test_auth_credentials_unknown_kind_in_vault_fails() -> None:
    vault = Vault(keys(generate_key()))
    sealed = vault.seal({"kind": "kerberos", "ticket": "x"}, bound_to="sa")
    with pytest.raises(VaultError, match="unknown kind"):
        open_credential(vault, sealed, bound_to="sa")
    sealed = vault.seal({"kind": "pat"}, bound_to="sa")
    with pytest.raises(VaultError, match="unknown format"):
        open_credential(vault, sealed, bound_to="sa")
