"""The sandbox's JQL engine: public entry point (see SANDBOX.md).

    query = parse(text)                     # syntax; JqlError with JIRA's wording
    compiled = compile_query(query, ctx)    # validation against fields/users/projects, closures
    hits = compiled.sort([i for i in issues if compiled.matches(i)])

Modules: `jql_lex` (tokens), `jql_parse` (grammar), `jql_ast` (tree, JqlError), `jql_fields`
(fields, functions, reserved words), `jql_compile` / `jql_clauses` / `jql_custom` (evaluation),
`jql_values` (dates, `~`), `jql_sort` (ORDER BY), `jql_structure` (`jql/parse` shape),
`gateway.jql_quote` (quoting values, shared with the gateway).
"""

from __future__ import annotations

from gateway.jql_quote import quote_value
from gateway.sandbox.jql_ast import JqlError, Node, OrderTerm, Query
from gateway.sandbox.jql_compile import CompiledQuery, JqlContext, compile_query
from gateway.sandbox.jql_fields import FIELDS, FUNCTIONS, RESERVED_WORDS
from gateway.sandbox.jql_parse import parse
from gateway.sandbox.jql_structure import to_structure

__all__ = [
    "FIELDS",
    "FUNCTIONS",
    "RESERVED_WORDS",
    "CompiledQuery",
    "JqlContext",
    "JqlError",
    "Node",
    "OrderTerm",
    "Query",
    "compile_query",
    "parse",
    "quote_value",
    "to_structure",
]
