"""JIRA timestamps and dates -> timezone-aware ``datetime`` / ``date``.

JIRA writes ``2018-06-15T11:47:57.111-0700`` (offset without a colon) almost everywhere, but
agile sprint dates use ``Z`` or ``+07:00``, some payloads drop the milliseconds, webhook
``timestamp`` is epoch milliseconds, and ``duedate``/``releaseDate`` are plain dates.
Python 3.11's ``fromisoformat`` (C code, ~0.3 µs) reads every textual form; we only add the
epoch branch and the "naive means UTC" rule.

Never feed ``renderedFields`` dates here: they are localized text (``Вчера 17:44``,
``26/lip/10 1:29 PM``) and raise ``ValueError`` by design.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

# Epoch values below this are seconds, not milliseconds (1e11 ms is 1973; 1e11 s is year 5138).
_MS_THRESHOLD = 100_000_000_000


def parse_datetime(value: str | int | float) -> datetime:
    """Parse a JIRA timestamp (ISO 8601 text in any JIRA variant, or epoch ms), timezone-aware.

    Naive text (no offset) is taken as UTC. Raises ``ValueError`` for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _MS_THRESHOLD else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError) as exc:
            raise ValueError(f"epoch out of range: {value!r}") from exc
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    text = value.strip()
    if text.isdigit():
        return parse_datetime(int(text))
    # fromisoformat also accepts compact forms such as "20180615"; JIRA never sends those,
    # so require the extended date form to keep localized garbage out.
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(f"not an ISO timestamp: {value!r}")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_date(value: str) -> date:
    """Parse a plain JIRA date (``2010-07-05``); a full timestamp keeps its local calendar day."""
    if not isinstance(value, str) or len(value) < 10 or value[4] != "-" or value[7] != "-":
        raise ValueError(f"not an ISO date: {value!r}")
    if len(value) == 10:
        return date.fromisoformat(value)
    return parse_datetime(value).date()
