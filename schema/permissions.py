"""Scopes in the schema: the ``Scope`` enum and permission classes for fields and mutations.

Use either the context (``info.context.require(Scope.READ)`` in a resolver) or a permission
class on the field::

    @strawberry.field(permission_classes=[CanRead])
    async def issues(...): ...

Both raise the same typed errors: ``UNAUTHENTICATED`` without an access token, ``FORBIDDEN``
(naming the scope) when the token lacks it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import strawberry
from strawberry.permission import BasePermission
from strawberry.types import Info

from gateway.auth.scopes import Scope as AuthScope
from gateway.auth.tokens import AccessClaims
from gateway.context import Context
from gateway.errors import Unauthenticated

# Registers the enum class itself with Strawberry, so the one Python type serves both.
strawberry.enum(
    AuthScope,
    name="Scope",
    description=(
        "What a gateway token may do: READ (queries), WRITE (changes in JIRA), EXPORT (PDF "
        "exports), ADMIN (gateway administration). A token holds only the scopes it lists."
    ),
)
Scope = AuthScope


class HasScope(BasePermission):
    """Allows the field when the request's access token carries ``scope``."""

    scope: ClassVar[AuthScope] = AuthScope.READ
    message = "This needs a scope your token lacks."

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        # Raises Unauthenticated / Forbidden with a precise sentence (mapped to codes).
        info.context.require(self.scope)
        return True


class CanRead(HasScope):
    scope = AuthScope.READ


class CanWrite(HasScope):
    scope = AuthScope.WRITE


class CanExport(HasScope):
    scope = AuthScope.EXPORT


class IsAdmin(HasScope):
    scope = AuthScope.ADMIN


class IsSignedIn(BasePermission):
    """Any valid access token, whatever its scopes (``viewer``, ``logout``, ``sessions``)."""

    message = "Sign in first."

    def has_permission(self, source: Any, info: Info[Context, None], **kwargs: Any) -> bool:
        signed_in(info.context)
        return True


def signed_in(context: Context) -> AccessClaims:
    """The caller's verified claims, whatever their scopes; ``UNAUTHENTICATED`` without."""
    if context.principal is None:
        raise Unauthenticated(
            "Sign in first: send 'Authorization: Bearer <accessToken>' (see the login mutation)."
        )
    return context.principal


__all__ = [
    "CanExport",
    "CanRead",
    "CanWrite",
    "HasScope",
    "IsAdmin",
    "IsSignedIn",
    "Scope",
    "signed_in",
]
