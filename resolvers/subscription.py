"""The root ``Subscription``: one class per domain, merged. Root fields stay thin (STYLE rule 5)."""

from __future__ import annotations

from strawberry.tools import merge_types

from resolvers.events import EventSubscription
from resolvers.exports import ExportSubscription

Subscription = merge_types("Subscription", (EventSubscription, ExportSubscription))
Subscription.__strawberry_definition__.description = "Live updates over WebSocket."  # type: ignore[attr-defined]
