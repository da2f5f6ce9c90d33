"""The ledger: members log hours and thank each other; the tally adds it up per member."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Contribution, Coop, Member
from bot.domain.patronage import Weights
from bot.domain.periods import parse_period
from bot.errors import UserError
from bot.services import contributions
from bot.services.context import Context
from tests.support import say, setup_coop


@asynccontextmanager
async def acting_as(core: Core, name: str) -> AsyncIterator[Context]:
    """A service-level unit of work for member `name`, committed at the end."""
    async with core.sessions() as session, session.begin():
        member = await session.scalar(select(Member).where(Member.name == name))
        assert member is not None
        coop = await session.get(Coop, member.coop_id)
        yield Context(
            session=session, clock=core.clock, settings=core.settings, coop=coop, actor=member
        )


async def _ledger(core: Core) -> list[tuple[str, str, Decimal, str | None]]:
    """(member, kind, amount, giver) of every entry, in order."""
    async with core.sessions() as session:
        rows = (await session.scalars(select(Contribution).order_by(Contribution.id))).all()
        names = {m.id: m.name for m in (await session.scalars(select(Member))).all()}
    return [
        (names[r.member_id], r.kind, r.amount, names[r.giver_id] if r.giver_id else None)
        for r in rows
    ]


async def test_bob_logs_hours_with_a_note_and_category(core: Core) -> None:
    await setup_coop(core)
    reply = await say(core, "bob", "!log 2.5 fixed the gate category:Workshop")
    assert "Logged 2.5 h for @bob (entry 1) — fixed the gate [workshop]" in reply
    assert "Logged 1 h for @bob (entry 2)" in await say(core, "bob", "!log 1")
    assert await _ledger(core) == [
        ("bob", "hours", Decimal("2.5"), None),
        ("bob", "hours", Decimal(1), None),
    ]
    async with core.sessions() as session:
        first = await session.get(Contribution, 1)
        assert first is not None
        assert (first.note, first.category) == ("fixed the gate", "workshop")


@pytest.mark.parametrize("hours", ["0", "-1", "24.01", "abc", "2.555"])
async def test_log_refuses_hours_out_of_bounds(core: Core, hours: str) -> None:
    await setup_coop(core)
    reply = await say(core, "bob", f"!log {hours} something")
    assert "hours" in reply.lower() and "!log" in reply, reply
    assert await _ledger(core) == []


async def test_log_bounds_at_the_service(core: Core) -> None:
    await setup_coop(core)
    for bad in ("abc", "0", "-1", "24.01", "NaN", Decimal("Infinity")):
        with pytest.raises(UserError):
            async with acting_as(core, "bob") as ctx:
                await contributions.log_hours(ctx, bad)
    async with acting_as(core, "bob") as ctx:
        entry = await contributions.log_hours(ctx, "24", "a long day")
        assert entry.amount == Decimal(24)
    assert "Logged 0.25 h" in await say(core, "bob", "!log 0.25")
    assert len(await _ledger(core)) == 2


async def test_non_members_cannot_log(core: Core) -> None:
    await setup_coop(core)
    assert "Only members" in await say(core, "mallory", "!log 3 sneaky")
    assert await _ledger(core) == []


async def test_kudos_thanks_someone_else_never_yourself(core: Core) -> None:
    await setup_coop(core)
    refused = await say(core, "bob", "!kudos @bob well done me")
    assert "You can't give kudos to yourself" in refused
    thanked = await say(core, "bob", "!kudos @carol points:2 thanks for the newsletter")
    assert "@bob thanks @carol: +2 kudos (entry 1)" in thanked
    assert "thanks for the newsletter" in thanked
    assert "18 of 20 kudos points left to give this week" in thanked
    assert "Logged" not in await say(core, "bob", "!kudos @carol points:6 too much")
    assert "1 to 5 points" in await say(core, "bob", "!kudos @carol points:6 too much")
    assert "not a member" in await say(core, "bob", "!kudos @zed thanks")
    assert "+1 kudos" in await say(core, "carol", "!kudos @bob right back")
    assert await _ledger(core) == [
        ("carol", "kudos", Decimal(2), "bob"),
        ("bob", "kudos", Decimal(1), "carol"),
    ]


async def test_kudos_weekly_cap_resets_on_monday_in_the_coop_timezone(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    # Auckland is 13 hours ahead in November: its Monday starts on Sunday 11:00 UTC.
    await say(core, "alice", "!coop settings timezone:Pacific/Auckland kudos_per_week:12")
    clock.set(datetime(2026, 11, 19, 12, 0, tzinfo=UTC))
    for _ in range(2):
        assert "+5 kudos" in await say(core, "bob", "!kudos @carol points:5 great work")
    over = await say(core, "bob", "!kudos @alice points:3 thanks")
    assert "You can give 12 kudos points a week; you have given 10 this week" in over
    assert "points:2" in over
    assert "+2 kudos" in await say(core, "bob", "!kudos @alice points:2 thanks")
    assert "so 0 are left" in await say(core, "bob", "!kudos @alice thanks")

    clock.set(datetime(2026, 11, 22, 10, 59, tzinfo=UTC))  # still Sunday in Auckland
    assert "0 are left" in await say(core, "bob", "!kudos @alice thanks")
    clock.set(datetime(2026, 11, 22, 11, 0, tzinfo=UTC))  # Monday 00:00 in Auckland
    assert "+1 kudos" in await say(core, "bob", "!kudos @alice thanks")
    given = [row for row in await _ledger(core) if row[3] == "bob"]
    assert sum(row[2] for row in given) == 13


async def test_simultaneous_kudos_cannot_outrun_the_cap(core: Core) -> None:
    import asyncio

    await setup_coop(core)
    await say(core, "alice", "!coop settings kudos_per_week:10")
    replies = await asyncio.gather(
        *(say(core, "bob", f"!kudos @carol points:4 thanks {n}") for n in range(4))
    )
    assert sum("+4 kudos" in r for r in replies) == 2, replies
    assert sum(row[2] for row in await _ledger(core)) == 8


async def _week_of_work(core: Core) -> None:
    """Week 47: bob logs 2.5 h and finishes a 3-point task, carol logs 1 h and gets 3 kudos."""
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "bob", "!log 2.5 fixed the gate")
    await say(core, "alice", "!task add Newsletter points:3")
    await say(core, "bob", "!task done 1")
    await say(core, "carol", "!log 1 cleaning")
    await say(core, "bob", "!kudos @carol points:3 thanks")


async def test_tally_shows_last_weeks_totals_and_shares_largest_first(
    core: Core, clock: ManualClock
) -> None:
    await _week_of_work(core)
    clock.advance(timedelta(days=7))  # Monday of week 48: "week" is week 47
    tally = await say(core, "dan", "!tally")
    lines = tally.splitlines()
    assert lines[0] == "Contributions — Week 47 (16–22 Nov 2026)"
    assert lines[1].split() == ["member", "hours", "task", "pts", "kudos", "weighted", "share"]
    assert lines[2].split() == ["@bob", "2.5", "3", "0", "5.5", "84.6%"]
    assert lines[3].split() == ["@carol", "1", "0", "3", "1", "15.4%"]
    assert "hours × 1 + task points × 1 + kudos × 0" in lines[4]

    only = await say(core, "dan", "!tally member:@carol")
    assert "@carol" in only and "@bob" not in only and "15.4%" in only
    assert "No contributions from @dan in Week 47" in await say(core, "dan", "!tally member:@dan")
    assert "No contributions in Week 48" in await say(core, "dan", "!tally period:2026-W48")
    assert "I don't know the period" in await say(core, "dan", "!tally period:fortnight")


async def test_tally_rows_is_reusable_with_its_own_weights(core: Core, clock: ManualClock) -> None:
    await _week_of_work(core)
    async with core.sessions() as session:
        coop = await session.scalar(select(Coop))
        assert coop is not None
        week = parse_period("2026-W47", ZoneInfo("UTC"), clock.now())
        # Kudos weigh 2 here: carol's 1 h + 3 kudos × 2 = 7 beats bob's 2.5 h + 3 points.
        rows = await contributions.tally_rows(
            session, coop.id, week.start, week.end, Weights(Decimal(1), Decimal(1), Decimal(2))
        )
    assert [(r.member.name, r.weighted, r.share) for r in rows] == [
        ("carol", Fraction(7), Fraction(14, 25)),
        ("bob", Fraction(11, 2), Fraction(11, 25)),
    ]
    assert (rows[0].hours, rows[0].points, rows[0].kudos) == (Decimal(1), Decimal(0), Decimal(3))
    assert (rows[1].hours, rows[1].points, rows[1].kudos) == (
        Decimal("2.5"),
        Decimal(3),
        Decimal(0),
    )
