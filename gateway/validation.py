"""Limits on what one GraphQL operation may ask (issue 5 item 7), as validation rules/extensions.

Defaults (``Settings``): depth 10, aliases 15, root fields 10, tokens 1000, 3 repeats of one
response key in a selection set, 3 validation errors returned, a 10 s deadline per operation
(applied by the endpoint), field suggestions only in the dev profile, introspection off in prod.

Strawberry's ``QueryDepthLimiter`` ignores ``__``-prefixed fields (a deep introspection query
passes it), so the prod profile turns introspection off altogether; the token limit is applied by
the parser before any of this runs, so a huge document is refused without building its tree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationContext
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from gateway.config import Profile, Settings


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_root_fields: int = 10
    max_tokens: int = 1000
    max_key_repeats: int = 3
    max_validation_errors: int = 3
    deadline_s: float = 10.0
    suggestions: bool = True
    introspection: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_query_aliases,
            max_root_fields=settings.max_root_fields,
            max_tokens=settings.max_query_tokens,
            max_key_repeats=settings.max_key_repeats,
            max_validation_errors=settings.max_validation_errors,
            deadline_s=settings.operation_deadline_s,
            suggestions=settings.profile is Profile.DEV,
            introspection=settings.profile is not Profile.PROD,
        )


def max_root_fields_rule(limit: int) -> type[ASTValidationRule]:
    class MaxRootFields(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            count = _count_fields(self.context, node.selection_set, set())
            if count > limit:
                self.report_error(
                    GraphQLError(
                        f"An operation may select at most {limit} root fields ({count} given).",
                        node,
                    )
                )

    return MaxRootFields


def _count_fields(
    context: ASTValidationContext, selection_set: SelectionSetNode, seen: set[str]
) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif getattr(selection, "selection_set", None) is not None:  # inline fragment
            count += _count_fields(context, selection.selection_set, seen)  # type: ignore[attr-defined]
        else:  # fragment spread
            name = selection.name.value  # type: ignore[attr-defined]
            fragment = context.get_fragment(name)
            if fragment is not None and name not in seen:
                seen.add(name)
                count += _count_fields(context, fragment.selection_set, seen)
    return count


def max_key_repeats_rule(limit: int) -> type[ASTValidationRule]:
    class MaxKeyRepeats(ASTValidationRule):
        """One response key (alias or name) at most ``limit`` times in one selection set:
        repeating a field hundreds of times costs the server, not the client."""

        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
            keys = Counter(
                (s.alias or s.name).value for s in node.selections if isinstance(s, FieldNode)
            )
            for key, count in keys.items():
                if count > limit:
                    self.report_error(
                        GraphQLError(
                            f"'{key}' is selected {count} times here; at most {limit}.", node
                        )
                    )

    return MaxKeyRepeats


_SUGGESTION = re.compile(r"\s*Did you mean .*\?$")


class ValidationErrorPolicy(SchemaExtension):
    """Returns at most N validation errors, without "Did you mean" hints outside dev."""

    def __init__(self, *, max_errors: int, suggestions: bool) -> None:
        self.max_errors = max_errors
        self.suggestions = suggestions

    def on_validate(self) -> Iterator[None]:
        # Strawberry returns validation errors INSIDE the validation hooks, so the trimming
        # happens before the yield, after ValidationCache (earlier in the list) has validated.
        errors = self.execution_context.pre_execution_errors
        if errors:
            kept = list(errors)[: self.max_errors]
            if not self.suggestions:
                kept = [_without_suggestion(e) for e in kept]
            self.execution_context.pre_execution_errors = kept
        yield


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path)


class OperationLimits(SchemaExtension):
    """Adds the limit rules (built once per schema) and the parser's token limit."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...], max_tokens: int) -> None:
        self.rules = rules
        self.max_tokens = max_tokens

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield


def limit_extensions(limits: Limits) -> list[Callable[[], SchemaExtension]]:
    """Factories of the extensions enforcing ``limits`` (for the schema's extension list).

    The rule classes are built here, once: Strawberry's limiter extensions build new rule
    classes per instance, which would defeat ``ValidationCache`` (its key includes the rules).
    """
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        max_root_fields_rule(limits.max_root_fields),
        max_key_repeats_rule(limits.max_key_repeats),
    ]
    if not limits.introspection:
        rules.extend(DisableIntrospection().validation_rules)
    frozen = tuple(rules)
    return [
        lambda: OperationLimits(frozen, limits.max_tokens),
        lambda: ValidationErrorPolicy(
            max_errors=limits.max_validation_errors, suggestions=limits.suggestions
        ),
    ]
