"""Dates in the reader's time zone and language, from a small built-in table.

Babel would bring 30 MB of CLDR data for five patterns per language; a report needs a date and
a date with time, so the month names and the two patterns per locale live here (CLDR "medium"
and "long" forms, 24-hour clock except English).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class _Locale:
    months: tuple[str, ...]
    date: str  # placeholders: {d} day, {m} month name, {mm} month number, {y} year
    time: str  # placeholders: {H} 24-hour, {h} 12-hour, {M} minutes, {p} AM/PM
    joiner: str  # between date and time


_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DE_MONTHS = ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.")
_FR_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.")
_ES_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")
_IT_MONTHS = ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic")
_PT_MONTHS = ("jan.", "fev.", "mar.", "abr.", "mai.", "jun.", "jul.", "ago.", "set.", "out.")
# Russian dates use the genitive ("5 марта").
_RU_MONTHS = ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.")

LOCALES: dict[str, _Locale] = {
    "en": _Locale(_EN_MONTHS, "{m} {d}, {y}", "{h}:{M} {p}", ", "),
    "de": _Locale((*_DE_MONTHS, "Nov.", "Dez."), "{d}. {m} {y}", "{H}:{M}", ", "),
    "fr": _Locale((*_FR_MONTHS, "nov.", "déc."), "{d} {m} {y}", "{H}:{M}", ", "),
    "es": _Locale(_ES_MONTHS, "{d} {m} {y}", "{H}:{M}", ", "),
    "it": _Locale(_IT_MONTHS, "{d} {m} {y}", "{H}:{M}", ", "),
    "pt": _Locale((*_PT_MONTHS, "nov.", "dez."), "{d} de {m} de {y}", "{H}:{M}", ", "),
    "ru": _Locale((*_RU_MONTHS, "нояб.", "дек."), "{d} {m} {y} г.", "{H}:{M}", ", "),
    "ja": _Locale(tuple(f"{n}月" for n in range(1, 13)), "{y}年{m}{d}日", "{H}:{M}", " "),
    "zh": _Locale(tuple(f"{n}月" for n in range(1, 13)), "{y}年{m}{d}日", "{H}:{M}", " "),
}


def normalize_locale(value: object) -> str | None:
    """ "de", "de-AT", "de_DE.UTF-8" -> "de"; None for a language without a table here."""
    if not isinstance(value, str):
        return None
    language = value.strip().replace("_", "-").split("-")[0].split(".")[0].lower()
    return language if language in LOCALES else None


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    # Naive datetimes are taken as UTC: JIRA always sends an offset, so this is a caller's slip.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone)


def format_date(moment: datetime, locale: str, zone: ZoneInfo) -> str:
    """The calendar date of `moment` in `zone`, e.g. "Mar 5, 2024" / "5 марта 2024 г."."""
    table = LOCALES.get(locale, LOCALES["en"])
    local = _local(moment, zone)
    return table.date.format(
        d=local.day, m=table.months[local.month - 1], mm=local.month, y=local.year
    )


def format_datetime(moment: datetime, locale: str, zone: ZoneInfo) -> str:
    """Date and time of `moment` in `zone`, e.g. "Mar 5, 2024, 2:07 PM" / "5. März 2024, 14:07"."""
    table = LOCALES.get(locale, LOCALES["en"])
    local = _local(moment, zone)
    clock = table.time.format(
        H=f"{local.hour:02d}",
        h=(local.hour % 12) or 12,
        M=f"{local.minute:02d}",
        p="AM" if local.hour < 12 else "PM",
    )
    return f"{format_date(local, locale, zone)}{table.joiner}{clock}"
