"""The root ``Mutation``: one class per domain, merged. Root fields stay thin (STYLE rule 5)."""

from __future__ import annotations

from strawberry.tools import merge_types

from resolvers.admin import AdminMutation
from resolvers.auth import AuthMutation
from resolvers.exports import ExportMutation
from resolvers.selections import SelectionsMutation

Mutation = merge_types(
    "Mutation", (AuthMutation, AdminMutation, ExportMutation, SelectionsMutation)
)
Mutation.__strawberry_definition__.description = "Everything you can change through the gateway."  # type: ignore[attr-defined]
