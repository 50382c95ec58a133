"""The root ``Query`` type. Root fields stay thin: arguments -> loaders/services -> types."""

from __future__ import annotations

from importlib.metadata import version

import strawberry
from strawberry.types import Info

from gateway.context import Context
from schema.meta import GatewayInfo, RunMode


@strawberry.type(description="Everything you can read through the gateway.")
class Query:
    @strawberry.field(description="The gateway's version and run mode.")
    def gateway(self, info: Info[Context, None]) -> GatewayInfo:
        mode = RunMode(info.context.state.settings.mode.value)
        return GatewayInfo(version=version("jira-gateway"), mode=mode)
