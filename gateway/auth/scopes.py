"""Scopes of gateway tokens: ``read``, ``write``, ``export``, ``admin``.

Scopes are flat (no scope implies another): a token carries exactly the scopes it lists. A
user can mint a token with fewer scopes than their own (a read-only token for a dashboard) but
never more: :func:`narrow_scopes`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from gateway.auth.errors import InsufficientScope, ScopeError


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    EXPORT = "export"
    ADMIN = "admin"


ALL_SCOPES: frozenset[Scope] = frozenset(Scope)
# What a fresh login grants; ``admin`` is given out by an operator, never by signing in.
DEFAULT_SCOPES: frozenset[Scope] = frozenset({Scope.READ, Scope.WRITE, Scope.EXPORT})


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Scope names -> scopes; ``ScopeError`` naming the first unknown one."""
    scopes: set[Scope] = set()
    for value in values:
        try:
            scopes.add(Scope(value))
        except ValueError:
            raise ScopeError(
                f"Unknown scope '{value[:40]}'; use read, write, export or admin."
            ) from None
    return frozenset(scopes)


def narrow_scopes(granted: Iterable[Scope], requested: Iterable[str] | None) -> frozenset[Scope]:
    """The scopes of a new token minted from a token holding ``granted``.

    ``requested=None`` keeps every granted scope. Asking for a scope that was not granted, or
    for none at all, raises ``ScopeError``: a token can only ever be narrowed.
    """
    held = frozenset(granted)
    if requested is None:
        return held
    wanted = parse_scopes(requested)
    if not wanted:
        raise ScopeError("Ask for at least one scope.")
    extra = wanted - held
    if extra:
        names = ", ".join(sorted(extra))
        raise ScopeError(f"A token cannot gain scopes it was not given: {names}.")
    return wanted


def require_scope(held: Iterable[Scope], needed: Scope) -> None:
    """Raise ``InsufficientScope`` unless ``needed`` is among ``held``."""
    if needed not in frozenset(held):
        raise InsufficientScope(needed.value)


def format_scopes(scopes: Iterable[Scope]) -> str:
    """Space-separated, sorted (the stored and the OAuth wire form)."""
    return " ".join(sorted(scope.value for scope in scopes))


__all__ = [
    "ALL_SCOPES",
    "DEFAULT_SCOPES",
    "Scope",
    "format_scopes",
    "narrow_scopes",
    "parse_scopes",
    "require_scope",
]
