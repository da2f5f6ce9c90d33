"""Cron lines as members write them: five fields, weekday numbers counted from Sunday."""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_CRON_DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day_number(token: str) -> int:
    """A cron weekday, 0–7 (0 and 7 are Sunday) or a name, as 0–6 with Sunday 0."""
    if token.isdigit():
        value = int(token)
        if not 0 <= value <= 7:
            raise ValueError(token)
        return value % 7
    return _CRON_DAYS.index(token.lower())


def cron_weekdays(field: str) -> str:
    """Rewrite a crontab day-of-week field with day names.

    APScheduler 3 counts numeric weekdays from Monday = 0, while cron counts from
    Sunday = 0, so `0 9 * * 1` would fire on Tuesdays; names mean the same to both.
    A field this cannot read is returned unchanged for the trigger to reject."""
    if not any(ch.isdigit() for ch in field) and "*/" not in field:
        return field
    days: set[int] = set()
    try:
        for item in field.split(","):
            base, _, step_text = item.partition("/")
            step = int(step_text) if step_text else 1
            if step < 1:
                return field
            if base == "*":
                first, last = 0, 6
            elif "-" in base:
                start, _, end = base.partition("-")
                first, last = _day_number(start), _day_number(end)
                if end == "7":
                    last = 7
            else:
                first = _day_number(base)
                last = 6 if step_text else first
            if first > last:
                return field
            days.update(day % 7 for day in range(first, last + 1, step))
    except ValueError:
        return field
    return ",".join(_CRON_DAYS[day] for day in sorted(days)) if days else field


def summary_trigger(line: str, tz: ZoneInfo) -> CronTrigger:
    """The APScheduler trigger of a five-field cron line read with cron's weekday numbers."""
    fields = line.split()
    if len(fields) == 5:
        fields[4] = cron_weekdays(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=tz)
