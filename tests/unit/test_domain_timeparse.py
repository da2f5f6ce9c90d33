"""Stories for durations, dates in the co-op's timezone, and how times are shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.timeparse import (
    format_duration,
    format_local,
    local_to_utc,
    parse_duration,
    parse_when,
)
from bot.errors import UserError

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # Sunday morning


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("90m", timedelta(minutes=90)),
        ("36h", timedelta(hours=36)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 1D12H ", timedelta(days=1, hours=12)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("366d", timedelta(days=366)),
    ],
)
def test_durations_people_write(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 days", "I can't read '3 days' as a duration"),
        ("tomorrow", "I can't read"),
        ("", "I can't read"),
        ("h", "I can't read"),
        ("12h1d", "I can't read"),  # largest unit first
        ("0h", "longer than zero"),
        ("367d", "at most 366 days"),
        ("60w", "at most 366 days"),
    ],
)
def test_bad_durations_say_how_to_write_one(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_duration(text)
    assert message in caught.value.message
    assert caught.value.hint == "write it like 30m, 36h, 3d, 2w or 1d12h"


def test_a_duration_counts_from_now() -> None:
    assert parse_when("3d", BERLIN, NOW, date_means="end") == NOW + timedelta(days=3)


def test_a_date_and_time_is_read_in_the_coop_timezone() -> None:
    expected = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert parse_when("2026-12-01 18:00", BERLIN, NOW, date_means="end") == expected
    assert parse_when("2026-12-01T18:00", BERLIN, NOW, date_means="start") == expected


def test_a_bare_date_opens_at_its_start_and_closes_at_its_end() -> None:
    opens = parse_when("2026-12-01", BERLIN, NOW, date_means="start")
    closes = parse_when("2026-12-01", BERLIN, NOW, date_means="end")
    assert opens == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert closes == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)


def test_today_can_still_be_a_deadline_but_not_a_start() -> None:
    assert parse_when("2026-11-22", BERLIN, NOW, date_means="end") == datetime(
        2026, 11, 22, 23, 0, tzinfo=UTC
    )
    with pytest.raises(UserError, match="already past in Europe/Berlin"):
        parse_when("2026-11-22", BERLIN, NOW, date_means="start")
    assert parse_when("2026-11-22", BERLIN, NOW, date_means="start", allow_past=True) == (
        datetime(2026, 11, 21, 23, 0, tzinfo=UTC)
    )


def test_a_time_skipped_by_spring_forward_lands_after_the_gap() -> None:
    # Clocks in Berlin jump from 02:00 to 03:00 on 28 March 2027.
    when = parse_when("2027-03-28 02:30", BERLIN, NOW, date_means="end")
    assert when == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert format_local(when, BERLIN) == "Sun 28 Mar 03:30"


def test_a_time_that_happens_twice_in_autumn_means_the_first() -> None:
    now = datetime(2026, 10, 1, tzinfo=UTC)
    when = parse_when("2026-10-25 02:30", BERLIN, now, date_means="end")
    assert when == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 summer time


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", "2026-02-30 is not a real date or time"),
        ("2026-12-01 25:00", "is not a real date or time"),
        ("1 Dec", "I can't read '1 Dec' as a time"),
        ("2026-11-01", "already past"),
        ("2040-01-01", "too far ahead"),
    ],
)
def test_bad_times_say_how_to_write_one(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_when(text, BERLIN, NOW, date_means="end")
    assert message in caught.value.message
    assert caught.value.hint is not None and "2026-12-01 18:00" in caught.value.hint


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=45, seconds=59), "45 min"),
        (timedelta(hours=2, minutes=30), "2 h 30 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(hours=20, minutes=40), "20 h"),
        (timedelta(hours=47), "47 h"),
        (timedelta(days=2, hours=5), "2 days"),
        (-timedelta(minutes=5), "5 min"),
    ],
)
def test_durations_are_shown_roughly(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


def test_local_times_are_shown_like_the_ux_guide() -> None:
    moment = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert format_local(moment, BERLIN) == "Tue 1 Dec 18:00"
    assert format_local(moment, BERLIN, with_year=True) == "Tue 1 Dec 2026 18:00"
    assert format_local(moment, ZoneInfo("America/New_York")) == "Tue 1 Dec 12:00"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_local_times_always_map_to_an_instant_at_or_after_them_on_the_wall(
    naive: datetime,
) -> None:
    utc = local_to_utc(naive, BERLIN)
    assert utc.tzinfo is UTC
    shown = utc.astimezone(BERLIN).replace(tzinfo=None)
    assert timedelta(0) <= shown - naive <= timedelta(hours=1)
