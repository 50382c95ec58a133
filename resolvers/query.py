"""The root ``Query``: one class per domain, merged. Root fields stay thin (STYLE rule 5)."""

from __future__ import annotations

from strawberry.tools import merge_types

from resolvers.exports import ExportQuery
from resolvers.gateway_info import GatewayQuery
from resolvers.issues import IssuesQuery
from resolvers.meta import MetaQuery
from resolvers.search import SearchQuery
from resolvers.selections import SelectionsQuery
from resolvers.stats import StatsQuery
from resolvers.viewer import ViewerQuery

Query = merge_types(
    "Query",
    (
        GatewayQuery,
        ViewerQuery,
        IssuesQuery,
        MetaQuery,
        ExportQuery,
        SelectionsQuery,
        SearchQuery,
        StatsQuery,
    ),
)
Query.__strawberry_definition__.description = "Everything you can read through the gateway."  # type: ignore[attr-defined]
