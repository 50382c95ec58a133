"""The ``viewer`` root field: the signed-in user, their sites, scopes and sessions."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.context import Context
from schema.permissions import IsSignedIn, signed_in
from schema.viewer import Viewer


@strawberry.type
class ViewerQuery:
    @strawberry.field(
        description=(
            "You: your user, the JIRA sites you connected, your token's scopes and sessions. "
            "Needs an access token (UNAUTHENTICATED otherwise)."
        ),
        permission_classes=[IsSignedIn],
    )
    def viewer(self, info: Info[Context, None]) -> Viewer:
        # Sites, sessions and the default site change through mutations the response cache
        # knows nothing about: an operation reading the viewer is never stored.
        info.context.response_cacheable = False
        return Viewer(claims=signed_in(info.context))
