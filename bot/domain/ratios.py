"""Exact ratios written by people: `2/3`, `66%`, `0.75`, and how to show them back."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from bot.errors import UserError

# Bounded so a ratio can never be a thousand-digit number someone pasted.
_RATIO = re.compile(
    r"""^\s*(?:
        (?P<pct>\d{1,3}(?:\.\d{1,4})?)\s*%
      | (?P<num>\d{1,4})\s*/\s*(?P<den>\d{1,4})
      | (?P<dec>\d{1,3}(?:\.\d{1,6})?)
    )\s*$""",
    re.VERBOSE,
)


def parse_ratio(text: str, *, what: str, example: str) -> Fraction:
    """Read `66%`, `2/3` or `0.75` as an exact Fraction in [0, 1].

    `what` names the setting in the error (`quorum`), `example` shows a right way (`quorum:50%`)."""
    match = _RATIO.match(text)
    hint = f"for example `{example}`"
    if match is None:
        raise UserError(f"I can't read {text.strip()!r} as a {what}", hint)
    try:
        if match["pct"] is not None:
            value = Fraction(Decimal(match["pct"])) / 100
        elif match["num"] is not None:
            denominator = int(match["den"])
            if denominator == 0:
                raise UserError(f"a {what} can't divide by zero", hint)
            value = Fraction(int(match["num"]), denominator)
        else:
            value = Fraction(Decimal(match["dec"]))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid decimals
        raise UserError(f"I can't read {text.strip()!r} as a {what}", hint) from exc
    if value > 1:
        raise UserError(f"a {what} can't be more than 100% (got {text.strip()})", hint)
    return value


def format_ratio(value: Fraction) -> str:
    """`50%` when the ratio is a whole percentage, else `2/3`; never a rounded lie."""
    percent = value * 100
    if percent.denominator == 1:
        return f"{percent.numerator}%"
    return f"{value.numerator}/{value.denominator}"
