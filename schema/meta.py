"""Types describing the gateway itself."""

from __future__ import annotations

import enum

import strawberry


@strawberry.enum(description="How this gateway process stores its data and runs its jobs.")
class RunMode(enum.Enum):
    EMBEDDED = strawberry.enum_value(
        "embedded", description="SQLite, in-process cache, pub/sub and jobs (single process)."
    )
    SERVICES = strawberry.enum_value(
        "services", description="PostgreSQL, Redis and arq workers (scales out)."
    )


@strawberry.type(description="Facts about this gateway: its version and how it runs.")
class GatewayInfo:
    version: str = strawberry.field(description="The gateway's release version.")
    mode: RunMode = strawberry.field(description="Embedded or services mode.")
