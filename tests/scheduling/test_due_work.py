"""Time-driven work happens at its time, exactly once, also after downtime and in parallel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import Decision, OutboxMessage
from bot.scheduling import Scheduler
from tests.support import announcements, say, setup_coop


async def _status(core: Core, number: int) -> str:
    async with core.sessions() as session:
        status = await session.scalar(select(Decision.status).where(Decision.number == number))
    assert status is not None
    return status


async def test_a_vote_closes_at_its_deadline_and_is_announced_once(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a 3D printer closes:1h")
    await say(core, "bob", "!vote 1 yes")
    await say(core, "carol", "!vote 1 no")
    await say(core, "alice", "!vote 1 yes")

    clock.advance(timedelta(minutes=59))
    assert await core.run_due_work() == 0
    assert await _status(core, 1) == "open"

    clock.advance(timedelta(minutes=1))
    assert await core.run_due_work() == 1
    shown = await announcements(core)
    assert len(shown) == 1
    assert (
        "#1 Buy a 3D printer — PASSED (yes 2, no 1, abstain 0; turnout 3/3, quorum 2 met)"
        in shown[0]
    )
    # the same job fired again changes and announces nothing
    assert await core.run_due_work() == 0
    assert await announcements(core) == []
    assert "is closed; its votes can no longer change" in await say(core, "bob", "!vote 1 no")


async def test_a_scheduled_vote_opens_on_time_with_the_members_of_that_moment(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    opened = await say(core, "alice", "!propose Adopt the kitchen rota opens:1d closes:2d")
    assert "Proposal #1 scheduled" in opened
    assert "is not open yet" in await say(core, "bob", "!vote 1 yes")
    await say(core, "alice", "!member add @dan")  # joins before voting opens: eligible

    clock.advance(timedelta(days=1))
    assert await core.run_due_work() == 1
    shown = await announcements(core)
    assert len(shown) == 1 and "Proposal #1 opened by @alice" in shown[0]
    assert "of 4 eligible" in shown[0]
    assert "recorded" in await say(core, "dan", "!vote 1 yes")
    # closes 2 days after it opened
    clock.advance(timedelta(days=2) - timedelta(seconds=1))
    await core.run_due_work()
    assert await _status(core, 1) == "open"
    clock.advance(timedelta(seconds=1))
    await core.run_due_work()
    assert await _status(core, 1) == "closed"


async def test_members_who_have_not_voted_are_reminded_once(core: Core, clock: ManualClock) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!propose Raise dues closes:3d")
    await say(core, "bob", "!vote 1 yes")

    clock.advance(timedelta(days=2) - timedelta(minutes=1))
    await core.run_due_work()
    assert await announcements(core) == []

    clock.advance(timedelta(minutes=1))  # 24 h before the close
    await core.run_due_work()
    shown = await announcements(core)
    assert len(shown) == 1
    reminder = shown[0]
    assert "Reminder: @alice @carol @dan" in reminder
    assert "@bob" not in reminder
    assert "1 more vote needed for quorum" in reminder

    clock.advance(timedelta(hours=1))
    await core.run_due_work()
    assert await announcements(core) == []


async def test_a_bot_down_over_a_deadline_closes_the_vote_at_start_up_once(
    settings: Settings, clock: ManualClock
) -> None:
    first = await create_core(settings, clock)
    await setup_coop(first)
    await say(first, "alice", "!propose Fix the roof closes:1h")
    await say(first, "bob", "!vote 1 yes")
    await say(first, "alice", "!vote 1 yes")
    await first.close()  # the bot goes down

    clock.advance(timedelta(hours=5))
    second = await create_core(settings, clock)
    scheduler = Scheduler(second, clock)
    await scheduler.start()  # reconciles at start-up
    await scheduler.stop()
    shown = await announcements(second)
    assert len(shown) == 1 and "#1 Fix the roof — PASSED" in shown[0]
    await second.close()

    third = await create_core(settings, clock)
    scheduler = Scheduler(third, clock)
    await scheduler.start()
    await scheduler.stop()
    assert await announcements(third) == []
    await third.close()


async def test_two_schedulers_sharing_a_database_close_a_vote_once(
    settings: Settings, clock: ManualClock
) -> None:
    one = await create_core(settings, clock)
    two = await create_core(settings, clock)
    try:
        await setup_coop(one)
        for n in range(1, 6):
            await say(one, "alice", f"!propose Decision {n} closes:1h")
        clock.advance(timedelta(hours=2))
        counts = await asyncio.gather(
            one.run_due_work(), two.run_due_work(), one.run_due_work(), two.run_due_work()
        )
        assert sum(counts) == 5
        async with one.sessions() as session:
            closings = (
                await session.scalars(
                    select(OutboxMessage.dedupe_key).where(
                        OutboxMessage.dedupe_key.like("%:closed")
                    )
                )
            ).all()
        assert len(closings) == 5
        assert len(await announcements(one)) == 5
        assert await announcements(two) == []
    finally:
        await one.close()
        await two.close()


async def test_bad_schedules_are_refused_and_change_nothing(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    assert "already past" in await say(core, "alice", "!propose Too late closes:2020-01-01")
    assert "already past" in await say(core, "alice", "!propose Too early opens:2020-01-01")
    after = await say(core, "alice", "!propose Backwards opens:2026-12-10 closes:2026-12-01")
    assert "closes: must come after opens:" in after
    assert "Only stewards can use opens:" in await say(core, "bob", "!propose Later opens:1d")
    assert "No  decisions" not in await say(core, "alice", "!list all")
    assert "No decisions yet" in await say(core, "alice", "!list all")
    await say(core, "alice", "!propose Short closes:1h")
    clock.advance(timedelta(hours=2))
    await core.run_due_work()
    extended = await say(core, "alice", "!extend 1 1d")
    assert "#1 is closed; only an open or scheduled vote can be extended" in extended


async def test_extend_and_withdraw_reschedule_correctly(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    await say(core, "bob", "!propose Longer talk closes:1h")
    assert "extended; now closes" in await say(core, "alice", "!extend 1 2h")
    clock.advance(timedelta(hours=2))
    await core.run_due_work()
    assert await _status(core, 1) == "open"
    clock.advance(timedelta(hours=1))
    await core.run_due_work()
    assert await _status(core, 1) == "closed"

    await say(core, "bob", "!propose Withdrawn idea closes:1h")
    assert "withdrawn by @bob" in await say(core, "bob", "!withdraw 2")
    await announcements(core)
    clock.advance(timedelta(hours=2))
    assert await core.run_due_work() == 0
    assert await announcements(core) == []


async def test_a_stale_claim_is_reminded_a_day_before_then_released(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Repaint the sign points:2")
    assert "claimed by @bob" in await say(core, "bob", "!task claim 1")
    await announcements(core)

    clock.advance(timedelta(days=6) - timedelta(minutes=1))
    await core.run_due_work()
    assert await announcements(core) == []

    clock.advance(timedelta(minutes=1))  # a day before the claim goes stale
    await core.run_due_work()
    shown = await announcements(core)
    assert len(shown) == 1
    assert shown[0].startswith("@bob: your claim on task 1 Repaint the sign is released")

    clock.advance(timedelta(days=1))
    await core.run_due_work()  # (the Monday summary falls due now too)
    shown = [text for text in await announcements(core) if text.startswith("Task 1")]
    assert len(shown) == 1
    assert "Task 1 Repaint the sign released after 7 days without progress (was @bob)" in shown[0]
    assert await core.run_due_work() == 0
    assert await announcements(core) == []
    assert "claimed by @carol" in await say(core, "carol", "!task claim 1")


async def test_a_claim_finished_in_time_is_neither_reminded_nor_released(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Tax filing points:5")
    await say(core, "bob", "!task claim 1")
    clock.advance(timedelta(days=3))
    await say(core, "bob", "!task done 1")
    await announcements(core)
    clock.advance(timedelta(days=10))
    await core.run_due_work()
    assert not [text for text in await announcements(core) if "task 1" in text.lower()]


async def test_an_announcement_written_before_a_crash_is_delivered_after_restart_once(
    settings: Settings, clock: ManualClock
) -> None:
    first = await create_core(settings, clock)
    await setup_coop(first)
    await say(first, "alice", "!propose Fix the roof closes:1h")
    clock.advance(timedelta(hours=2))
    assert await first.run_due_work() >= 1  # closed, announcement stored…
    await first.close()  # …and the bot dies before delivering it

    second = await create_core(settings, clock)
    shown = await announcements(second)
    assert [text for text in shown if "#1 Fix the roof — NO QUORUM" in text] == shown[:1]
    assert len([t for t in shown if "#1 Fix the roof" in t]) == 1
    assert await announcements(second) == []
    await second.close()


async def test_the_scheduler_plans_its_next_run_for_the_next_deadline(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    scheduler = Scheduler(core, clock)
    await scheduler.start()
    try:
        await say(core, "alice", "!propose Timed closes:90m")
        planned = scheduler.next_run()
        assert planned is not None
        # APScheduler waits on the wall clock: the run is 90 minutes (of the injected
        # clock) from now, whatever the wall clock says.
        wait = planned - datetime.now(UTC)
        assert timedelta(minutes=89) < wait <= timedelta(minutes=90)
        await say(core, "alice", "!extend 1 1h")
        wait = scheduler.next_run() - datetime.now(UTC)  # type: ignore[operator]
        assert timedelta(minutes=149) < wait <= timedelta(minutes=150)
    finally:
        await scheduler.stop()


async def test_a_reminder_in_a_large_coop_pings_a_bounded_number_of_members(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core, members=tuple(f"m{n:02}" for n in range(60)))
    await say(core, "alice", "!propose Big vote closes:3d")
    clock.advance(timedelta(days=2))
    await core.run_due_work()
    (reminder,) = await announcements(core)
    first_line = reminder.splitlines()[0]
    assert first_line.count("@") == 50
    assert first_line.endswith("… and 11 more")  # 61 members, none has voted


async def test_a_scheduled_consent_close_names_the_block(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Night shifts method:consent closes:1h")
    await say(core, "bob", "!vote 1 yes")
    await say(core, "carol", '!vote 1 block reason:"breaks our lease"')
    clock.advance(timedelta(hours=1))
    await core.run_due_work()
    (closed,) = await announcements(core)
    assert "REJECTED" in closed
    assert "blocked by @carol: breaks our lease" in closed
