"""Quoting a value for JQL (shared with the gateway's filter -> JQL builder).

JIRA's lexer accepts inside double quotes anything but `"`, `\\` and its control characters
(including CR/LF); those must be escaped. `parse` decodes exactly these escapes, so
`quote_value(s)` always parses back to `s`.
"""

from __future__ import annotations

from gateway.sandbox.jql_lex import is_control

_NAMED = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote_value(value: str) -> str:
    """`value` as a double-quoted JQL string literal; parses back to exactly `value`."""
    out = ['"']
    for ch in value:
        named = _NAMED.get(ch)
        if named is not None:
            out.append(named)
        elif is_control(ch):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
