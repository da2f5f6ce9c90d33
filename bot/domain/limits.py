"""The bounds every input must respect (SPEC §7) and the checks that enforce them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Final

from bot.errors import UserError

TITLE_MAX: Final = 200
BODY_MAX: Final = 4000
NOTE_MAX: Final = 500
REASON_MAX: Final = NOTE_MAX
OPTION_MAX: Final = 200  # one poll option's text
OPTIONS_MIN: Final = 2
OPTIONS_MAX: Final = 20

HOURS_MAX: Final = Decimal(24)  # per `log` entry; the minimum is exclusive 0
HOURS_PLACES: Final = 2
KUDOS_MIN: Final = 1
KUDOS_MAX: Final = 5
KUDOS_DEFAULT: Final = 1
SCORE_MIN: Final = 0
SCORE_MAX: Final = 5
TASK_POINTS_MAX: Final = 1000

# The longest command a member needs (a proposal with a full body and reason, or a poll
# with 20 full options) is under 5,000 characters; a message past this is refused before
# any parsing, so a 64 KB Matrix event costs no more than a short one.
MESSAGE_MAX: Final = 8000

DURATION_MAX: Final = timedelta(days=366)
WHEN_AHEAD_MAX: Final = timedelta(days=5 * 366)  # a date past this is surely a typo
MONEY_MAX: Final = Decimal("1000000000.00")


def check_text(what: str, text: str, limit: int) -> str:
    """Return `text` stripped, or refuse it when it is empty or longer than `limit`."""
    cleaned = text.strip()
    if not cleaned:
        raise UserError(f"the {what} is empty")
    if len(cleaned) > limit:
        raise UserError(
            f"the {what} is {len(cleaned)} characters long; the limit is {limit}",
            "shorten it and send the command again",
        )
    return cleaned


def check_hours(hours: Decimal) -> Decimal:
    """Hours for one `log` entry: more than 0, at most 24, at most two decimals."""
    hint = "for example `!log 2.5 fixed the gate`"
    if not hours.is_finite() or hours <= 0 or hours > HOURS_MAX:
        raise UserError(f"hours must be more than 0 and at most 24 per entry (got {hours})", hint)
    exponent = hours.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -HOURS_PLACES:
        raise UserError(f"hours can have at most two decimals (got {hours})", hint)
    return hours


def check_kudos_points(points: int) -> int:
    """Kudos points: 1 to 5."""
    if not KUDOS_MIN <= points <= KUDOS_MAX:
        raise UserError(
            f"kudos can give {KUDOS_MIN} to {KUDOS_MAX} points (got {points})",
            "for example `!kudos @bob points:2 thanks for the newsletter`",
        )
    return points


def check_task_points(points: int) -> int:
    """Task points: 0 up to a generous bound."""
    if not 0 <= points <= TASK_POINTS_MAX:
        raise UserError(
            f"task points must be 0 to {TASK_POINTS_MAX} (got {points})",
            "for example `!task add Fix the gate points:3`",
        )
    return points
