"""The contribution ledger: logging hours, giving kudos, and tallying a period per member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import BigInteger, ColumnElement, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contribution, Member
from bot.domain.limits import (
    KUDOS_DEFAULT,
    NOTE_MAX,
    check_hours,
    check_kudos_points,
    check_text,
)
from bot.domain.numbers import decimal_number
from bot.domain.patronage import Weights, weighted_total
from bot.domain.periods import Period, current_week, parse_period
from bot.errors import UserError
from bot.services.context import Context
from bot.services.members import find_member

CATEGORY_MAX = 50
DEFAULT_TALLY_PERIOD = "week"
CENTS = Decimal(100)


def _sum_cents() -> ColumnElement[int]:
    """Sum amounts as whole cents: SQLite keeps NUMERIC as floating point, and adding
    integers keeps the total exact there as on PostgreSQL."""
    return func.coalesce(func.sum(cast(func.round(Contribution.amount * 100), BigInteger)), 0)


@dataclass(frozen=True)
class TallyRow:
    """One member's totals for a period; `share` is of everyone's weighted total."""

    member: Member
    hours: Decimal
    points: Decimal
    kudos: Decimal
    weighted: Fraction
    share: Fraction


@dataclass(frozen=True)
class Tally:
    period: Period
    weights: Weights
    rows: list[TallyRow]
    total: Fraction
    only: Member | None = None


@dataclass(frozen=True)
class Kudos:
    entry: Contribution
    giver: Member
    receiver: Member
    given_this_week: int
    weekly_limit: int


def weights_of(ctx: Context) -> Weights:
    hours, points, kudos = ctx.config.weights
    return Weights(hours, points, kudos)


def _hours(value: Decimal | str, prefix: str) -> Decimal:
    hint = f"for example `{prefix}log 2.5 fixed the gate`"
    if isinstance(value, Decimal):
        return check_hours(value)
    parsed = decimal_number(value, comma=True)
    if parsed is None:
        raise UserError(f"I can't read `{value.strip()[:40]}` as hours", hint)
    return check_hours(parsed)


async def log_hours(
    ctx: Context, hours: Decimal | str, note: str | None = None, category: str | None = None
) -> Contribution:
    """Append an hours entry for the actor: 0 < hours ≤ 24."""
    coop = ctx.require_coop()
    member = ctx.require_actor()
    amount = _hours(hours, ctx.prefix)
    note_text = check_text("note", note, NOTE_MAX) if note and note.strip() else ""
    category_text = (
        check_text("category", category, CATEGORY_MAX).lower()
        if category and category.strip()
        else None
    )
    entry = Contribution(
        coop_id=coop.id,
        member_id=member.id,
        kind="hours",
        amount=amount,
        note=note_text,
        category=category_text,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(entry)
    await ctx.session.flush()
    ctx.audit(
        "contribution.log", f"contribution:{entry.id}", hours=str(amount), category=category_text
    )
    return entry


async def kudos_given(
    session: AsyncSession, coop_id: int, giver_id: int, start: datetime, end: datetime
) -> int:
    cents = await session.scalar(
        select(_sum_cents()).where(
            Contribution.coop_id == coop_id,
            Contribution.kind == "kudos",
            Contribution.giver_id == giver_id,
            Contribution.created_at >= start,
            Contribution.created_at < end,
        )
    )
    return int(cents or 0) // 100


async def give_kudos(ctx: Context, token: str, note: str, points: int | None = None) -> Kudos:
    """The actor thanks another member: 1–5 points, at most `kudos_per_week` points given
    per ISO week (Monday first, in the co-op's timezone)."""
    coop = ctx.require_coop()
    giver = ctx.require_actor()
    amount = check_kudos_points(KUDOS_DEFAULT if points is None else points)
    receiver = await find_member(ctx, token)
    if receiver.id == giver.id:
        raise UserError(
            "You can't give kudos to yourself",
            f"thank someone else, for example `{ctx.prefix}kudos @bob thanks for the help`",
        )
    note_text = check_text("note", note, NOTE_MAX)
    # Lock the giver so two kudos sent at once cannot both fit under the weekly limit.
    await ctx.session.execute(select(Member.id).where(Member.id == giver.id).with_for_update())
    now = ctx.clock.now()
    week = current_week(ctx.config.timezone, now)
    given = await kudos_given(ctx.session, coop.id, giver.id, week.start, week.end)
    limit = ctx.config.kudos_per_week
    if given + amount > limit:
        left = max(0, limit - given)
        raise UserError(
            f"You can give {limit} kudos points a week; you have given {given} this week, "
            f"so {left} {'is' if left == 1 else 'are'} left",
            "the allowance starts again on Monday"
            if left == 0
            else f"give fewer, e.g. `points:{left}`",
        )
    entry = Contribution(
        coop_id=coop.id,
        member_id=receiver.id,
        kind="kudos",
        amount=Decimal(amount),
        note=note_text,
        giver_id=giver.id,
        created_at=now,
    )
    ctx.session.add(entry)
    await ctx.session.flush()
    ctx.audit("contribution.kudos", f"contribution:{entry.id}", to=receiver.id, points=amount)
    return Kudos(entry, giver, receiver, given + amount, limit)


async def tally_rows(
    session: AsyncSession, coop_id: int, start: datetime, end: datetime, weights: Weights
) -> list[TallyRow]:
    """Per member with any entry in [start, end): hours, task points, kudos, weighted total
    and share of everyone's weighted total; sorted by weighted total, then name."""
    sums = (
        await session.execute(
            select(Contribution.member_id, Contribution.kind, _sum_cents())
            .where(
                Contribution.coop_id == coop_id,
                Contribution.created_at >= start,
                Contribution.created_at < end,
            )
            .group_by(Contribution.member_id, Contribution.kind)
        )
    ).all()
    per_member: dict[int, dict[str, Decimal]] = {}
    for member_id, kind, cents in sums:
        per_member.setdefault(member_id, {})[kind] = Decimal(int(cents or 0)) / CENTS
    if not per_member:
        return []
    members = {
        m.id: m for m in await session.scalars(select(Member).where(Member.id.in_(per_member)))
    }
    weighted: dict[int, Fraction] = {}
    for member_id, kinds in per_member.items():
        weighted[member_id] = weighted_total(
            kinds.get("hours", Decimal(0)),
            kinds.get("points", Decimal(0)),
            kinds.get("kudos", Decimal(0)),
            weights,
        )
    total = sum(weighted.values(), Fraction(0))
    rows = [
        TallyRow(
            member=members[member_id],
            hours=kinds.get("hours", Decimal(0)),
            points=kinds.get("points", Decimal(0)),
            kudos=kinds.get("kudos", Decimal(0)),
            weighted=weighted[member_id],
            share=weighted[member_id] / total if total else Fraction(0),
        )
        for member_id, kinds in per_member.items()
    ]
    rows.sort(key=_tally_order)
    return rows


def _tally_order(row: TallyRow) -> tuple[Fraction, Decimal, str, int]:
    return (-row.weighted, -row.hours, row.member.name.lower(), row.member.id)


def resolve_period(ctx: Context, text: str | None, default: str) -> Period:
    return parse_period(text or default, ctx.config.timezone, ctx.clock.now())


async def tally(ctx: Context, period: str | None = None, member_token: str | None = None) -> Tally:
    """`tally [period:] [member:@x]`: the period's rows, optionally just one member's."""
    coop = ctx.require_coop()
    window = resolve_period(ctx, period, DEFAULT_TALLY_PERIOD)
    weights = weights_of(ctx)
    rows = await tally_rows(ctx.session, coop.id, window.start, window.end, weights)
    total = sum((r.weighted for r in rows), Fraction(0))
    only = await find_member(ctx, member_token) if member_token else None
    if only is not None:
        rows = [r for r in rows if r.member.id == only.id]
    return Tally(window, weights, rows, total, only)
