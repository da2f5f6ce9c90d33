"""Reading and showing times: durations (`36h`, `1d12h`), local dates, and friendly formats."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from bot.domain.limits import DURATION_MAX, WHEN_AHEAD_MAX
from bot.errors import UserError

_DURATION: Final = re.compile(
    r"^(?:(?P<w>\d{1,3})w)?(?:(?P<d>\d{1,4})d)?(?:(?P<h>\d{1,5})h)?"
    r"(?:(?P<m>\d{1,6})m)?(?:(?P<s>\d{1,8})s)?$"
)
_DATE: Final = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?:[ T](?P<h>\d{1,2}):(?P<mi>\d{2}))?$"
)
_UNITS: Final = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION_HINT: Final = "write it like 30m, 36h, 3d, 2w or 1d12h"
_WHEN_HINT: Final = "write a duration like 3d or 36h, or a date like 2026-12-01 or 2026-12-01 18:00"
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def _match_duration(text: str) -> timedelta | None:
    match = _DURATION.match(text.strip().lower())
    if match is None or not any(match.groupdict().values()):
        return None
    parts = {_UNITS[unit]: int(value) for unit, value in match.groupdict().items() if value}
    return timedelta(**parts)


def parse_duration(text: str) -> timedelta:
    """`30s`, `90m`, `36h`, `3d`, `2w` or combined largest unit first (`1d12h`); 1 s to 366 days."""
    duration = _match_duration(text)
    if duration is None:
        raise UserError(f"I can't read {text.strip()[:40]!r} as a duration", _DURATION_HINT)
    if duration <= timedelta(0):
        raise UserError("a duration must be longer than zero", _DURATION_HINT)
    if duration > DURATION_MAX:
        raise UserError(f"a duration can be at most {DURATION_MAX.days} days", _DURATION_HINT)
    return duration


def local_to_utc(moment: datetime, tz: ZoneInfo) -> datetime:
    """Read a naive wall-clock time in `tz` as an aware UTC datetime.

    Deterministic around DST: a time skipped by the clocks going forward lands that much later
    (02:30 on a spring-forward night is 03:30 summer time); a time that happens twice (autumn)
    means the first occurrence."""
    return moment.replace(tzinfo=tz, fold=0).astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant the local day `day` starts in `tz`."""
    return local_to_utc(datetime.combine(day, time()), tz)


def parse_when(
    text: str,
    tz: ZoneInfo,
    now: datetime,
    *,
    date_means: Literal["start", "end"],
    allow_past: bool = False,
) -> datetime:
    """A moment given as a duration from `now` or a local date/time in `tz`; aware UTC result.

    A bare date means the start of that local day (`date_means="start"`, for opens) or its end,
    the next local midnight (`"end"`, for closes and due dates)."""
    raw = text.strip()
    duration = _match_duration(raw)
    if duration is not None:
        return now.astimezone(UTC) + parse_duration(raw)
    match = _DATE.match(raw)
    if match is None:
        raise UserError(f"I can't read {raw[:40]!r} as a time", _WHEN_HINT)
    try:
        day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
        clock = time(int(match["h"]), int(match["mi"])) if match["h"] is not None else None
    except ValueError:
        raise UserError(f"{raw} is not a real date or time", _WHEN_HINT) from None
    if clock is not None:
        when = local_to_utc(datetime.combine(day, clock), tz)
    elif date_means == "start":
        when = local_midnight(day, tz)
    else:
        if day.year >= 9999:
            raise UserError(f"{raw} is too far ahead", _WHEN_HINT)
        when = local_midnight(day + timedelta(days=1), tz)
    if when > now + WHEN_AHEAD_MAX:
        raise UserError(f"{raw} is too far ahead (at most 5 years)", _WHEN_HINT)
    if not allow_past and when <= now:
        raise UserError(f"{raw} is already past in {tz.key}", _WHEN_HINT)
    return when


def format_duration(delta: timedelta) -> str:
    """A rough human length, rounded down: `45 s`, `45 min`, `2 h 30 min`, `20 h`, `2 days`."""
    seconds = int(abs(delta).total_seconds())
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return f"{seconds} s"
    if minutes < 60:
        return f"{minutes} min"
    if hours < 10:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    if hours < 48:
        return f"{hours} h"
    return f"{days} days"


def format_local(moment: datetime, tz: ZoneInfo, *, with_year: bool = False) -> str:
    """`Mon 1 Dec 18:00` in `tz` (English names, independent of the machine's locale)."""
    local = moment.astimezone(tz)
    year = f" {local.year}" if with_year else ""
    return (
        f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}{year} "
        f"{local.hour:02d}:{local.minute:02d}"
    )


def month_abbr(month: int) -> str:
    """`Nov` for 11."""
    return _MONTHS[month - 1]
