"""The contribution ledger: logging hours, giving kudos, and tallying a period per member."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    case,
    cast,
    func,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db import rollup
from bot.db.models import Contribution, ContributionMonth, Member
from bot.domain.kudos import check_kudos_allowance
from bot.domain.limits import (
    KUDOS_DEFAULT,
    NOTE_MAX,
    check_hours,
    check_kudos_points,
    check_text,
)
from bot.domain.numbers import decimal_number
from bot.domain.patronage import Weights
from bot.domain.periods import Period, current_week, parse_period
from bot.errors import UserError
from bot.services.context import Context
from bot.services.members import find_member

CATEGORY_MAX = 50
DEFAULT_TALLY_PERIOD = "week"
CENTS = Decimal(100)
# Rows of one tally reply; the rest are on further pages and in the attached CSV.
TALLY_PAGE_SIZE = 25


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
    """One page of a period's tally. `rows` are the page's rows (ranks `first_rank`…),
    `own` the asker's rank and row when it is not on this page, `count` the members with
    any entry, `totals` everyone's hours, task points and kudos, `table` every line (for a
    full download)."""

    period: Period
    weights: Weights
    rows: list[TallyRow]
    total: Fraction
    only: Member | None = None
    page: int = 1
    pages: int = 1
    first_rank: int = 1
    count: int = 0
    own: tuple[int, TallyRow] | None = None
    table: TallyLines | None = None
    totals: tuple[Decimal, Decimal, Decimal] = (Decimal(0), Decimal(0), Decimal(0))
    asked: str = DEFAULT_TALLY_PERIOD  # the period as asked, for the next page's command


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
    await rollup.add_entry(ctx.session, entry)
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
    # Lock the giver so two kudos sent at once cannot both fit under the weekly limit
    # (PostgreSQL; SQLite serialises writers anyway).
    if ctx.session.get_bind().dialect.name != "sqlite":
        await ctx.session.execute(select(Member.id).where(Member.id == giver.id).with_for_update())
    now = ctx.clock.now()
    week = current_week(ctx.config.timezone, now)
    given = await kudos_given(ctx.session, coop.id, giver.id, week.start, week.end)
    limit = ctx.config.kudos_per_week
    given_now = check_kudos_allowance(given, amount, limit)
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
    await rollup.add_entry(ctx.session, entry)
    ctx.audit("contribution.kudos", f"contribution:{entry.id}", to=receiver.id, points=amount)
    return Kudos(entry, giver, receiver, given_now, limit)


class TallyLine(NamedTuple):
    """One member's period totals as exact integers: amounts in cents, `scaled` the weighted
    total times `TallyLines.scale` (so sorting and sums need no Fractions). A tuple: a tally
    builds one per member (10,000 at the goal size), at the cost of a tuple each."""

    member_id: int
    name: str
    hours_cents: int
    points_cents: int
    kudos_cents: int
    scaled: int

    @property
    def hours(self) -> Decimal:
        return Decimal(self.hours_cents) / CENTS

    @property
    def points(self) -> Decimal:
        return Decimal(self.points_cents) / CENTS

    @property
    def kudos(self) -> Decimal:
        return Decimal(self.kudos_cents) / CENTS


@dataclass(frozen=True)
class TallyLines:
    """Every member's line for a period in tally order, and the exact grand totals."""

    lines: list[TallyLine]
    scale: int  # weighted = scaled / scale
    total_scaled: int

    @property
    def total(self) -> Fraction:
        return Fraction(self.total_scaled, self.scale)

    def weighted(self, line: TallyLine) -> Fraction:
        return Fraction(line.scaled, self.scale)

    def share(self, line: TallyLine) -> Fraction:
        if not self.total_scaled:
            return Fraction(0)
        return Fraction(line.scaled, self.total_scaled)


def _integer_weights(weights: Weights) -> tuple[int, int, int, int]:
    """(w_hours, w_points, w_kudos, denominator): the weights as integers over one common
    denominator, so that weighted totals of integer cents stay integers."""
    exact = [Fraction(weights.hours), Fraction(weights.points), Fraction(weights.kudos)]
    denominator = math.lcm(*(w.denominator for w in exact))
    hours, points, kudos = (int(w * denominator) for w in exact)
    return hours, points, kudos, denominator


