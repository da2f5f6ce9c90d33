"""The task board: members claim, finish and give back tasks; stewards assign and cancel."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import select

from bot.app import Core
from bot.db.models import Contribution, Member, Task
from tests.support import say, setup_coop


async def _task(core: Core, number: int) -> tuple[Task, str | None]:
    async with core.sessions() as session:
        task = await session.scalar(select(Task).where(Task.number == number))
        assert task is not None
        holder = await session.get(Member, task.holder_id) if task.holder_id else None
        return task, holder.name if holder else None


async def _points_of(core: Core, name: str) -> list[Decimal]:
    async with core.sessions() as session:
        rows = await session.scalars(
            select(Contribution.amount)
            .join(Member, Member.id == Contribution.member_id)
            .where(Member.name == name, Contribution.kind == "points")
            .order_by(Contribution.id)
        )
        return list(rows)


async def test_bob_claims_and_finishes_a_task_and_earns_its_points(core: Core) -> None:
    await setup_coop(core)
    added = await say(core, "alice", "!task add Fix the gate points:3 due:2026-12-01")
    assert "Task 1 added by @alice — 3 pts · due end of Tue 1 Dec" in added
    assert "Fix the gate" in added

    assert "Task 1 claimed by @bob" in await say(core, "bob", "!task claim 1")
    refused = await say(core, "carol", "!task claim 1")
    assert "Task 1 is already claimed by @bob" in refused
    assert (await _task(core, 1))[1] == "bob"

    board = await say(core, "carol", "!task list")
    assert "task 1 Fix the gate (3 pts · due end of Tue 1 Dec) — claimed by @bob" in board

    assert "only they or a steward" in await say(core, "carol", "!task done 1")
    done = await say(core, "bob", "!task done 1")
    assert "Task 1 done by @bob — 3 pts credited" in done

    task, holder = await _task(core, 1)
    assert (task.status, holder) == ("done", "bob")
    assert await _points_of(core, "bob") == [Decimal(3)]
    # Done is final: it can be neither claimed nor finished twice.
    assert "Task 1 is done; it can't be claimed" in await say(core, "carol", "!task claim 1")
    assert "already done" in await say(core, "bob", "!task done 1")
    assert await _points_of(core, "bob") == [Decimal(3)]


async def test_two_simultaneous_claims_exactly_one_wins(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Repaint the sign points:2")
    replies = await asyncio.gather(
        say(core, "bob", "!task claim 1"), say(core, "carol", "!task claim 1")
    )
    winners = [r for r in replies if "claimed by" in r and "already" not in r]
    losers = [r for r in replies if "already claimed by" in r]
    assert len(winners) == 1 and len(losers) == 1, replies
    _, holder = await _task(core, 1)
    assert holder is not None
    assert f"Task 1 claimed by @{holder}" in winners[0]
    assert f"Task 1 is already claimed by @{holder}" in losers[0]


async def test_a_member_holds_at_most_max_claims_tasks(core: Core) -> None:
    await setup_coop(core)
    assert "changed" in await say(core, "alice", "!coop settings max_claims:2")
    for title in ("One", "Two", "Three", "Four"):
        await say(core, "alice", f"!task add {title}")
    assert "claimed by @bob" in await say(core, "bob", "!task claim 1")
    assert "claimed by @bob" in await say(core, "bob", "!task claim 2")
    refused = await say(core, "bob", "!task claim 3")
    assert "You hold 2 claimed tasks; the limit is 2" in refused
    assert (await _task(core, 3))[0].status == "open"
    # A steward can't push a member past the limit either.
    assert "@bob holds 2 claimed tasks" in await say(core, "alice", "!task assign 3 @bob")

    await say(core, "bob", "!task done 1")
    assert "Task 3 claimed by @bob" in await say(core, "bob", "!task claim 3")


async def test_simultaneous_claims_by_one_member_respect_the_limit(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!coop settings max_claims:2")
    for title in ("One", "Two", "Three", "Four"):
        await say(core, "alice", f"!task add {title}")
    replies = await asyncio.gather(*(say(core, "bob", f"!task claim {n}") for n in (1, 2, 3, 4)))
    assert sum("claimed by @bob" in r for r in replies) == 2, replies
    assert sum("the limit is 2" in r for r in replies) == 2, replies
    async with core.sessions() as session:
        held = (await session.scalars(select(Task).where(Task.status == "claimed"))).all()
    assert len(held) == 2


async def test_giving_a_task_back(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Tax filing points:5")
    await say(core, "bob", "!task claim 1")
    assert "only they or a steward" in await say(core, "carol", "!task unclaim 1")
    assert "Task 1 is open again — @bob gave it back" in await say(core, "bob", "!task unclaim 1")
    task, holder = await _task(core, 1)
    assert (task.status, holder, task.claimed_at) == ("open", None, None)
    assert "not claimed" in await say(core, "bob", "!task unclaim 1")

    await say(core, "carol", "!task claim 1")
    released = await say(core, "alice", "!task unclaim 1")
    assert "Task 1 is open again — @alice released it from @carol" in released


async def test_an_open_task_marked_done_credits_whoever_did_it(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Newsletter points:2")
    assert "Task 1 done by @carol — 2 pts credited" in await say(core, "carol", "!task done 1")
    assert (await _task(core, 1))[1] == "carol"
    assert await _points_of(core, "carol") == [Decimal(2)]


async def test_a_steward_finishes_a_claimed_task_for_its_holder(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Fix the gate points:3")
    await say(core, "bob", "!task claim 1")
    done = await say(core, "alice", "!task done 1")
    assert "Task 1 done by @alice — 3 pts credited to @bob" in done
    assert await _points_of(core, "bob") == [Decimal(3)]
    assert await _points_of(core, "alice") == []


async def test_a_zero_point_task_writes_no_ledger_entry(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Water the plants points:0")
    assert "Task 1 done by @bob" in await say(core, "bob", "!task done 1")
    assert await _points_of(core, "bob") == []


async def test_stewards_assign_and_cancel(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Order paint")
    assert "Only stewards can run `!task assign`" in await say(core, "bob", "!task assign 1 @bob")
    assert "Task 1 assigned to @carol by @alice" in await say(
        core, "alice", "!task assign 1 @carol"
    )
    assert (await _task(core, 1))[1] == "carol"
    # Reassigning moves the task from one holder to another.
    assert "Task 1 assigned to @bob" in await say(core, "alice", "!task assign 1 @bob")
    assert "Task 1 is already held by @bob" in await say(core, "alice", "!task assign 1 @bob")

    assert "Only stewards can run `!task cancel`" in await say(core, "bob", "!task cancel 1")
    assert "Task 1 cancelled by @alice" in await say(core, "alice", "!task cancel 1")
    task, _ = await _task(core, 1)
    assert task.status == "cancelled"
    assert "cancelled" in await say(core, "bob", "!task claim 1")
    assert "already cancelled" in await say(core, "alice", "!task cancel 1")


async def test_adding_tasks_checks_links_points_and_dates(core: Core) -> None:
    await setup_coop(core)
    assert "There is no decision #9" in await say(core, "bob", "!task add Build it from:#9")
    await say(core, "alice", "!propose Build a shed")
    added = await say(core, "bob", "!task add Build the shed points:5 from:#1")
    assert "Task 1 added by @bob — 5 pts · from #1" in added
    assert "task points must be 0 to 1000" in await say(core, "bob", "!task add Huge points:5000")
    assert "already past" in await say(core, "bob", "!task add Late due:2020-01-01")
    assert "Task 2 added" in await say(core, "bob", "!task add Default points")
    task, _ = await _task(core, 1)
    assert (task.from_decision, task.points, task.created_by) == (1, Decimal(5), 2)
    assert (await _task(core, 2))[0].points == Decimal(1)
    assert "There is no task 7" in await say(core, "bob", "!task claim 7")


async def test_the_board_lists_open_mine_and_all(core: Core) -> None:
    await setup_coop(core)
    for title in ("Fix the gate", "Newsletter", "Tax filing"):
        await say(core, "alice", f"!task add {title}")
    await say(core, "bob", "!task claim 1")
    await say(core, "carol", "!task done 2")

    board = await say(core, "bob", "!task list")
    assert "task 1 Fix the gate" in board and "task 3 Tax filing" in board
    assert "Newsletter" not in board
    mine = await say(core, "bob", "!task list mine")
    assert "Your tasks" in mine and "task 1 Fix the gate" in mine and "Tax" not in mine
    assert "You hold no tasks" in await say(core, "carol", "!task list mine")
    everything = await say(core, "bob", "!task list all")
    assert "task 2 Newsletter (1 pt) — done by @carol" in everything
