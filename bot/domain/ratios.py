"""Exact ratios written by people: `2/3`, `66%`, `0.75`, how to store and how to show them."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Final

from bot.errors import UserError

# The longest way to write a ratio people use (`66.6667 %`); anything longer is refused
# unread, so a ratio can never be a thousand-digit number someone pasted.
RATIO_TEXT_MAX: Final = 16
# ASCII digits only, each part short: the Fraction built from a match is always small.
_RATIO: Final = re.compile(
    r"""(?:
        (?P<pct>[0-9]{1,3}(?:\.[0-9]{1,4})?)[ ]*%
      | (?P<num>[0-9]{1,4})[ ]*/[ ]*(?P<den>[0-9]{1,4})
      | (?P<dec>[0-9]{1,3}(?:\.[0-9]{1,6})?)
    )""",
    re.VERBOSE,
)
# What `ratio_text` writes and the stored rows hold: `0`, `1`, `1/2`, `33/50`. A stored
# ratio came from a human one, so its parts are short; the bound keeps reading it cheap.
_STORED: Final = re.compile(r"(?P<num>[0-9]{1,40})(?:/(?P<den>[0-9]{1,40}))?")


def parse_ratio(text: str, *, what: str, example: str) -> Fraction:
    """Read `66%`, `2/3` or `0.75` as an exact Fraction in [0, 1].

    `what` names the setting in the error (`quorum`), `example` shows a right way (`quorum:50%`)."""
    raw = text.strip()
    hint = f"for example `{example}`"
    if len(raw) > RATIO_TEXT_MAX:
        raise UserError(
            f"a {what} is a short share like 50% or 2/3, not {len(raw)} characters", hint
        )
    match = _RATIO.fullmatch(raw)
    if match is None:
        raise UserError(f"I can't read {raw!r} as a {what}", hint)
    if match["pct"] is not None:
        value = Fraction(Decimal(match["pct"])) / 100
    elif match["num"] is not None:
        denominator = int(match["den"])
        if denominator == 0:
            raise UserError(f"a {what} can't divide by zero", hint)
        value = Fraction(int(match["num"]), denominator)
    else:
        value = Fraction(Decimal(match["dec"]))
    if value > 1:
        raise UserError(f"a {what} can't be more than 100% (got {raw})", hint)
    return value


def ratio_text(value: Fraction) -> str:
    """The stored form of a ratio: the exact fraction in lowest terms (`1/2`, `33/50`, `0`)."""
    return str(value)


def read_stored_ratio(text: object) -> Fraction | None:
    """A ratio as `ratio_text` stored it, or None when the text is not in that form. Reading
    it is bounded, so a stored row can never cost more than a human-typed ratio."""
    if not isinstance(text, str) or len(text) > 81:
        return None
    match = _STORED.fullmatch(text)
    if match is None:
        return None
    denominator = int(match["den"]) if match["den"] is not None else 1
    if denominator == 0:
        return None
    value = Fraction(int(match["num"]), denominator)
    return value if value <= 1 else None


def format_ratio(value: Fraction) -> str:
    """`50%` when the ratio is a whole percentage, else `2/3`; never a rounded lie."""
    percent = value * 100
    if percent.denominator == 1:
        return f"{percent.numerator}%"
    return f"{value.numerator}/{value.denominator}"
