"""JIRA wiki emoticons -> Unicode characters.

JIRA renders these as small images; Unicode keeps the meaning in HTML and in plain text without
serving images. The list is JIRA's own (Server and Cloud wiki renderer help page).
"""

from __future__ import annotations

import re

EMOTICONS: dict[str, str] = {
    ":)": "🙂",
    ":(": "🙁",
    ":P": "😛",
    ":p": "😛",
    ":D": "😃",
    ";)": "😉",
    "(y)": "👍",
    "(n)": "👎",
    "(i)": "ℹ️",
    "(/)": "✔",
    "(x)": "❌",
    "(!)": "⚠️",
    "(+)": "➕",
    "(-)": "➖",
    "(?)": "❓",
    "(on)": "💡",
    "(off)": "💡",
    "(*)": "⭐",
    "(*r)": "⭐",
    "(*g)": "⭐",
    "(*b)": "⭐",
    "(*y)": "⭐",
    "(flag)": "🚩",
    "(flagoff)": "🏳️",
}

# Longest first so "(flagoff)" wins over "(flag)"; the letter emoticons (":D", ":P") must not be
# followed by a letter or digit, otherwise "Note:Do" would turn into "Note😀o".
EMOTICON_RE = re.compile(
    "|".join(
        re.escape(key) + (r"(?![A-Za-z0-9])" if key[-1].isalnum() else "")
        for key in sorted(EMOTICONS, key=len, reverse=True)
    )
)
