"""JQL value semantics: date literals, relative periods, date functions and `~` text matching.

Dates are turned into half-open UTC ranges `[lo, hi)` with JIRA's implied precision: a date-only
value covers its whole day, `yyyy-MM-dd HH:mm` its minute, relative periods and functions are
instants (`hi` one microsecond after `lo`). Operators then compare at the range boundaries as JIRA
does: `created > 2024-01-31` starts on February 1st, `created <= 2024-01-31` ends with January 31st.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

DateRange = tuple[datetime, datetime]

_TICK = timedelta(microseconds=1)
_MS = timedelta(milliseconds=1)
_ABSOLUTE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_PERIOD = re.compile(r"([-+]?)((?:\d+[yMwdhm]\s*)+)")
_PART = re.compile(r"(\d+)([yMwdhm])")
WEEK_START = 6  # Sunday (JIRA's default en_US locale); Monday would be 0


def date_error(value: str, field: str) -> str:
    return (
        f"Date value '{value}' for field '{field}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
        "e.g. '-5d', '4w 2d'."
    )


def add_months(dt: datetime, months: int) -> datetime:
    """Calendar month arithmetic, clamping the day (Jan 31 + 1 month = Feb 28/29)."""
    total = dt.month - 1 + months
    year, month = dt.year + total // 12, total % 12 + 1
    days = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    return dt.replace(year=year, month=month, day=min(dt.day, days))


def apply_period(base: datetime, text: str) -> datetime | None:
    """`base` moved by a JIRA period such as `-1w2d`, `4w 2d`, `+3h`; None if not a period."""
    m = _PERIOD.fullmatch(text.strip())
    if not m:
        return None
    sign = -1 if m.group(1) == "-" else 1
    out = base
    for amount, unit in _PART.findall(m.group(2)):
        n = sign * int(amount)
        if unit == "y":
            out = add_months(out, 12 * n)
        elif unit == "M":
            out = add_months(out, n)
        else:
            out += timedelta(**{{"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[unit]: n})
    return out


def parse_date_value(value: str, now: datetime) -> DateRange | None:
    """A date operand as a range, None when invalid. Bare numbers are epoch milliseconds."""
    text = value.strip()
    m = _ABSOLUTE.fullmatch(text)
    if m:
        y, mo, d, hh, mm = m.groups()
        try:
            if hh is None:
                lo = datetime(int(y), int(mo), int(d), tzinfo=UTC)
                return lo, lo + timedelta(days=1)
            lo = datetime(int(y), int(mo), int(d), int(hh), int(mm), tzinfo=UTC)
        except ValueError:
            return None
        return lo, lo + timedelta(minutes=1)
    if text.lstrip("-").isdigit() and len(text) > 4:
        point = datetime.fromtimestamp(int(text) / 1000, UTC)
        return point, point + _TICK
    moved = apply_period(now, text)
    return None if moved is None else (moved, moved + _TICK)


_PERIOD_UNIT = {"day": "d", "week": "w", "month": "M", "year": "y"}


def _start_of(period: str, now: datetime) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=(day.weekday() - WEEK_START) % 7)
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def date_function(name: str, args: tuple[str, ...], now: datetime) -> datetime | None:
    """Instant for now(), startOfDay([inc]) ... endOfYear([inc]); None for a bad argument.

    A bare integer increment counts the function's own unit (`startOfMonth(-1)` = last month)."""
    low = name.lower()
    if low == "now":
        return now if not args else None
    kind, _, period = low.partition("of")
    if kind not in ("start", "end") or period not in _PERIOD_UNIT or len(args) > 1:
        return None
    inc = args[0].strip() if args else "0"
    unit = _PERIOD_UNIT[period]
    if re.fullmatch(r"[-+]?\d+", inc):
        inc += unit
    same_unit = inc.endswith(unit) and re.fullmatch(r"[-+]?\d+[yMwdhm]", inc) is not None
    start = _start_of(period, now)
    if same_unit:
        # Shift the period itself: endOfMonth(1) is the end of next month, whatever its length.
        start = _next(start, f"{inc[:-1]}{unit}")
        return start if kind == "start" else _next(start, "1" + unit) - _MS
    edge = start if kind == "start" else _next(start, "1" + unit) - _MS
    return apply_period(edge, inc)


def _next(dt: datetime, period: str) -> datetime:
    moved = apply_period(dt, period)
    assert moved is not None  # periods built here are always well-formed
    return moved


def text_matcher(value: str) -> Callable[[str], bool] | None:
    """`field ~ value`: every term must occur as a word prefix, case-insensitively; `"quoted
    phrases"` must occur as consecutive words; `*` and `?` are wildcards. None if no term."""
    patterns: list[re.Pattern[str]] = []
    for phrase, bare in re.findall(r'"([^"]*)"|(\S+)', value):
        if bare.upper() in ("AND", "OR", "NOT", "&&", "||"):
            continue
        words = re.findall(r"[\w*?]+", phrase or bare)
        words = [w for w in words if w.strip("*?") or w == "*"]
        if not words:
            continue
        parts = [re.escape(w).replace(r"\*", r"\w*").replace(r"\?", r"\w") + r"\w*" for w in words]
        patterns.append(re.compile(r"(?<!\w)" + r"\W+".join(parts), re.IGNORECASE))
    if not patterns:
        return None
    if len(patterns) == 1:
        search = patterns[0].search
        return lambda text: search(text) is not None
    return lambda text: all(p.search(text) is not None for p in patterns)
