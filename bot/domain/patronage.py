"""Patronage (SPEC §6): weighted contribution totals and an exact split of a surplus to cents."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final, Generic, TypeVar

from bot.domain.limits import MONEY_MAX
from bot.domain.numbers import decimal_number
from bot.domain.ratios import parse_ratio
from bot.errors import UserError

K = TypeVar("K", bound=Hashable)

CENT: Final = Decimal("0.01")


@dataclass(frozen=True)
class Weights:
    """The patronage formula hours × w_hours + task points × w_points + kudos × w_kudos."""

    hours: Decimal = Decimal(1)
    points: Decimal = Decimal(1)
    kudos: Decimal = Decimal(0)

    @classmethod
    def of(
        cls,
        hours: float | str | Decimal,
        points: float | str | Decimal,
        kudos: float | str | Decimal,
    ) -> Weights:
        """Weights from config values; a float goes through its shortest text (0.1 → 0.1)."""
        return cls(Decimal(str(hours)), Decimal(str(points)), Decimal(str(kudos)))


def weighted_total(
    hours: Decimal | int, points: Decimal | int, kudos: Decimal | int, weights: Weights
) -> Fraction:
    """One member's weighted contribution, exactly."""
    return (
        Fraction(hours) * Fraction(weights.hours)
        + Fraction(points) * Fraction(weights.points)
        + Fraction(kudos) * Fraction(weights.kudos)
    )


def shares(contributions: Mapping[K, Fraction | Decimal | int]) -> dict[K, Fraction]:
    """Each key's exact share of the total (all zero when the total is zero)."""
    total = sum((Fraction(v) for v in contributions.values()), Fraction(0))
    if total == 0:
        return dict.fromkeys(contributions, Fraction(0))
    return {key: Fraction(value) / total for key, value in contributions.items()}


def parse_money(text: str) -> Decimal:
    """An amount like `1200`, `1200.5` or `1200.50`: positive, at most 2 decimals, bounded."""
    raw = text.strip()
    hint = "for example `!patronage 1200.50 period:year`"
    amount = decimal_number(raw, max_digits=13, max_places=2, signed=False)
    if amount is None:
        raise UserError(
            f"I can't read {raw[:40]!r} as an amount: digits with at most 2 decimals", hint
        )
    if amount <= 0:
        raise UserError("the amount must be more than 0", hint)
    if amount > MONEY_MAX:
        raise UserError(f"the amount can be at most {MONEY_MAX:,}", hint)
    return amount.quantize(CENT)


def parse_reserve_share(text: str) -> Fraction:
    """The share of a surplus kept in reserve: `0`, `10%`, `1/4`; below 100%, since a
    reserve of everything would leave nothing to split."""
    value = parse_ratio(text, what="reserve share", example="reserve_share:10%")
    if value >= 1:
        raise UserError(
            f"a reserve share must be below 100% (got {text.strip()})",
            "for example `reserve_share:10%`",
        )
    return value


@dataclass(frozen=True)
class PatronageSplit(Generic[K]):
    """A surplus split: the reserve plus one allocation per member, summing to the surplus."""

    surplus: Decimal
    reserve: Decimal
    allocations: dict[K, Decimal]

    @property
    def distributed(self) -> Decimal:
        return self.surplus - self.reserve


def split_surplus(
    surplus: Decimal,
    reserve_share: Fraction,
    contributions: Mapping[K, Fraction | Decimal | int],
) -> PatronageSplit[K]:
    """Split `surplus` (cents) into a reserve and allocations proportional to contributions.

    The reserve is its share rounded to the nearest cent (halves up). The rest is divided
    by largest remainder: everyone gets their exact share rounded down, then the leftover
    cents go one each to the largest fractional parts; equal fractions favour the larger
    contribution, then the earlier key in `contributions` (so pass members in a stable order).
    """
    if surplus <= 0 or surplus != surplus.quantize(CENT):
        raise ValueError(f"surplus must be a positive amount in cents, got {surplus}")
    if not 0 <= reserve_share <= 1:
        raise ValueError(f"reserve share must be within 0..1, got {reserve_share}")
    exact = {key: Fraction(value) for key, value in contributions.items()}
    negative = [value for value in exact.values() if value < 0]
    if negative:
        raise UserError(
            f"a member's contribution total is negative ({float(negative[0]):g}); "
            "correct the ledger first"
        )

    reserve = surplus * Decimal(reserve_share.numerator) / Decimal(reserve_share.denominator)
    reserve = reserve.quantize(CENT, rounding=ROUND_HALF_UP)
    cents = int((surplus - reserve) / CENT)
    total = sum(exact.values(), Fraction(0))
    if cents and total == 0:
        raise UserError(
            "nobody has a weighted contribution in this period, so there is nothing to split by",
            "pick a period with logged hours or task points, for example `period:year`",
        )
    if not cents:
        return PatronageSplit(surplus, reserve, dict.fromkeys(exact, Decimal("0.00")))

    quotas = {key: cents * value / total for key, value in exact.items()}
    base = {key: math.floor(quota) for key, quota in quotas.items()}
    leftover = cents - sum(base.values())
    order = {key: position for position, key in enumerate(exact)}
    ranked = sorted(exact, key=lambda key: (-(quotas[key] - base[key]), -exact[key], order[key]))
    for key in ranked[:leftover]:
        base[key] += 1
    allocations = {key: (Decimal(base[key]) * CENT).quantize(CENT) for key in exact}
    return PatronageSplit(surplus, reserve, allocations)
