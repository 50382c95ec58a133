"""The JQL syntax tree and the one exception of the JQL engine.

The tree mirrors the grammar of JIRA's own parser (and of Atlassian's `jql/parse` structure):
terminal clauses `field operator operand`, history clauses (`WAS`, `CHANGED`, kept so that the
parser accepts every valid JQL even though the sandbox cannot evaluate them), `AND` / `OR` / `NOT`
compounds and `ORDER BY` terms. Every node keeps its source text (`encoded`) so that
`to_structure` can return JIRA's `encodedValue` / `encodedOperand`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class JqlError(Exception):
    """Invalid JQL. `messages` use JIRA's own wording; the HTTP layer answers 400 with
    `{"errorMessages": messages, "errors": {}}`."""

    def __init__(self, messages: str | list[str]) -> None:
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))


@dataclass(frozen=True, slots=True)
class PropertyRef:
    """Entity property access such as `issue.property["key"].path` (parsed, never evaluated)."""

    entity: str
    key: str
    path: str


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field as written: `name` is decoded, `encoded` is the source text."""

    name: str
    encoded: str
    custom_id: str | None = None  # "10016" for cf[10016]
    properties: tuple[PropertyRef, ...] = ()
    bracketed: bool = False  # `development[commits]`-style names (no such fields in the sandbox)


@dataclass(frozen=True, slots=True)
class ValueOperand:
    value: str
    encoded: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class EmptyOperand:
    """`EMPTY` or `NULL`."""

    encoded: str


@dataclass(frozen=True, slots=True)
class FunctionOperand:
    name: str
    args: tuple[str, ...]
    encoded: str

    @property
    def display(self) -> str:
        """The function as JIRA names it in messages: `startOfDay(-1d)`."""
        return f"{self.name}({', '.join(self.args)})"


@dataclass(frozen=True, slots=True)
class ListOperand:
    items: tuple[Operand, ...]
    encoded: str


Operand = ValueOperand | EmptyOperand | FunctionOperand | ListOperand

Operator = Literal["=", "!=", "<", "<=", ">", ">=", "~", "!~", "in", "not in", "is", "is not"]
HistoryOperator = Literal["was", "was not", "was in", "was not in", "changed"]


@dataclass(frozen=True, slots=True)
class TerminalClause:
    field: FieldRef
    operator: Operator
    operand: Operand


@dataclass(frozen=True, slots=True)
class Predicate:
    """A history predicate: `AFTER x`, `BEFORE x`, `ON x`, `DURING (a, b)`, `BY x`, `FROM x`,
    `TO x`."""

    operator: str
    operand: Operand


@dataclass(frozen=True, slots=True)
class HistoryClause:
    field: FieldRef
    operator: HistoryOperator
    operand: Operand | None  # None for CHANGED
    predicates: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class AndNode:
    clauses: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class OrNode:
    clauses: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotNode:
    clause: Node


Node = TerminalClause | HistoryClause | AndNode | OrNode | NotNode


@dataclass(frozen=True, slots=True)
class OrderTerm:
    field: FieldRef
    direction: Literal["asc", "desc"] | None  # None: the field's default direction


@dataclass(frozen=True)
class Query:
    """A parsed query: `where` is None for an empty query (every issue)."""

    where: Node | None
    order_by: list[OrderTerm]
