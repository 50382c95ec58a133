"""Recursive-descent JQL parser with JIRA's error wordings.

Precedence as in JIRA: NOT binds tightest, then AND, then OR; chains of one operator are
flattened into one compound node (as JIRA's `jql/parse` structure shows). The grammar is the full
JQL grammar (history clauses, property access, any function name): semantic support is decided
later by `compile_query`, so `parse` accepts every query JIRA's parser accepts.
"""

from __future__ import annotations

from typing import Literal, cast

from gateway.jql_quote import quote_value
from gateway.sandbox.jql_ast import (
    AndNode,
    EmptyOperand,
    FieldRef,
    FunctionOperand,
    HistoryClause,
    HistoryOperator,
    JqlError,
    ListOperand,
    Node,
    NotNode,
    Operand,
    Operator,
    OrderTerm,
    OrNode,
    Predicate,
    PropertyRef,
    Query,
    TerminalClause,
    ValueOperand,
)
from gateway.sandbox.jql_fields import RESERVED_SET
from gateway.sandbox.jql_lex import PREFIX, Token, position, tokenize

VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', "
    "'IS' and 'IS NOT'."
)
_SIMPLE_OPS = frozenset(("=", "!=", "<", "<=", ">", ">=", "~", "!~"))
_AND = frozenset(("&", "&&"))
_OR = frozenset(("|", "||"))
_WAS_PREDICATES = frozenset(("after", "before", "on", "during", "by"))
_CHANGED_PREDICATES = _WAS_PREDICATES | {"from", "to"}


def parse(jql: str) -> Query:
    """Parse `jql` (syntax only). Raises JqlError with JIRA's message on invalid syntax."""
    return _Parser(jql).query()


def _word(tok: Token, *words: str) -> bool:
    return tok.kind == "WORD" and tok.text.lower() in words


