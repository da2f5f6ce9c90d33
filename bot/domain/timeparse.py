"""Reading and showing times: durations (`36h`, `1d12h`), local dates, and friendly formats."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from bot.domain.limits import DURATION_MAX, WHEN_AHEAD_MAX
from bot.errors import UserError

# The longest duration or date people write (`2026-12-01 18:00`, `1w2d3h4m5s`); anything
# longer is refused unread. Every part is a few ASCII digits, so a match is a small integer.
WHEN_TEXT_MAX: Final = 24
_DURATION: Final = re.compile(
    r"(?:(?P<w>[0-9]{1,9})w)?(?:(?P<d>[0-9]{1,9})d)?(?:(?P<h>[0-9]{1,9})h)?"
    r"(?:(?P<m>[0-9]{1,9})m)?(?:(?P<s>[0-9]{1,9})s)?"
)
_DATE: Final = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:[ T](?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2}))?"
)
_SECONDS: Final = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# The years a date may name, checked on the digits before any date arithmetic: nothing the
# bot schedules lies before its epoch or more than WHEN_AHEAD_MAX ahead, so no sum of a date
# and a bounded duration can leave the calendar.
YEAR_MIN: Final = 1970
_DURATION_HINT: Final = "write it like 30m, 36h, 3d, 2w or 1d12h"
_WHEN_HINT: Final = "write a duration like 3d or 36h, or a date like 2026-12-01 or 2026-12-01 18:00"
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def _duration_seconds(text: str) -> int | None:
    """A duration's length in whole seconds, or None when `text` is not a duration. Computed
    on integers (at most 5 parts of 9 digits), so even `999999999w` costs nothing."""
    raw = text.strip().lower()
    if len(raw) > WHEN_TEXT_MAX:
        return None
    match = _DURATION.fullmatch(raw)
    if match is None or not any(match.groupdict().values()):
        return None
    return sum(int(value) * _SECONDS[unit] for unit, value in match.groupdict().items() if value)


def parse_duration(text: str) -> timedelta:
    """`30s`, `90m`, `36h`, `3d`, `2w` or combined largest unit first (`1d12h`); 1 s to 366 days."""
    raw = text.strip()
    if len(raw) > WHEN_TEXT_MAX:
        raise UserError(f"a duration is short, like 3d or 36h, not {len(raw)} characters")
    seconds = _duration_seconds(raw)
    if seconds is None:
        raise UserError(f"I can't read {raw[:40]!r} as a duration", _DURATION_HINT)
    if seconds <= 0:
        raise UserError("a duration must be longer than zero", _DURATION_HINT)
    if seconds > DURATION_MAX.total_seconds():
        raise UserError(
            f"a duration can be at most {DURATION_MAX.days} days, not {raw}", _DURATION_HINT
        )
    return timedelta(seconds=seconds)


def duration_text(delta: timedelta) -> str:
    """A duration as `parse_duration` reads it back: `1h`, `1d12h`, `90s` → `1m30s`."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit in ("d", "h", "m", "s"):
        amount, seconds = divmod(seconds, _SECONDS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


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
    if len(raw) > WHEN_TEXT_MAX:
        raise UserError(f"a time is short, like 3d or 2026-12-01 18:00, not {len(raw)} characters")
    if _duration_seconds(raw) is not None:
        return now.astimezone(UTC) + parse_duration(raw)
    match = _DATE.fullmatch(raw)
    if match is None:
        raise UserError(f"I can't read {raw[:40]!r} as a time", _WHEN_HINT)
    # The year is checked on its digits first: 9999-12-31 in a timezone behind UTC would
    # overflow the calendar on the way to UTC.
    year = int(match["y"])
    if year > (now + WHEN_AHEAD_MAX).year:
        raise UserError(f"{raw} is too far ahead (at most 5 years)", _WHEN_HINT)
    if year < YEAR_MIN:
        raise UserError(f"{raw} is long past", _WHEN_HINT)
    try:
        day = date(year, int(match["mo"]), int(match["d"]))
        clock = time(int(match["h"]), int(match["mi"])) if match["h"] is not None else None
    except ValueError:
        raise UserError(f"{raw} is not a real date or time", _WHEN_HINT) from None
    if clock is not None:
        when = local_to_utc(datetime.combine(day, clock), tz)
    elif date_means == "start":
        when = local_midnight(day, tz)
    else:
        when = local_midnight(day + timedelta(days=1), tz)
    if when > now + WHEN_AHEAD_MAX:
        raise UserError(f"{raw} is too far ahead (at most 5 years)", _WHEN_HINT)
    if not allow_past and when <= now:
        raise UserError(f"{raw} is already past in {tz.key}", _WHEN_HINT)
    return when


def later(moment: datetime, delta: timedelta, now: datetime, *, what: str, hint: str) -> datetime:
    """`moment + delta` for a moment a member moves (a deadline they extend), kept within
    WHEN_AHEAD_MAX of `now`: repeated extensions can never walk a date off the calendar."""
    limit = now + WHEN_AHEAD_MAX
    if moment > limit or delta > limit - moment:
        raise UserError(f"{what} would then be more than 5 years away", hint)
    return moment + delta


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
