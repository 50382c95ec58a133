"""Authentication as JIRA does it.

Cloud: Basic `email:api-token` (`alice@example.com:alice-token`). Server/DC: Basic
`username:password` (the email is accepted as username too) and Bearer personal access tokens
(`alice-pat`). Deactivated users cannot log in. Every sandbox user follows the same pattern:
`<name>@example.com`, `<name>-token`, `<name>-pat`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING

from gateway.sandbox.oauth import bearer_user

if TYPE_CHECKING:
    from gateway.sandbox.model import SandboxUser
    from gateway.sandbox.store import Store

NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


def _secret_ok(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authenticate(store: Store, authorization: str | None) -> SandboxUser | None:
    """The user named by an `Authorization` header, or None (missing or wrong credentials)."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    scheme = scheme.lower()
    user: SandboxUser | None = None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        login, sep, secret = decoded.partition(":")
        if not sep:
            return None
        user = store.user_by_term(login)
        if user is None:
            return None
        by_email = login.lower() == user.email.lower()
        if store.flavor == "cloud" and not by_email:
            return None  # Cloud only knows email + API token
        if store.flavor == "server" and not by_email and login.lower() != user.name:
            return None
        if not _secret_ok(secret, f"{user.name}-token"):
            return None
    elif scheme == "bearer":
        token = value.strip()
        user = bearer_user(store, token)  # OAuth 2.0 (3LO) access tokens (sandbox.oauth)
        if user is None and store.flavor == "server":
            name = token.removesuffix("-pat")
            user = store.user_by_term(name) if token.endswith("-pat") else None
            if user is not None and user.name != name:
                return None
    if user is None or not user.active:
        return None
    return user