def _kind_cents(kind: str) -> ColumnElement[int]:
    cents = cast(func.round(Contribution.amount * 100), BigInteger)
    return case((Contribution.kind == kind, cents), else_=0)


def _entries(coop_id: int, start: datetime, end: datetime) -> Select[int, int, int, int]:
    """(member, hours, points, kudos) in cents, one row per ledger entry in [start, end)."""
    return select(
        Contribution.member_id.label("member_id"),
        _kind_cents("hours").label("hours"),
        _kind_cents("points").label("points"),
        _kind_cents("kudos").label("kudos"),
    ).where(
        Contribution.coop_id == coop_id,
        Contribution.created_at >= start,
        Contribution.created_at < end,
    )


def _entries_per_member(coop_id: int, start: datetime, end: datetime) -> Select[int, int, int, int]:
    """`_entries` summed per member."""
    rows = _entries(coop_id, start, end).subquery()
    return select(
        rows.c.member_id,
        func.sum(rows.c.hours).label("hours"),
        func.sum(rows.c.points).label("points"),
        func.sum(rows.c.kudos).label("kudos"),
    ).group_by(rows.c.member_id)


def _months_per_member(coop_id: int, first: int, last: int) -> Select[int, int, int, int]:
    """The rollup's months in [first, last) summed per member, read from the covering
    index ix_contribution_months_covering alone."""
    return (
        select(
            ContributionMonth.member_id.label("member_id"),
            func.sum(ContributionMonth.hours_cents).label("hours"),
            func.sum(ContributionMonth.points_cents).label("points"),
            func.sum(ContributionMonth.kudos_cents).label("kudos"),
        )
        .where(
            ContributionMonth.coop_id == coop_id,
            ContributionMonth.month >= first,
            ContributionMonth.month < last,
        )
        .group_by(ContributionMonth.member_id)
    )


def _period_cents(coop_id: int, start: datetime, end: datetime) -> Subquery:
    """(member, hours, points, kudos) rows whose sums are the period's: whole UTC months
    inside [start, end) from the monthly rollup, the partial months at either end from
    the ledger (each part summed per member already, so that the sum of the parts sorts
    at most a few rows per member)."""
    first = rollup.month_of(start)
    if rollup.month_start(first) < start:
        first = rollup.next_month(first)
    last = rollup.month_of(end)  # the month [last, …) is partial (or empty) at the end
    if first >= last:
        return _entries(coop_id, start, end).subquery()
    return union_all(
        _months_per_member(coop_id, first, last),
        _entries_per_member(coop_id, start, rollup.month_start(first)),
        _entries_per_member(coop_id, rollup.month_start(last), end),
    ).subquery()


async def tally_lines(
    session: AsyncSession,
    coop_id: int,
    start: datetime,
    end: datetime,
    weights: Weights,
) -> TallyLines:
    """Per member with any entry in [start, end): cents per kind summed in SQL (one row per
    member), weighted with exact integers; sorted by weighted total, then hours, then name."""
    rows = _period_cents(coop_id, start, end)
    per_member = (
        select(
            rows.c.member_id,
            func.sum(rows.c.hours).label("hours"),
            func.sum(rows.c.points).label("points"),
            func.sum(rows.c.kudos).label("kudos"),
        )
        .group_by(rows.c.member_id)
        .subquery()
    )
    found = await session.execute(
        select(
            per_member.c.member_id,
            Member.name,
            per_member.c.hours,
            per_member.c.points,
            per_member.c.kudos,
        ).join(Member, Member.id == per_member.c.member_id)
    )
    w_hours, w_points, w_kudos, denominator = _integer_weights(weights)
    lines = [
        TallyLine(member_id, name, h, p, k, h * w_hours + p * w_points + k * w_kudos)
        for member_id, name, h, p, k in (
            (member_id, name, int(h), int(p), int(k))
            for member_id, name, h, p, k in found.tuples().all()
        )
    ]
    lines.sort(key=lambda x: (-x.scaled, -x.hours_cents, x.name.lower(), x.member_id))
    return TallyLines(lines, 100 * denominator, sum(line.scaled for line in lines))


