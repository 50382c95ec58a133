"""Report options validation (typed errors naming the option) and localized dates."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.reports.dates import format_date, format_datetime, normalize_locale
from gateway.reports.model import SECTIONS, InvalidReportOption, ReportOptions


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"template": "fancy"}, "template"),
        ({"sections": ["fields", "history"]}, "sections"),
        ({"sections": "fields"}, "sections"),
        ({"sections": ["comments", "Comments"]}, "sections"),
        ({"fields": [""]}, "fields"),
        ({"fields": [3]}, "fields"),
        ({"page_size": "A3"}, "page_size"),
        ({"orientation": "diagonal"}, "orientation"),
        ({"header_text": "x" * 201}, "header_text"),
        ({"footer_text": "two\nlines"}, "footer_text"),
        ({"footer_text": 7}, "footer_text"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"locale": "tlh"}, "locale"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_option_names_the_option(options: dict[str, object], name: str) -> None:
    with pytest.raises(InvalidReportOption) as caught:
        ReportOptions.create(**options)
    assert caught.value.option_name == name
    assert str(caught.value).startswith(f"{name}: ")


def test_valid_options_are_normalized() -> None:
    options = ReportOptions.create(
        template="Summary",
        sections=["Comments", "fields"],
        fields=["Story Points", "status"],
        page_size="letter",
        orientation="Landscape",
        time_zone="Europe/Berlin",
        locale="de_AT.UTF-8",
        header_text=None,
    )
    assert options.template == "summary"
    assert options.sections == ("comments", "fields")
    assert options.fields == ("Story Points", "status")
    assert (options.page_size, options.orientation) == ("LETTER", "landscape")
    assert options.locale == "de"
    assert options.zone == ZoneInfo("Europe/Berlin")
    assert ReportOptions.create().sections == SECTIONS


MOMENT = datetime(2024, 3, 5, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("en", "UTC", "Mar 5, 2024, 11:30 PM"),
        ("en", "America/New_York", "Mar 5, 2024, 6:30 PM"),
        ("de", "Europe/Berlin", "6. März 2024, 00:30"),
        ("fr", "Europe/Paris", "6 mars 2024, 00:30"),
        ("ru", "Europe/Moscow", "6 мар. 2024 г., 02:30"),
        ("ja", "Asia/Tokyo", "2024年3月6日 08:30"),
    ],
)
def test_datetime_in_zone_and_locale(locale: str, zone: str, expected: str) -> None:
    assert format_datetime(MOMENT, locale, ZoneInfo(zone)) == expected


def test_date_crosses_midnight_with_the_zone() -> None:
    assert format_date(MOMENT, "en", ZoneInfo("UTC")) == "Mar 5, 2024"
    assert format_date(MOMENT, "en", ZoneInfo("Asia/Tokyo")) == "Mar 6, 2024"


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = datetime(2024, 1, 1, 12, 0)  # naive on purpose
    assert format_datetime(naive, "de", ZoneInfo("Europe/Berlin")) == "1. Jan. 2024, 13:00"


@pytest.mark.parametrize(("raw", "expected"), [("ru-RU", "ru"), ("JA", "ja"), ("xx", None)])
def test_normalize_locale(raw: str, expected: str | None) -> None:
    assert normalize_locale(raw) == expected
