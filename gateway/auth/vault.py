"""The credential vault: JIRA credentials encrypted at rest with Fernet, bound to their row.

``Vault(keys)`` wraps ``cryptography.fernet.MultiFernet``: the first key encrypts, every key
decrypts, and :meth:`Vault.rotate` re-encrypts a ciphertext under the first key (rotation:
prepend a new key to ``JGW_VAULT_KEYS``, re-seal the rows, drop the old key).

Binding: the sealed plaintext is ``{"v": 1, "b": bound_to, "p": payload}``. Fernet
authenticates the whole plaintext, so the binding cannot be edited without the key, and
:meth:`Vault.open` refuses a ciphertext whose binding differs from the row it was read from: a
ciphertext copied from alice's row into mallory's row does not decrypt as mallory's credential.
Callers bind to the owning row's primary key (``site_account:<id>``).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from gateway.auth.errors import VaultError
from gateway.auth.settings import is_fernet_key

_FORMAT_VERSION = 1


def generate_key() -> str:
    """A new random Fernet key, as text for ``JGW_VAULT_KEYS``."""
    return Fernet.generate_key().decode("ascii")


class Vault:
    """Seal and open small JSON payloads (credentials) with key rotation and row binding."""

    __slots__ = ("_fernet", "_primary")

    def __init__(self, keys: Sequence[SecretStr]) -> None:
        if not keys:
            raise ValueError("the vault needs at least one key (JGW_VAULT_KEYS)")
        fernets: list[Fernet] = []
        for number, key in enumerate(keys, start=1):
            value = key.get_secret_value()
            if not is_fernet_key(value):
                # Never echo the key: it may be a real key with one character mistyped.
                raise ValueError(
                    f"vault key #{number} is not a Fernet key (32 url-safe base64-encoded "
                    "bytes, 44 characters); create one with gateway.auth.vault.generate_key()"
                )
            fernets.append(Fernet(value))
        self._primary = fernets[0]
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "Vault(<keys hidden>)"

    def seal(self, payload: dict[str, Any], *, bound_to: str) -> str:
        """Encrypt ``payload`` (JSON-serializable) bound to ``bound_to``; returns text."""
        if not bound_to:
            raise ValueError("bound_to must name the owning row")
        plaintext = orjson.dumps({"v": _FORMAT_VERSION, "b": bound_to, "p": payload})
        return self._fernet.encrypt(plaintext).decode("ascii")

    def open(self, ciphertext: str, *, bound_to: str) -> dict[str, Any]:
        """Decrypt a sealed payload, checking it was sealed for ``bound_to``.

        Raises ``VaultError`` when no key decrypts it (unknown key, tampered or truncated
        text) or when it belongs to another row.
        """
        envelope = self._decrypt(ciphertext)
        bound = envelope.get("b")
        if not isinstance(bound, str) or not hmac.compare_digest(bound.encode(), bound_to.encode()):
            raise VaultError("A stored credential belongs to another record and was refused.")
        payload = envelope.get("p")
        if not isinstance(payload, dict):
            raise VaultError("A stored credential has an unknown format.")
        return payload

    def rotate(self, ciphertext: str) -> str:
        """The same plaintext (and binding) re-encrypted under the primary key."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise VaultError(_UNREADABLE) from None

    def is_current(self, ciphertext: str) -> bool:
        """True when ``ciphertext`` is already encrypted under the primary key (no rotation)."""
        try:
            self._primary.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def _decrypt(self, ciphertext: str) -> dict[str, Any]:
        try:
            plaintext = self._fernet.decrypt(ciphertext.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise VaultError(_UNREADABLE) from None
        try:
            envelope = orjson.loads(plaintext)
        except orjson.JSONDecodeError:
            raise VaultError("A stored credential has an unknown format.") from None
        if not isinstance(envelope, dict) or envelope.get("v") != _FORMAT_VERSION:
            raise VaultError("A stored credential has an unknown format.")
        return envelope


_UNREADABLE = (
    "A stored credential cannot be decrypted (unknown key or damaged data); sign in again."
)

__all__ = ["Vault", "generate_key"]
