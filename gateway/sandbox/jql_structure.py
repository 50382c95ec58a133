"""`to_structure`: a parsed query as the `structure` of JIRA's `POST /rest/api/3/jql/parse`
(schemas JqlQuery, CompoundClause, FieldValueClause, FieldWasClause, FieldChangedClause)."""

from __future__ import annotations

from typing import Any

from gateway.sandbox.jql_ast import (
    AndNode,
    EmptyOperand,
    FieldRef,
    FunctionOperand,
    HistoryClause,
    ListOperand,
    Node,
    NotNode,
    Operand,
    OrNode,
    Query,
    TerminalClause,
)


def to_structure(q: Query) -> dict[str, Any]:
    """`{"where": clause, "orderBy": {"fields": [...]}}`, keys present only when used."""
    out: dict[str, Any] = {}
    if q.where is not None:
        out["where"] = _clause(q.where)
    if q.order_by:
        fields = []
        for term in q.order_by:
            element: dict[str, Any] = {"field": _field(term.field)}
            if term.direction is not None:
                element["direction"] = term.direction
            fields.append(element)
        out["orderBy"] = {"fields": fields}
    return out


def _field(field: FieldRef) -> dict[str, Any]:
    out: dict[str, Any] = {"name": field.name, "encodedName": field.encoded}
    if field.properties:
        out["property"] = [
            {"entity": p.entity, "key": p.key, "path": p.path} for p in field.properties
        ]
    return out


def _operand(operand: Operand) -> dict[str, Any]:
    if isinstance(operand, ListOperand):
        return {"values": [_operand(v) for v in operand.items], "encodedOperand": operand.encoded}
    if isinstance(operand, FunctionOperand):
        return {
            "function": operand.name,
            "arguments": list(operand.args),
            "encodedOperand": operand.encoded,
        }
    if isinstance(operand, EmptyOperand):
        return {"keyword": "empty"}
    return {"value": operand.value, "encodedValue": operand.encoded}


def _clause(node: Node) -> dict[str, Any]:
    if isinstance(node, AndNode | OrNode):
        op = "and" if isinstance(node, AndNode) else "or"
        return {"operator": op, "clauses": [_clause(c) for c in node.clauses]}
    if isinstance(node, NotNode):
        return {"operator": "not", "clauses": [_clause(node.clause)]}
    if isinstance(node, TerminalClause):
        return {
            "field": _field(node.field),
            "operator": node.operator,
            "operand": _operand(node.operand),
        }
    assert isinstance(node, HistoryClause)
    out: dict[str, Any] = {"field": _field(node.field), "operator": node.operator}
    if node.operand is not None:
        out["operand"] = _operand(node.operand)
    out["predicates"] = [
        {"operator": p.operator, "operand": _operand(p.operand)} for p in node.predicates
    ]
    return out
