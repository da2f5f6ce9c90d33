"""Reporting periods (`week`, `2026-Q4`, …) as half-open UTC windows of local calendar time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from bot.domain.timeparse import local_midnight, month_abbr
from bot.errors import UserError

_MONTH_NAMES: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_EXPLICIT: Final = re.compile(
    r"^(?P<y>\d{4})(?:-(?:w(?P<w>\d{1,2})|q(?P<q>[1-4])|(?P<m>\d{1,2})))?$", re.IGNORECASE
)
_HINT: Final = "use week, month, quarter, year, all, or 2026-W47, 2026-11, 2026-Q4, 2026"
YEAR_MIN: Final = 1970
YEAR_MAX: Final = 2999
ALL_START: Final = datetime(YEAR_MIN, 1, 1, tzinfo=UTC)
ALL_END: Final = datetime(YEAR_MAX + 1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; the bounds are local midnights, so a week across a DST change
    lasts 167 or 169 hours."""

    start: datetime
    end: datetime
    label: str

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _window(first: date, after: date, tz: ZoneInfo, label: str) -> Period:
    return Period(local_midnight(first, tz), local_midnight(after, tz), label)


def week_period(monday: date, tz: ZoneInfo) -> Period:
    """The ISO week starting on `monday`: `Week 47 (16–22 Nov 2026)`."""
    if monday.weekday() != 0:
        raise ValueError(f"{monday} is not a Monday")
    sunday = monday + timedelta(days=6)
    number = monday.isocalendar().week
    if monday.year != sunday.year:
        span = f"{monday.day} {month_abbr(monday.month)} {monday.year}–"
    elif monday.month != sunday.month:
        span = f"{monday.day} {month_abbr(monday.month)}–"
    else:
        span = f"{monday.day}–"
    span += f"{sunday.day} {month_abbr(sunday.month)} {sunday.year}"
    return _window(monday, monday + timedelta(days=7), tz, f"Week {number} ({span})")


def month_period(year: int, month: int, tz: ZoneInfo) -> Period:
    """A calendar month: `November 2026`."""
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _window(date(year, month, 1), after, tz, f"{_MONTH_NAMES[month - 1]} {year}")


def quarter_period(year: int, quarter: int, tz: ZoneInfo) -> Period:
    """A calendar quarter: `2026-Q4`."""
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return _window(first, after, tz, f"{year}-Q{quarter}")


def year_period(year: int, tz: ZoneInfo) -> Period:
    """A calendar year: `2026`."""
    return _window(date(year, 1, 1), date(year + 1, 1, 1), tz, str(year))


def all_time() -> Period:
    """Everything the ledger can hold."""
    return Period(ALL_START, ALL_END, "all time")


def current_week(tz: ZoneInfo, now: datetime) -> Period:
    """The ISO week (Monday first, local time) that contains `now`."""
    today = now.astimezone(tz).date()
    return week_period(today - timedelta(days=today.weekday()), tz)


def parse_period(text: str, tz: ZoneInfo, now: datetime) -> Period:
    """`week`, `month`, `quarter`, `year` (the last full one in local time), `all`, or an
    explicit `2026-W47`, `2026-11`, `2026-Q4`, `2026`."""
    word = text.strip().lower()
    today = now.astimezone(tz).date()
    if word == "week":
        return week_period(today - timedelta(days=today.weekday() + 7), tz)
    if word == "month":
        last = today.replace(day=1) - timedelta(days=1)
        return month_period(last.year, last.month, tz)
    if word == "quarter":
        quarter = (today.month - 1) // 3 + 1
        year, quarter = (today.year - 1, 4) if quarter == 1 else (today.year, quarter - 1)
        return quarter_period(year, quarter, tz)
    if word == "year":
        return year_period(today.year - 1, tz)
    if word in {"all", "all time"}:
        return all_time()

    match = _EXPLICIT.match(word)
    if match is None:
        raise UserError(f"I don't know the period {text.strip()[:40]!r}", _HINT)
    year = int(match["y"])
    if not YEAR_MIN <= year <= YEAR_MAX - 1:
        raise UserError(f"{year} is outside the years I can count ({YEAR_MIN}–{YEAR_MAX - 1})")
    if match["w"] is not None:
        try:
            monday = date.fromisocalendar(year, int(match["w"]), 1)
        except ValueError:
            raise UserError(f"{year} has no ISO week {int(match['w'])}", _HINT) from None
        return week_period(monday, tz)
    if match["q"] is not None:
        return quarter_period(year, int(match["q"]), tz)
    if match["m"] is not None:
        month = int(match["m"])
        if not 1 <= month <= 12:
            raise UserError(f"there is no month {month}", _HINT)
        return month_period(year, month, tz)
    return year_period(year, tz)
