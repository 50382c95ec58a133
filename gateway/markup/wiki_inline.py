"""Inline JIRA wiki markup (one paragraph, cell or heading) -> HTML.

Phrase markers follow JIRA's renderer: ``*strong*`` opens only after a non-word character and
before a non-space one, closes before a non-word character, and stays on one line; ``{*}x{*}``
works inside words. Searches for closing tokens use precomputed, bisected position lists, so a
hostile line of 2 MB of unmatched ``*a *a`` or ``[[[`` stays linear-ish instead of quadratic.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections.abc import Callable

from gateway.markup.emoticons import EMOTICON_RE, EMOTICONS
from gateway.markup.sanitize import esc, safe_color, safe_url

Resolver = Callable[[str], str | None]

# Nested phrase markup beyond this renders literally: real text nests 2-3 levels.
MAX_INLINE_DEPTH = 30

_PHRASES = {"*": "strong", "_": "em", "-": "del", "+": "ins", "^": "sup", "~": "sub", "??": "cite"}
_SPECIAL = re.compile(r"[\\{\[!*_+^~?\-(:;&\n]|https?://|mailto:")
_BRACED = re.compile(r"\{(\*|_|-|\+|\^|~|\?\?)\}")
_COLOR_OPEN = re.compile(r"\{color:([^}\n]{1,40})\}")
_ANCHOR = re.compile(r"\{anchor:[^}\n]*\}")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_URL = re.compile(r"(?:https?://|mailto:)[^\s<>\[\]\"'|{}]+")
_IMAGE = re.compile(r"!([^\s!|][^!|\n]*?)(?:\|([^!\n]*))?!")
_FILE_NAME = re.compile(r".*\.[A-Za-z0-9]{1,6}|(?:https?://)\S+", re.DOTALL)


def _word(char: str) -> bool:
    return char.isalnum()


class InlineRenderer:
    """Renders inline markup of one text block; keeps token indexes of that text."""

    def __init__(self, text: str, attachment_url: Resolver | None, user_name: Resolver | None):
        self.text = text
        self.attachment_url = attachment_url
        self.user_name = user_name
        self._positions: dict[str, list[int]] = {}
        self.out: list[str] = []

    def render(self) -> str:
        self.parse(0, len(self.text), 0)
        return "".join(self.out)

    # -- token index ------------------------------------------------------------------------

    def _find(self, token: str, start: int, limit: int) -> int:
        """First occurrence of `token` at or after `start` and before `limit`, or -1."""
        positions = self._positions.get(token)
        if positions is None:
            positions = [m.start() for m in re.finditer(re.escape(token), self.text)]
            self._positions[token] = positions
        index = bisect_left(positions, start)
        if index < len(positions) and positions[index] < limit:
            return positions[index]
        return -1

    def _line_end(self, start: int, end: int) -> int:
        newline = self._find("\n", start, end)
        return end if newline < 0 else newline

    def _closer(self, marker: str, start: int, end: int) -> int:
        """Position of a valid closing `marker` on the current line, or -1."""
        limit = self._line_end(start, end)
        text = self.text
        while True:
            j = self._find(marker, start, limit)
            if j < 0:
                return -1
            after = j + len(marker)
            if not text[j - 1].isspace() and (after >= end or not _word(text[after])):
                return j
            start = j + 1

    # -- main loop --------------------------------------------------------------------------

    def parse(self, start: int, end: int, depth: int) -> None:
        text, pos = self.text, start
        while pos < end:
            match = _SPECIAL.search(text, pos, end)
            if match is None:
                self.out.append(esc(text[pos:end]))
                return
            if match.start() > pos:
                self.out.append(esc(text[pos : match.start()]))
            pos = match.start()
            consumed = self.token(pos, end, depth, start)
            if consumed:
                pos += consumed
            else:
                self.out.append(esc(text[pos]))
                pos += 1

    def token(self, i: int, end: int, depth: int, start: int) -> int:
        """Render the construct at `i`; return the characters consumed (0: a literal char)."""
        text = self.text
        char = text[i]
        nxt = text[i + 1] if i + 1 < end else ""
        if char == "\n":
            self.out.append("<br>\n")
            return 1
        if char == "\\":
            if nxt == "\\":
                self.out.append("<br>")
                return 2
            if nxt and not nxt.isalnum() and not nxt.isspace():
                self.out.append(esc(nxt))
                return 2
            return 0
        if char == "&":
            entity = _ENTITY.match(text, i, end)
            if entity and html.unescape(entity.group()) != entity.group():
                self.out.append(esc(html.unescape(entity.group())))
                return entity.end() - i
            return 0
        if char in "hm":  # _SPECIAL matches these letters only as "http(s)://" or "mailto:"
            return self.bare_url(i, end)
        if char in "(:;":
            return self.emoticon(i, end)
        if char == "[" and depth < MAX_INLINE_DEPTH:
            return self.link(i, end, depth)
        if char == "!":
            return self.image(i, end)
        if char == "{":
            return self.brace(i, end, depth)
        if char == "-" and nxt == "-":
            return self.dashes(i, end)
        if depth >= MAX_INLINE_DEPTH:
            return 0
        marker = "??" if text.startswith("??", i) else char
        if marker not in _PHRASES:
            return 0
        before = text[i - 1] if i > start else " "
        inner_start = i + len(marker)
        if _word(before) or inner_start >= end or text[inner_start].isspace():
            return 0
        if text.startswith(marker, inner_start):
            return 0
        close = self._closer(marker, inner_start + 1, end)
        if close < 0:
            return 0
        self.phrase(_PHRASES[marker], inner_start, close, depth)
        return close + len(marker) - i

    def phrase(self, tag: str, start: int, end: int, depth: int) -> None:
        self.out.append(f"<{tag}>")
        self.parse(start, end, depth + 1)
        self.out.append(f"</{tag}>")

    # -- constructs -------------------------------------------------------------------------

    def dashes(self, i: int, end: int) -> int:
        run = 1
        while i + run < end and self.text[i + run] == "-":
            run += 1
        if run in {2, 3} and (i == 0 or self.text[i - 1] != "-"):
            self.out.append("—" if run == 3 else "–")
        else:
            self.out.append(esc("-" * run))
        return run

    def emoticon(self, i: int, end: int) -> int:
        match = EMOTICON_RE.match(self.text, i, end)
        if match is None:
            return 0
        if match.group()[-1].isalpha() and i > 0 and _word(self.text[i - 1]):
            return 0
        self.out.append(f'<span class="jira-emoticon">{EMOTICONS[match.group()]}</span>')
        return match.end() - i

    def bare_url(self, i: int, end: int) -> int:
        if i > 0 and _word(self.text[i - 1]):
            return 0
        match = _URL.match(self.text, i, end)
        if match is None:
            return 0
        url = match.group().rstrip(".,;:!?)")
        href = safe_url(url)
        if href is None:
            return 0
        self.out.append(f'<a href="{esc(href)}">{esc(url)}</a>')
        return len(url)

    def brace(self, i: int, end: int, depth: int) -> int:
        text = self.text
        if text.startswith("{{", i):
            close = self._find("}}", i + 2, end)
            if close <= i + 2:
                return 0
            while text.startswith("}", close + 2) and close + 2 < end:
                close += 1  # "{{a}}}" closes at the last pair, like JIRA
            code = html.unescape(text[i + 2 : close])
            self.out.append(f"<code>{esc(code)}</code>")
            return close + 2 - i
        braced = _BRACED.match(text, i, end)
        if braced and depth < MAX_INLINE_DEPTH:
            token = braced.group()
            close = self._find(token, braced.end(), self._line_end(i, end))
            if close < 0:
                return 0
            self.phrase(_PHRASES[braced.group(1)], braced.end(), close, depth)
            return close + len(token) - i
        color = _COLOR_OPEN.match(text, i, end)
        if color and depth >= MAX_INLINE_DEPTH:
            return color.end() - i  # too deep: drop the markup, keep the text
        if color:
            close = self._find("{color}", color.end(), end)
            stop = end if close < 0 else close
            value = safe_color(color.group(1))
            self.out.append(f'<span style="color:{esc(value)}">' if value else "<span>")
            self.parse(color.end(), stop, depth + 1)
            self.out.append("</span>")
            return (stop if close < 0 else close + len("{color}")) - i
        if text.startswith("{color}", i):
            return len("{color}")  # a stray closer: markup only, no content
        anchor = _ANCHOR.match(text, i, end)
        return anchor.end() - i if anchor else 0

    def link(self, i: int, end: int, depth: int) -> int:
        """``[url]``, ``[text|url|tip]``, ``[~user]``, ``[~accountid:…]``, ``[^attachment]``."""
        text = self.text
        limit = self._line_end(i, end)
        close = self._find("]", i + 1, limit)
        while close > 0 and text[close - 1] == "\\":
            close = self._find("]", close + 1, limit)
        if close <= i + 1:
            return 0
        inner = text[i + 1 : close]
        alias, _, target = inner.rpartition("|") if "|" in inner else ("", "", inner)
        if "|" in alias and not target.strip().startswith(("http", "mailto", "/", "~", "^", "#")):
            # [alias|url|tooltip]: the tooltip is the last part; the url is the middle one.
            alias, _, target = alias.rpartition("|")
        target = target.strip()
        if target.startswith("~"):
            self.mention(target[1:], alias)
            return close + 1 - i
        if target.startswith("^"):
            name = target[1:]
            resolved = self.attachment_url(name) if self.attachment_url else None
            href = safe_url(resolved) if resolved else None
        else:
            href = safe_url(target)
        if href is None:
            if not alias:
                return 0  # "[not a link]" stays literal text
            self.parse(i + 1, i + 1 + len(alias), depth + 1)
            return close + 1 - i
        css = ' class="jira-attachment"' if target.startswith("^") else ""
        self.out.append(f'<a{css} href="{esc(href)}">')
        if alias:
            self.parse(i + 1, i + 1 + len(alias), depth + 1)
        else:
            self.out.append(esc(target.lstrip("^")))
        self.out.append("</a>")
        return close + 1 - i

    def mention(self, key: str, alias: str) -> None:
        """`key` is a username (Server) or ``accountid:…`` (Cloud); shown as ``@Name``."""
        account = key[len("accountid:") :] if key.lower().startswith("accountid:") else key
        name = self.user_name(account) if self.user_name and account else None
        shown = name or alias or account or "user"
        self.out.append(f'<span class="jira-mention" data-account-id="{esc(account)}">')
        self.out.append(esc(shown if shown.startswith("@") else f"@{shown}") + "</span>")

    def image(self, i: int, end: int) -> int:
        """``!file.png!``, ``!file.png|thumbnail!``, ``!https://host/x.png|alt=…!``."""
        match = _IMAGE.match(self.text, i, end)
        if match is None or not _FILE_NAME.fullmatch(match.group(1).strip()):
            return 0
        name = match.group(1).strip()
        options = match.group(2) or ""
        if name.startswith(("http://", "https://")):
            src = safe_url(name)
        else:
            resolved = self.attachment_url(name) if self.attachment_url else None
            src = safe_url(resolved) if resolved else None
        alt = name.rsplit("/", 1)[-1]
        alt_option = re.search(r"(?:^|,)\s*alt=([^,]*)", options)
        if alt_option:
            alt = alt_option.group(1).strip() or alt
        if src is None:
            self.out.append(f'<span class="jira-attachment">[{esc(alt)}]</span>')
        else:
            thumb = ' class="jira-thumbnail"' if "thumbnail" in options else ""
            self.out.append(f'<img{thumb} src="{esc(src)}" alt="{esc(alt)}">')
        return match.end() - i
