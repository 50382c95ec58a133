"""JQL tokenizer following JIRA's lexer: quoted and unquoted strings with backslash escapes,
operators, `&&`/`||`/`!` spellings, reserved characters, line/character positions."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.jql_quote import is_control as is_control
from gateway.sandbox.jql_ast import JqlError

PREFIX = "Error in the JQL Query: "

# Characters that end an unquoted string (JIRA's STRINGSTOP), besides whitespace.
_STOP = frozenset("()[],=!<>~\"'&|")
# JIRA refuses these outside quotes ("is a reserved JQL character").
RESERVED_CHARS = frozenset("{}*%+^$#@;?")
_WS = frozenset(" \t\n\r")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}


@dataclass(frozen=True, slots=True)
class Token:
    """kind: WORD (unquoted string), STRING (quoted), OP (operators incl. `&&`, `!`), `(`, `)`,
    `[`, `]`, `,` or EOF. `text` is the decoded value, `raw` the source slice."""

    kind: str
    text: str
    raw: str
    start: int
    end: int


def position(jql: str, offset: int) -> str:
    """JIRA's ` (line L, character C)` suffix, both 1-based."""
    line = jql.count("\n", 0, offset) + 1
    col = offset - (jql.rfind("\n", 0, offset) + 1) + 1
    return f" (line {line}, character {col})"


def _error(jql: str, offset: int, message: str) -> JqlError:
    return JqlError(PREFIX + message + position(jql, offset))


def _escape(jql: str, i: int) -> tuple[str, int]:
    """Decode the escape starting at the backslash `jql[i]`; returns (char, next index)."""
    nxt = jql[i + 1 : i + 2]
    if nxt in _ESCAPES and nxt:
        return _ESCAPES[nxt], i + 2
    if nxt == "u":
        digits = jql[i + 2 : i + 6]
        if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            return chr(int(digits, 16)), i + 6
        bad = jql[i : i + 6]
    else:
        bad = jql[i : i + 2]
    raise _error(jql, i, f"The escape sequence '{bad}' is invalid.")


def _quoted(jql: str, start: int) -> Token:
    quote = jql[start]
    out: list[str] = []
    i = start + 1
    n = len(jql)
    while i < n:
        ch = jql[i]
        if ch == quote:
            return Token("STRING", "".join(out), jql[start : i + 1], start, i + 1)
        if ch == "\\":
            decoded, i = _escape(jql, i)
            out.append(decoded)
            continue
        if is_control(ch):
            break
        out.append(ch)
        i += 1
    raise _error(jql, start, f"The quoted string '{''.join(out)}' has not been completed.")


def _word(jql: str, start: int) -> Token:
    out: list[str] = []
    i = start
    n = len(jql)
    while i < n:
        ch = jql[i]
        if ch in _WS or ch in _STOP:
            break
        if ch == "\\":
            decoded, i = _escape(jql, i)
            out.append(decoded)
            continue
        if ch in RESERVED_CHARS:
            raise _error(
                jql,
                i,
                f"The character '{ch}' is a reserved JQL character. You must enclose it in a "
                f"string or use the escape '\\u{ord(ch):04x}' instead.",
            )
        if is_control(ch):
            raise _error(jql, i, f"The character '\\u{ord(ch):04x}' is not allowed here.")
        out.append(ch)
        i += 1
    return Token("WORD", "".join(out), jql[start:i], start, i)


def tokenize(jql: str) -> list[Token]:
    """Split `jql` into tokens, ending with an EOF token."""
    tokens: list[Token] = []
    i = 0
    n = len(jql)
    while i < n:
        ch = jql[i]
        if ch in _WS:
            i += 1
            continue
        two = jql[i : i + 2]
        if two in ("!=", "<=", ">=", "!~", "&&", "||"):
            tokens.append(Token("OP", two, two, i, i + 2))
            i += 2
        elif ch in "=<>~!&|":
            tokens.append(Token("OP", ch, ch, i, i + 1))
            i += 1
        elif ch in "()[],":
            tokens.append(Token(ch, ch, ch, i, i + 1))
            i += 1
        elif ch in "\"'":
            tok = _quoted(jql, i)
            tokens.append(tok)
            i = tok.end
        else:
            tok = _word(jql, i)
            tokens.append(tok)
            i = tok.end
    tokens.append(Token("EOF", "", "", n, n))
    return tokens
