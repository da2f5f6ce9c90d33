"""Bounded readers for the numbers people type: length and digits are checked on the text,
before any conversion to int or Decimal, so no input can cost more than a few microseconds."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

# No number a member needs is longer than this; anything longer is refused unread.
NUMBER_TEXT_MAX: Final = 24
WHOLE_DIGITS_MAX: Final = 9  # ids and counts: up to 999,999,999
DECIMAL_DIGITS_MAX: Final = 13  # money up to 10^13 before the point
DECIMAL_PLACES_MAX: Final = 6

# ASCII digits only: `\d` would also take Arabic-Indic, fullwidth or superscript digits, which
# `int` may read differently or refuse with an exception.
_WHOLE: Final = re.compile(rf"\+?([0-9]{{1,{WHOLE_DIGITS_MAX}}})")
_DECIMAL: Final = re.compile(
    rf"([+-]?[0-9]{{1,{DECIMAL_DIGITS_MAX}}})(?:[.,]([0-9]{{1,{DECIMAL_PLACES_MAX}}}))?"
)


def whole_number(text: str, *, max_digits: int = WHOLE_DIGITS_MAX) -> int | None:
    """`text` as a whole number ≥ 0 of at most `max_digits` ASCII digits (a leading `+` is
    allowed), or None when it is anything else. Longer text is never converted."""
    raw = text.strip()
    if len(raw) > min(NUMBER_TEXT_MAX, max_digits + 1):
        return None
    match = _WHOLE.fullmatch(raw)
    if match is None or len(match.group(1)) > max_digits:
        return None
    return int(match.group(1))


def decimal_number(
    text: str,
    *,
    max_digits: int = DECIMAL_DIGITS_MAX,
    max_places: int = DECIMAL_PLACES_MAX,
    comma: bool = False,
    signed: bool = True,
) -> Decimal | None:
    """`text` as a finite Decimal like `2.5`, `-3` or `1200.50`: at most `max_digits` digits
    before the point and `max_places` after it; no exponent, no NaN, no infinity. With
    `comma`, `2,5` is read as 2.5 (a comma followed by one or two digits, as much of the world
    writes it; three digits after a comma would be a thousands separator, so it is refused).
    Without `signed`, only unsigned digits. None for anything else; longer text is never
    converted."""
    raw = text.strip()
    if len(raw) > NUMBER_TEXT_MAX or (not signed and raw[:1] in ("+", "-")):
        return None
    match = _DECIMAL.fullmatch(raw)
    if match is None:
        return None
    whole, places = match.group(1), match.group(2)
    if len(whole.lstrip("+-")) > max_digits:
        return None
    if places is not None:
        separator = raw[len(whole)]
        if len(places) > max_places:
            return None
        if separator == "," and (not comma or len(places) > 2):
            return None
        return Decimal(f"{whole}.{places}")
    return Decimal(whole)
