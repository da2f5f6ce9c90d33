"""Stories for reporting periods: last full weeks, months, quarters, years and explicit ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.periods import Period, current_week, parse_period
from bot.errors import UserError

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # Sunday 22 November


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_week_is_the_last_full_iso_week_in_local_time() -> None:
    week = parse_period("week", BERLIN, NOW)
    assert week == Period(utc(2026, 11, 8, 23), utc(2026, 11, 15, 23), "Week 46 (9–15 Nov 2026)")


def test_monday_just_after_local_midnight_already_counts_last_week_as_done() -> None:
    # 23:30 UTC on Sunday is 00:30 on Monday in Berlin.
    week = parse_period("week", BERLIN, utc(2026, 11, 22, 23, 30))
    assert week.label == "Week 47 (16–22 Nov 2026)"
    assert week.start == utc(2026, 11, 15, 23)
    assert week.end == utc(2026, 11, 22, 23)


def test_the_week_clocks_go_back_has_169_hours() -> None:
    week = parse_period("week", BERLIN, utc(2026, 10, 28, 12))
    assert week.label == "Week 43 (19–25 Oct 2026)"
    assert (week.start, week.end) == (utc(2026, 10, 18, 22), utc(2026, 10, 25, 23))
    assert week.end - week.start == timedelta(hours=169)


def test_the_week_clocks_go_forward_has_167_hours() -> None:
    week = parse_period("2026-W13", BERLIN, NOW)
    assert week.label == "Week 13 (23–29 Mar 2026)"
    assert week.end - week.start == timedelta(hours=167)


def test_weeks_across_months_and_years_name_both_ends() -> None:
    assert parse_period("2026-w44", BERLIN, NOW).label == "Week 44 (26 Oct–1 Nov 2026)"
    assert parse_period("2026-W53", BERLIN, NOW).label == "Week 53 (28 Dec 2026–3 Jan 2027)"


def test_last_month_quarter_and_year() -> None:
    month = parse_period("month", BERLIN, NOW)
    assert month == Period(utc(2026, 9, 30, 22), utc(2026, 10, 31, 23), "October 2026")
    quarter = parse_period("quarter", BERLIN, NOW)
    assert quarter == Period(utc(2026, 6, 30, 22), utc(2026, 9, 30, 22), "2026-Q3")
    year = parse_period("Year", BERLIN, NOW)
    assert year == Period(utc(2024, 12, 31, 23), utc(2025, 12, 31, 23), "2025")


def test_in_january_last_month_and_quarter_are_in_the_previous_year() -> None:
    january = utc(2027, 1, 10, 12)
    assert parse_period("month", BERLIN, january).label == "December 2026"
    assert parse_period("quarter", BERLIN, january).label == "2026-Q4"


def test_explicit_periods() -> None:
    assert parse_period("2026-11", BERLIN, NOW) == Period(
        utc(2026, 10, 31, 23), utc(2026, 11, 30, 23), "November 2026"
    )
    assert parse_period("2026-q4", BERLIN, NOW) == Period(
        utc(2026, 9, 30, 22), utc(2026, 12, 31, 23), "2026-Q4"
    )
    assert parse_period("2026", ZoneInfo("UTC"), NOW) == Period(
        utc(2026, 1, 1), utc(2027, 1, 1), "2026"
    )


def test_all_time_holds_everything() -> None:
    everything = parse_period("all", BERLIN, NOW)
    assert everything.label == "all time"
    assert NOW in everything and utc(2001, 1, 1) in everything


def test_periods_are_half_open() -> None:
    week = parse_period("2026-W47", BERLIN, NOW)
    assert week.start in week
    assert week.end not in week
    assert week.end - timedelta(microseconds=1) in week


def test_current_week_contains_now() -> None:
    week = current_week(BERLIN, NOW)
    assert week.label == "Week 47 (16–22 Nov 2026)"
    assert NOW in week


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fortnight", "I don't know the period 'fortnight'"),
        ("2025-W53", "2025 has no ISO week 53"),
        ("2026-W0", "2026 has no ISO week 0"),
        ("2026-13", "there is no month 13"),
        ("2026-Q5", "I don't know the period"),
        ("1900", "outside the years"),
    ],
)
def test_bad_periods_list_the_ones_that_exist(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_period(text, BERLIN, NOW)
    assert message in caught.value.message
