"""The error policy of the GraphQL endpoint: typed codes for expected failures, masking for bugs.

Expected failures (``gateway.errors.expected_error``) keep a human sentence and get
``extensions.code``; anything else becomes "Internal server error" with the request id in
``extensions.requestId``, and the exception is logged with its traceback. Validation and syntax
errors (no original exception) pass through with the code ``GRAPHQL_VALIDATION_FAILED``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import expected_error
from gateway.logs import request_id_var

log = logging.getLogger("gateway.graphql")


def apply_error_policy(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None:
        extensions = {"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})}
        return _with(error, error.message, extensions)
    if isinstance(original, GraphQLError):  # raised by our own code with a code already set
        return original if original.extensions else _with(error, original.message, {})
    expected = expected_error(original)
    if expected is not None:
        code, message, extra = expected
        return _with(error, message, {"code": code, **extra})
    request_id = request_id_var.get()
    log.error("unexpected error in %s", ".".join(map(str, error.path or [])), exc_info=original)
    return _with(
        error,
        f"Internal server error (request id {request_id}).",
        {"code": "INTERNAL", "requestId": request_id},
    )


def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorPolicy(SchemaExtension):
    """Applies ``apply_error_policy`` to every error of every operation result."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [apply_error_policy(e) for e in errors]


class CacheStatusExtension(SchemaExtension):
    """Tells the client in ``extensions.cache`` when JIRA was down and cached data stood in."""

    def get_results(self) -> dict[str, Any]:
        outcome = getattr(self.execution_context.context, "cache_outcome", None)
        extensions = outcome.extensions() if outcome is not None else None
        return extensions or {}
