"""The weekly kudos allowance (SPEC §5): how many points a member may still give."""

from __future__ import annotations

from bot.errors import UserError


def check_kudos_allowance(given: int, amount: int, limit: int) -> int:
    """The points given this week once `amount` more is given, or the refusal when that
    goes past `limit` (what is left, and when the allowance starts again)."""
    if given + amount > limit:
        left = max(0, limit - given)
        raise UserError(
            f"You can give {limit} kudos points a week; you have given {given} this week, "
            f"so {left} {'is' if left == 1 else 'are'} left",
            "the allowance starts again on Monday"
            if left == 0
            else f"give fewer, e.g. `points:{left}`",
        )
    return given + amount