class _Parser:
    def __init__(self, jql: str) -> None:
        self.jql = jql
        self.tokens = tokenize(jql)
        self.i = 0

    # -- helpers ---------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> JqlError:
        tok = tok or self.tok
        if tok.kind == "EOF":
            return JqlError(PREFIX + message)
        return JqlError(PREFIX + message + position(self.jql, tok.start))

    def expecting(self, what: str, hint: str = "", eof_hint: str = "") -> JqlError:
        if self.tok.kind == "EOF":
            return self.error(f"Expecting {what} before the end of the query.{eof_hint}")
        return self.error(f"Expecting {what} but got '{self.tok.raw}'.{hint}")

    def check_reserved(self, tok: Token) -> None:
        if tok.kind == "WORD" and tok.text.lower() in RESERVED_SET:
            raise self.error(
                f"'{tok.text}' is a reserved JQL word. You must surround it in quotation marks "
                "to use it in a query.",
                tok,
            )

    # -- query -----------------------------------------------------------------------------
    def query(self) -> Query:
        where: Node | None = None
        if self.tok.kind != "EOF" and not self.at_order_by():
            where = self.or_clause()
        order: list[OrderTerm] = []
        if self.at_order_by():
            order = self.order_by()
        if self.tok.kind != "EOF":
            raise self.expecting("either 'OR' or 'AND'")
        return Query(where, order)

    def at_order_by(self) -> bool:
        # "order" is reserved: unquoted, it can only start ORDER BY.
        return _word(self.tok, "order")

    def order_by(self) -> list[OrderTerm]:
        self.take()
        if not _word(self.tok, "by"):
            raise self.expecting("'by'")
        self.take()
        terms: list[OrderTerm] = []
        while True:
            field = self.field()
            direction: Literal["asc", "desc"] | None = None
            if _word(self.tok, "asc", "desc"):
                direction = "asc" if self.take().text.lower() == "asc" else "desc"
            terms.append(OrderTerm(field, direction))
            if self.tok.kind != ",":
                break
            self.take()
        if self.tok.kind != "EOF":
            raise self.expecting("either ',' or the end of the query")
        return terms

    # -- clauses ---------------------------------------------------------------------------
    def or_clause(self) -> Node:
        clauses = [self.and_clause()]
        while _word(self.tok, "or") or (self.tok.kind == "OP" and self.tok.text in _OR):
            self.take()
            clauses.append(self.and_clause())
        return clauses[0] if len(clauses) == 1 else OrNode(tuple(clauses))

    def and_clause(self) -> Node:
        clauses = [self.not_clause()]
        while _word(self.tok, "and") or (self.tok.kind == "OP" and self.tok.text in _AND):
            self.take()
            clauses.append(self.not_clause())
        return clauses[0] if len(clauses) == 1 else AndNode(tuple(clauses))

    def not_clause(self) -> Node:
        if _word(self.tok, "not") or (self.tok.kind == "OP" and self.tok.text == "!"):
            self.take()
            return NotNode(self.not_clause())
        if self.tok.kind == "(":
            self.take()
            inner = self.or_clause()
            if self.tok.kind != ")":
                if self.tok.kind == "EOF":
                    raise self.error("Expecting ')' before the end of the query.")
                raise self.expecting("either 'OR' or 'AND'")
            self.take()
            return inner
        return self.terminal()

    def terminal(self) -> Node:
        field = self.field()
        op = self.operator()
        if op == "changed":
            return HistoryClause(field, "changed", None, self.predicates(_CHANGED_PREDICATES))
        operand = self.operand()
        if op.startswith("was"):
            self.check_operand(field, op, operand)
            preds = self.predicates(_WAS_PREDICATES)
            return HistoryClause(field, cast(HistoryOperator, op), operand, preds)
        self.check_operand(field, op, operand)
        return TerminalClause(field, cast(Operator, op), operand)

    def field(self) -> FieldRef:
        tok = self.tok
        if tok.kind not in ("WORD", "STRING"):
            if tok.kind == "EOF":
                raise self.error("Expecting a field name before the end of the query.")
            raise self.error(
                f"Expecting a field name but got '{tok.raw}'. You must surround '{tok.raw}' in "
                "quotation marks to use it as a field name."
            )
        if tok.kind == "WORD" and tok.text.lower() == "cf" and self.peek().kind == "[":
            self.take()
            self.take()
            num = self.take()
            if num.kind != "WORD" or not num.text.isdigit():
                raise self.error(f"Expecting a custom field id but got '{num.raw}'.", num)
            if self.tok.kind != "]":
                raise self.expecting("']'")
            end = self.take().end
            return FieldRef(f"cf[{num.text}]", self.jql[tok.start : end], custom_id=num.text)
        self.check_reserved(tok)
        self.take()
        if self.tok.kind != "[":
            return FieldRef(tok.text, tok.raw)
        return self.bracketed_field(tok)

    def bracketed_field(self, base: Token) -> FieldRef:
        """`development[commits].all` or `issue.property["key"].path`: parsed, never evaluated."""
        self.take()
        key = self.take()
        if key.kind not in ("WORD", "STRING") or self.tok.kind != "]":
            raise self.error(f"Expecting ']' but got '{self.tok.raw}'.")
        end = self.take().end
        path = ""
        if self.tok.kind == "WORD" and self.tok.text.startswith("."):
            dot = self.take()
            path, end = dot.text[1:], dot.end
            if not path and self.tok.kind == "WORD":
                nxt = self.take()
                path, end = nxt.text, nxt.end
        name = f"{base.text}[{key.text}]" + (f".{path}" if path else "")
        props: tuple[PropertyRef, ...] = ()
        if base.text.lower().endswith(".property"):
            props = (PropertyRef(base.text[: -len(".property")], key.text, path),)
        return FieldRef(name, self.jql[base.start : end], properties=props, bracketed=True)

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "OP" and tok.text in _SIMPLE_OPS:
            self.take()
            return tok.text
        if tok.kind == "WORD":
            low = tok.text.lower()
            if low == "in" or low == "changed":
                self.take()
                return low
            if low in ("not", "is", "was"):
                self.take()
                parts = [low]
                if low != "not" and _word(self.tok, "not"):
                    parts.append(self.take().text.lower())
                if low != "is" and _word(self.tok, "in"):
                    parts.append(self.take().text.lower())
                op = " ".join(parts)
                if op != "not":
                    return op
                raise self.expecting("'IN'")
        raise self.expecting("operator", f" {VALID_OPERATORS}", f" {VALID_OPERATORS}")

    def predicates(self, allowed: frozenset[str]) -> tuple[Predicate, ...]:
        preds: list[Predicate] = []
        while self.tok.kind == "WORD" and self.tok.text.lower() in allowed:
            name = self.take().text.lower()
            operand = self.operand()
            if name == "during" and (
                not isinstance(operand, ListOperand) or len(operand.items) != 2
            ):
                raise self.error("Expecting a list of two dates after 'DURING'.")
            if isinstance(operand, EmptyOperand) and name not in ("from", "to"):
                raise self.error(f"The 'EMPTY' value is not supported after '{name.upper()}'.")
            preds.append(Predicate(name, operand))
        return tuple(preds)

    # -- operands --------------------------------------------------------------------------
    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind == "(":
            return self.list_operand()
        if tok.kind in ("WORD", "STRING"):
            if self.peek().kind == "(":
                return self.function()
            if tok.kind == "WORD" and tok.text.lower() in ("empty", "null"):
                self.take()
                return EmptyOperand(tok.raw)
            self.check_reserved(tok)
            self.take()
            return ValueOperand(tok.text, tok.raw, tok.kind == "STRING")
        raise self.expecting(
            "either a value, list or function",
            f" You must surround '{tok.raw}' in quotation marks to use it as a value.",
        )

    def function(self) -> FunctionOperand:
        name = self.take()
        self.check_reserved(name)
        self.take()
        args: list[str] = []
        while self.tok.kind != ")":
            if self.tok.kind not in ("WORD", "STRING"):
                if self.tok.kind == "EOF":
                    raise self.error("Expecting ')' before the end of the query.")
                raise self.expecting("either a value or ')'")
            args.append(self.take().text)
            if self.tok.kind == ",":
                self.take()
            elif self.tok.kind != ")":
                raise self.expecting("either ',' or ')'")
        end = self.take().end
        return FunctionOperand(name.text, tuple(args), self.jql[name.start : end])

    def list_operand(self) -> ListOperand:
        start = self.take().start
        items = [self.operand()]
        while self.tok.kind == ",":
            self.take()
            items.append(self.operand())
        if self.tok.kind != ")":
            if self.tok.kind == "EOF":
                raise self.error("Expecting ')' before the end of the query.")
            raise self.expecting("either ',' or ')'")
        end = self.take().end
        return ListOperand(tuple(items), self.jql[start:end])

    def check_operand(self, field: FieldRef, op: str, operand: Operand) -> None:
        """Operator/operand combinations JIRA rejects (messages as in `jql/parse`)."""
        is_list = isinstance(operand, ListOperand)
        if op in ("in", "not in", "was in", "was not in"):
            if not is_list and not isinstance(operand, FunctionOperand):
                raise JqlError(
                    f"Operator '{op}' does not support the non-list value "
                    f"'{_shown(operand)}' for field '{field.name}'."
                )
            return
        if is_list:
            raise JqlError(
                f"Operator '{op}' does not support the list value '{operand.encoded}' "
                f"for field '{field.name}'."
            )
        if op in ("is", "is not") and not isinstance(operand, EmptyOperand):
            raise JqlError(f"The operator '{op}' only supports searching for EMPTY values.")
        if op in ("<", "<=", ">", ">=") and isinstance(operand, EmptyOperand):
            raise JqlError(f"The operator '{op}' does not support searching for EMPTY values.")


def _shown(operand: Operand) -> str:
    if isinstance(operand, ValueOperand):
        value = operand.value
        return value if value.lstrip("-").isdigit() else quote_value(value)
    return "EMPTY" if isinstance(operand, EmptyOperand) else operand.encoded