async def members_by_id(session: AsyncSession, ids: Collection[int]) -> dict[int, Member]:
    """The members with these ids, identities loaded (for mentions)."""
    if not ids:
        return {}
    found = await session.scalars(
        select(Member).where(Member.id.in_(ids)).options(selectinload(Member.identities))
    )
    return {m.id: m for m in found}


def tally_row(table: TallyLines, line: TallyLine, member: Member) -> TallyRow:
    return TallyRow(
        member=member,
        hours=line.hours,
        points=line.points,
        kudos=line.kudos,
        weighted=table.weighted(line),
        share=table.share(line),
    )


async def tally_rows(
    session: AsyncSession,
    coop_id: int,
    start: datetime,
    end: datetime,
    weights: Weights,
    limit: int | None = None,
) -> list[TallyRow]:
    """Per member with any entry in [start, end): hours, task points, kudos, weighted total
    and share of everyone's weighted total; sorted by weighted total, then name. With
    `limit`, only the first rows (the shares stay of everyone's total)."""
    table = await tally_lines(session, coop_id, start, end, weights)
    shown = table.lines if limit is None else table.lines[:limit]
    members = await members_by_id(session, [x.member_id for x in shown])
    return [tally_row(table, x, members[x.member_id]) for x in shown]


def resolve_period(ctx: Context, text: str | None, default: str) -> Period:
    return parse_period(text or default, ctx.config.timezone, ctx.clock.now())


async def tally(
    ctx: Context,
    period: str | None = None,
    member_token: str | None = None,
    page: int | None = None,
) -> Tally:
    """`tally [period:] [member:@x] [page:]`: one page of the period's rows (largest first),
    the asker's own row when it is on another page, and the totals."""
    coop = ctx.require_coop()
    window = resolve_period(ctx, period, DEFAULT_TALLY_PERIOD)
    weights = weights_of(ctx)
    only = await find_member(ctx, member_token) if member_token else None
    table = await tally_lines(ctx.session, coop.id, window.start, window.end, weights)
    # One member's row keeps its share of everyone's total.
    listed = table.lines if only is None else [x for x in table.lines if x.member_id == only.id]
    pages = max(1, -(-len(listed) // TALLY_PAGE_SIZE))
    wanted = 1 if page is None else page
    if not 1 <= wanted <= pages:
        raise UserError(
            f"There {'is' if pages == 1 else 'are'} {pages} page{'s' if pages != 1 else ''} "
            f"of the tally for {window.label}",
            f"for example `{ctx.prefix}tally period:{period or DEFAULT_TALLY_PERIOD} page:1`",
        )
    first = (wanted - 1) * TALLY_PAGE_SIZE
    shown = listed[first : first + TALLY_PAGE_SIZE]
    actor = ctx.actor
    own: tuple[int, TallyLine] | None = None
    if actor is not None and only is None and not any(x.member_id == actor.id for x in shown):
        own = next(
            ((rank, x) for rank, x in enumerate(table.lines, 1) if x.member_id == actor.id), None
        )
    members = await members_by_id(
        ctx.session, [x.member_id for x in shown] + ([own[1].member_id] if own else [])
    )
    return Tally(
        period=window,
        weights=weights,
        rows=[tally_row(table, x, members[x.member_id]) for x in shown],
        total=table.total,
        only=only,
        page=wanted,
        pages=pages,
        first_rank=first + 1,
        count=len(listed),
        own=None if own is None else (own[0], tally_row(table, own[1], members[own[1].member_id])),
        table=table,
        asked=(period or DEFAULT_TALLY_PERIOD).strip(),
        totals=(
            Decimal(sum(x.hours_cents for x in table.lines)) / CENTS,
            Decimal(sum(x.points_cents for x in table.lines)) / CENTS,
            Decimal(sum(x.kudos_cents for x in table.lines)) / CENTS,
        ),
    )
