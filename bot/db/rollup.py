"""The monthly contribution rollup: kept in step with the ledger, read by long tallies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import upsert
from bot.db.models import Contribution, ContributionMonth

# The ledger's kinds and the rollup's column for each.
KIND_COLUMNS: Final = {"hours": "hours_cents", "points": "points_cents", "kudos": "kudos_cents"}


def month_of(moment: datetime) -> int:
    """The UTC calendar month as an integer: 202611 for any time in November 2026 (UTC)."""
    utc = moment.astimezone(UTC)
    return utc.year * 100 + utc.month


def month_start(month: int) -> datetime:
    return datetime(month // 100, month % 100, 1, tzinfo=UTC)


def next_month(month: int) -> int:
    year, number = divmod(month, 100)
    return (year + 1) * 100 + 1 if number == 12 else month + 1


def entry_cents(amount: Decimal) -> int:
    """Whole cents, rounded as the ledger sums round them (`ROUND(amount * 100)`)."""
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


async def add_entry(session: AsyncSession, entry: Contribution) -> None:
    """Add a new ledger entry to its month's row, in the caller's transaction: one atomic
    upsert, so concurrent entries for the same member and month both count."""
    column = KIND_COLUMNS[entry.kind]
    values = {
        "coop_id": entry.coop_id,
        "month": month_of(entry.created_at),
        "member_id": entry.member_id,
        **dict.fromkeys(KIND_COLUMNS.values(), 0),
        column: entry_cents(entry.amount),
    }
    dialect = session.get_bind().dialect.name
    statement = upsert.insert(dialect, ContributionMonth).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["coop_id", "month", "member_id"],
            set_={column: getattr(ContributionMonth, column) + statement.excluded[column]},
        )
    )
