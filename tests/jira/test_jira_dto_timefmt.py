"""JIRA timestamp and date parsing: every wire form, always timezone-aware."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.jira.timefmt import parse_date, parse_datetime

CONTRACT = Path(__file__).resolve().parents[2].parent / "shared" / "jira-contract"
INSTANT = datetime(2018, 6, 15, 18, 47, 57, 111000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2018-06-15T11:47:57.111-0700",  # JIRA's usual form: no colon in the offset
        "2018-06-15T11:47:57.111-07:00",
        "2018-06-16T01:47:57.111+07:00",
        "2018-06-15T18:47:57.111Z",
        "2018-06-15T18:47:57.111+0000",
        "2018-06-15T18:47:57.111",  # naive: taken as UTC
    ],
)
def test_every_textual_form_names_the_same_instant(text: str) -> None:
    parsed = parse_datetime(text)
    assert parsed.tzinfo is not None
    assert parsed == INSTANT


def test_offset_is_kept_not_converted() -> None:
    parsed = parse_datetime("2018-06-15T11:47:57.111-0700")
    assert parsed.utcoffset() == timedelta(hours=-7)
    assert (parsed.hour, parsed.microsecond) == (11, 111000)


def test_without_millis() -> None:
    assert parse_datetime("2021-05-08T07:04:25+0100") == datetime(2021, 5, 8, 6, 4, 25, tzinfo=UTC)


def test_epoch_milliseconds_from_a_real_webhook() -> None:
    body = json.loads(
        (
            CONTRACT / "webhooks/mattermost-plugin-jira/webhook-cloud-comment-created.json"
        ).read_text()
    )
    stamp = parse_datetime(body["timestamp"])
    assert stamp.tzinfo is UTC
    # The comment in that same body was created at 2019-02-15T19:11:18.321-0800.
    assert stamp == parse_datetime(body["comment"]["created"])


def test_epoch_ms_as_digits_text_and_seconds() -> None:
    assert parse_datetime("1550286678321") == parse_datetime(1550286678321)
    assert parse_datetime(1550286678) == datetime(2019, 2, 16, 3, 11, 18, tzinfo=UTC)


def test_rendered_field_dates_are_refused() -> None:
    # renderedFields turns dates into the requesting user's localized text: never parse them.
    pairs = json.loads((CONTRACT / "wiki/rendered-pairs-from-real-responses.json").read_text())
    rendered_dates = [p["html"] for p in pairs if p["field"] in ("created", "updated")]
    assert len(rendered_dates) >= 4
    for text in rendered_dates:
        with pytest.raises(ValueError, match="not an ISO timestamp"):
            parse_datetime(text)
    for raw in [p["wiki"] for p in pairs if p["field"] in ("created", "updated")]:
        assert parse_datetime(raw).tzinfo is not None


@pytest.mark.parametrize("bad", ["", "2018-6-15", "yesterday", "2018/06/15 10:00", True, None, [1]])
def test_garbage_raises_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match=r"not a|Invalid isoformat"):
        parse_datetime(bad)  # type: ignore[arg-type]


def test_plain_dates() -> None:
    assert parse_date("2010-07-05") == date(2010, 7, 5)
    # JIRA 4.x sent due dates as midnight timestamps; keep their local calendar day.
    assert parse_date("2010-07-05T00:00:00.000+0200") == date(2010, 7, 5)
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_date("05/Jul/10")


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]
        ),
    )
)
def test_jira_format_round_trips(moment: datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    wire = (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + moment.strftime("%z")
    )
    assert parse_datetime(wire) == moment
