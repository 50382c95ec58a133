"""Root fields about the gateway itself."""

from __future__ import annotations

from importlib.metadata import version

import strawberry
from strawberry.types import Info

from gateway.context import Context
from schema.meta import GatewayInfo, RunMode


@strawberry.type
class GatewayQuery:
    @strawberry.field(description="The gateway's version and run mode.")
    def gateway(self, info: Info[Context, None]) -> GatewayInfo:
        mode = RunMode(info.context.state.settings.mode.value)
        return GatewayInfo(version=version("jira-gateway"), mode=mode)
