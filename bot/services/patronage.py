"""Patronage (SPEC §6): splitting a surplus by each member's weighted contribution."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from bot.domain.patronage import PatronageSplit, Weights, parse_money, split_surplus
from bot.domain.periods import Period
from bot.errors import UserError
from bot.services.context import Context
from bot.services.contributions import TallyRow, resolve_period, tally_rows, weights_of

DEFAULT_PATRONAGE_PERIOD = "year"


@dataclass(frozen=True)
class Patronage:
    """A computed split: the period, the rows it was computed from, and the money."""

    period: Period
    weights: Weights
    reserve_share: Fraction
    rows: list[TallyRow]
    split: PatronageSplit[int]

    def allocation(self, row: TallyRow) -> Decimal:
        return self.split.allocations[row.member.id]


async def patronage(ctx: Context, surplus: Decimal | str, period: str | None = None) -> Patronage:
    """Keep the configured reserve share, then give each member with contributions in the
    period a part proportional to their weighted total, in exact cents."""
    coop = ctx.require_coop()
    # Read as text so that `1200.001` is refused instead of silently rounded.
    amount = parse_money(format(surplus, "f") if isinstance(surplus, Decimal) else surplus)
    window = resolve_period(ctx, period, DEFAULT_PATRONAGE_PERIOD)
    weights = weights_of(ctx)
    rows = await tally_rows(ctx.session, coop.id, window.start, window.end, weights)
    if not any(r.weighted > 0 for r in rows):
        raise UserError(
            f"Nobody has a weighted contribution in {window.label}; there is nothing to split by",
            f"pick a period with logged hours or task points, e.g. "
            f"`{ctx.prefix}patronage {amount} period:all`",
        )
    reserve_share = ctx.config.reserve_share
    split = split_surplus(amount, reserve_share, {r.member.id: r.weighted for r in rows})
    # The split changes no state, but a steward's money calculation is worth a record.
    ctx.audit(
        "patronage.split",
        f"period:{window.label}"[:100],
        surplus=str(amount),
        reserve=str(split.reserve),
        members=len(rows),
    )
    return Patronage(window, weights, reserve_share, rows, split)
