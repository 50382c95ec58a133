"""Quoting a value for JQL: shared by the gateway's filter -> JQL builder and the sandbox's lexer.

JIRA's lexer accepts inside double quotes anything but `"`, `\\` and its control characters
(including CR/LF); those must be escaped. The sandbox's parser decodes exactly these escapes,
so `quote_value(s)` always parses back to `s`. Reserved words (`AND`, `ORDER`, `EMPTY`, ...)
and reserved characters lose their meaning inside quotes, so a quoted value is always a value.
"""

from __future__ import annotations

_NAMED = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_control(ch: str) -> bool:
    """Characters JIRA's lexer refuses raw in any string (its CONTROLCHARS plus newlines);
    they must be written as escapes. Lone surrogates are included so `quote_value` stays exact."""
    o = ord(ch)
    return (
        o <= 0x1F
        or 0x7F <= o <= 0x9F
        or 0xFDD0 <= o <= 0xFDEF
        or o in (0xFFFE, 0xFFFF)
        or 0xD800 <= o <= 0xDFFF
    )


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
