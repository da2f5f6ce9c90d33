"""Stories for the input bounds of SPEC §7."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.domain.limits import (
    BODY_MAX,
    NOTE_MAX,
    OPTIONS_MAX,
    TITLE_MAX,
    check_hours,
    check_kudos_points,
    check_task_points,
    check_text,
)
from bot.errors import UserError


def test_the_spec_bounds() -> None:
    assert (TITLE_MAX, BODY_MAX, NOTE_MAX, OPTIONS_MAX) == (200, 4000, 500, 20)


def test_a_title_at_the_limit_is_fine_and_one_more_is_refused() -> None:
    assert check_text("title", "  " + "x" * 200 + " ", TITLE_MAX) == "x" * 200
    with pytest.raises(UserError) as caught:
        check_text("title", "x" * 201, TITLE_MAX)
    assert caught.value.message == "the title is 201 characters long; the limit is 200"
    with pytest.raises(UserError, match="the note is empty"):
        check_text("note", "   ", NOTE_MAX)


@pytest.mark.parametrize("hours", ["0.01", "1", "2.5", "24"])
def test_hours_within_a_day(hours: str) -> None:
    assert check_hours(Decimal(hours)) == Decimal(hours)


@pytest.mark.parametrize("hours", ["0", "-1", "24.01", "25", "1.333", "NaN", "Infinity"])
def test_hours_outside_a_day_are_refused(hours: str) -> None:
    with pytest.raises(UserError) as caught:
        check_hours(Decimal(hours))
    assert caught.value.hint == "for example `!log 2.5 fixed the gate`"


def test_kudos_points_one_to_five() -> None:
    assert check_kudos_points(1) == 1 and check_kudos_points(5) == 5
    for points in (0, 6, -1):
        with pytest.raises(UserError, match="1 to 5 points"):
            check_kudos_points(points)


def test_task_points_not_negative() -> None:
    assert check_task_points(0) == 0
    with pytest.raises(UserError):
        check_task_points(-3)
