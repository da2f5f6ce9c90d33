"""Long tallies read the monthly rollup: it is kept with every entry, built from existing
entries by the migration, and a tally with it equals the sum of the ledger itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Core
from bot.clock import ManualClock
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.db.models import Contribution, ContributionMonth, Coop
from bot.db.rollup import entry_cents, month_of
from bot.domain.patronage import Weights
from bot.domain.periods import parse_period
from bot.services import contributions
from tests.support import say, setup_coop

BERLIN = ZoneInfo("Europe/Berlin")
WEIGHTS = Weights(Decimal(1), Decimal("0.5"), Decimal("0.25"))


async def _ledger_sums(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Cents per member and kind in [start, end), straight from the ledger."""
    rows = (
        await session.execute(
            select(Contribution.member_id, Contribution.kind, Contribution.amount).where(
                Contribution.created_at >= start, Contribution.created_at < end
            )
        )
    ).all()
    sums: dict[str, dict[str, int]] = {}
    for member_id, kind, amount in rows:
        per = sums.setdefault(str(member_id), {})
        per[kind] = per.get(kind, 0) + entry_cents(amount)
    return sums


async def _work_across_months(core: Core, clock: ManualClock) -> None:
    """Entries over four months in Berlin time, some in the last UTC hour of a month (already
    the next month in Berlin), kudos and task points among them."""
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!coop settings timezone:Europe/Berlin")
    clock.set(datetime(2026, 8, 30, 12, tzinfo=UTC))
    tasks = 0
    for step in range(14):
        await say(core, "bob", f"!log {1 + step % 3}.25 step {step}")
        await say(core, "carol", f"!log 0.5 step {step}")
        if step % 4 == 0:
            await say(core, "dan", f"!kudos @carol points:2 step {step}")
        if step % 5 == 0:
            await say(core, "alice", f"!task add Job {step} points:{1 + step % 3}")
            tasks += 1
            assert "claimed" in await say(core, "dan", f"!task claim {tasks}")
            assert "done" in await say(core, "dan", f"!task done {tasks}")
        # Next stop: alternate between a month's last UTC hour and a week later.
        clock.set(datetime(2026, 9 + step // 4, 30, 23, 30, tzinfo=UTC) if step % 2 else
                  clock.now() + timedelta(days=7, hours=5))  # fmt: skip
        if clock.now() >= datetime(2026, 12, 20, tzinfo=UTC):
            break
    clock.set(datetime(2026, 12, 28, 9, tzinfo=UTC))


async def test_the_rollup_holds_each_months_sums_of_the_ledger(
    core: Core, clock: ManualClock
) -> None:
    await _work_across_months(core, clock)
    async with core.sessions() as session:
        entries = (await session.scalars(select(Contribution))).all()
        stored = {
            (r.month, r.member_id, kind): cents
            for r in (await session.scalars(select(ContributionMonth))).all()
            for kind, cents in (
                ("hours", r.hours_cents),
                ("points", r.points_cents),
                ("kudos", r.kudos_cents),
            )
            if cents
        }
    expected: dict[tuple[int, int, str], int] = {}
    for e in entries:
        key = (month_of(e.created_at), e.member_id, e.kind)
        expected[key] = expected.get(key, 0) + entry_cents(e.amount)
    assert stored == expected
    assert {kind for _, _, kind in stored} == {"hours", "kudos", "points"}
    assert len({month for month, _, _ in stored}) >= 4


async def test_tallies_over_months_equal_the_ledgers_sums(core: Core, clock: ManualClock) -> None:
    await _work_across_months(core, clock)
    async with core.sessions() as session:
        coop = await session.scalar(select(Coop))
        assert coop is not None
        for text_period in ("all", "year", "2026", "2026-Q4", "2026-Q3", "2026-10", "2026-11",
                            "2026-W49", "month", "quarter"):  # fmt: skip
            period = parse_period(text_period, BERLIN, clock.now())
            lines = await contributions.tally_lines(
                session, coop.id, period.start, period.end, WEIGHTS
            )
            want = await _ledger_sums(session, period.start, period.end)
            got = {
                str(x.member_id): {
                    k: v
                    for k, v in (
                        ("hours", x.hours_cents),
                        ("points", x.points_cents),
                        ("kudos", x.kudos_cents),
                    )
                    if v
                }
                for x in lines.lines
            }
            assert got == want, text_period
            for x in lines.lines:
                # weighted = hours + points / 2 + kudos / 4, exactly
                assert lines.weighted(x) * 100 == (
                    x.hours_cents + Decimal(x.points_cents) / 2 + Decimal(x.kudos_cents) / 4
                )


async def test_the_migration_rolls_up_existing_entries(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0004")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO coops (id, name, created_at, settings, next_decision_number, "
                    "next_task_number) VALUES (1, 'Kept', '2026-11-16 09:00:00', '{}', 1, 1)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO members (id, coop_id, name, role, active, joined_at) "
                    "VALUES (1, 1, 'bob', 'member', true, '2026-11-16 09:00:00'), "
                    "(2, 1, 'carol', 'member', true, '2026-11-16 09:00:00')"
                )
            )
            for n, (member, kind, amount, at) in enumerate([
                (1, "hours", "2.5", "2026-10-31 23:59:59"),
                (1, "hours", "1.25", "2026-11-01 00:00:00"),
                (1, "hours", "3", "2026-11-30 10:00:00"),
                (1, "points", "2", "2026-11-02 10:00:00"),
                (2, "kudos", "1", "2026-12-01 08:00:00"),
            ], 1):  # fmt: skip
                await connection.execute(
                    text(
                        "INSERT INTO contributions (id, coop_id, member_id, kind, amount, note, "
                        f"created_at) VALUES ({n}, 1, {member}, '{kind}', {amount}, '', '{at}')"
                    )
                )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT month, member_id, hours_cents, points_cents, kudos_cents "
                        "FROM contribution_months ORDER BY month, member_id"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [
        (202610, 1, 250, 0, 0),
        (202611, 1, 425, 200, 0),
        (202612, 2, 0, 0, 100),
    ]


async def test_two_entries_at_once_both_count_in_the_month(core: Core) -> None:
    import asyncio

    await setup_coop(core)
    await asyncio.gather(*(say(core, "bob", f"!log 1.5 part {n}") for n in range(4)))
    async with core.sessions() as session:
        cents = await session.scalar(select(func.sum(ContributionMonth.hours_cents)))
    assert cents == 600
