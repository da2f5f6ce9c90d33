"""Summary cron lines mean what they mean in cron: OR of day fields, DST as cron does it,
and a line that can never fire is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.cron import check_cron_line, explain, next_fires

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


def _local(fires: list[datetime], tz: ZoneInfo = BERLIN) -> list[str]:
    return [fire.astimezone(tz).strftime("%a %d %b %H:%M") for fire in fires]


def test_day_of_month_and_day_of_week_mean_either_as_in_cron() -> None:
    # "the 1st of the month, and every Monday": Sun 1 Nov 2026 is a 1st, Mon 2 a Monday.
    start = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
    fires = next_fires("0 9 1 * mon", UTC_ZONE, start, 4)
    assert _local(fires, UTC_ZONE) == [
        "Sun 01 Nov 09:00",
        "Mon 02 Nov 09:00",
        "Mon 09 Nov 09:00",
        "Mon 16 Nov 09:00",
    ]
    # A star in either day field leaves the other alone (cron's AND with "every day").
    assert _local(next_fires("0 9 * * mon", UTC_ZONE, start, 2), UTC_ZONE) == [
        "Mon 02 Nov 09:00",
        "Mon 09 Nov 09:00",
    ]


def test_a_time_skipped_by_daylight_saving_fires_just_after_the_gap() -> None:
    # Berlin skips 02:00–03:00 on Sun 29 Mar 2026 and repeats 02:00–03:00 on Sun 25 Oct.
    spring = next_fires("30 2 * * *", BERLIN, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), 3)
    assert _local(spring) == ["Sun 29 Mar 03:00", "Mon 30 Mar 02:30", "Tue 31 Mar 02:30"]
    autumn = next_fires("30 2 * * *", BERLIN, datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 2)
    assert autumn[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # once, not twice
    assert autumn[1] == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_fires_are_strictly_after_the_moment_asked() -> None:
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert next_fires("0 9 * * mon", UTC_ZONE, at)[0] == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("line", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 9 31 2 *", "0 0 * 2 MON#6"])
def test_a_line_that_never_fires_is_refused(line: str) -> None:
    with pytest.raises(ValueError):
        check_cron_line(line)
    assert next_fires(line, UTC_ZONE, datetime(2026, 1, 1, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    "line", ["61 9 * * mon", "weekly", "@weekly", "0 0 9 * * mon", "0 9 * * mon " + "1," * 60]
)
def test_what_is_not_a_five_field_cron_line_is_refused(line: str) -> None:
    with pytest.raises(ValueError):
        check_cron_line(line)


def test_rare_but_real_lines_are_kept() -> None:
    assert check_cron_line("0 0 29  2 *") == "0 0 29 2 *"
    assert explain("0 9 * * mon") == "At 09:00 on Monday"
