"""The root ``Query``: one class per domain, merged. Root fields stay thin (STYLE rule 5)."""

from __future__ import annotations

from strawberry.tools import merge_types

from resolvers.gateway_info import GatewayQuery

Query = merge_types("Query", (GatewayQuery,))
Query.__strawberry_definition__.description = "Everything you can read through the gateway."  # type: ignore[attr-defined]
