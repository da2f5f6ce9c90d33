"""The reply path: re-planning only after a change to what is due, and never before the
answer is back; deliveries for other rooms wake the pump at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select, update

from bot import write_watch
from bot.app import Core
from bot.db.models import Decision, RoomBinding
from bot.invocation import RoomRef
from bot.outgoing import Delivery
from tests import write_signals
from tests.support import invocation, listening, one_time_code, say, setup_coop
from tests.write_signals import changes_due, rebinds_rooms

GUARD = 10.0  # a failure guard, never a wait the test relies on
OTHER = RoomRef("matrix", "!other:example.org")


def planner(core: Core) -> list[int]:
    """Counts the re-plans the core asks for (as the scheduler's listener is called)."""
    calls: list[int] = []

    async def listener() -> None:
        calls.append(1)

    core.after_commands(listener)
    return calls


async def test_a_vote_does_not_re_plan_but_opening_and_extending_do(core: Core) -> None:
    await setup_coop(core)
    calls = planner(core)
    await say(core, "alice", "!propose Roof closes:3d")
    assert len(calls) >= 1
    seen = len(calls)
    await say(core, "bob", "!vote 1 yes")
    await say(core, "carol", "!vote 1 no")
    await say(core, "bob", "!vote 1 no")
    await say(core, "bob", "!show 1")
    assert len(calls) == seen  # nothing due moved
    await say(core, "alice", "!extend 1 1h")
    assert len(calls) > seen


async def test_the_answer_comes_back_while_the_re_plan_still_runs(core: Core) -> None:
    await setup_coop(core)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_listener() -> None:
        started.set()
        await release.wait()

    core.after_commands(slow_listener)
    answers = await asyncio.wait_for(
        core.answer(invocation("alice", "!propose Roof closes:3d")), GUARD
    )
    assert "Proposal #1 opened" in str(answers[0].reply)
    await asyncio.wait_for(started.wait(), GUARD)  # the re-plan runs, in the background
    release.set()
    await asyncio.wait_for(core.replanned(), GUARD)


async def test_an_announcement_for_another_room_wakes_the_pump(core: Core) -> None:
    await setup_coop(core)
    code = one_time_code(await say(core, "alice", "!coop code"))
    assert "now bound" in await say(core, "@dana:example.org", f"!coop bind {code}", OTHER)
    sent: list[Delivery] = []
    arrived = asyncio.Event()

    async def send(delivery: Delivery) -> str:
        sent.append(delivery)
        arrived.set()
        return "$sent"

    pump = core.pump("matrix", send, every=3600)  # its own timer would wait an hour
    stop = asyncio.Event()
    await pump.round()  # the co-op's earlier announcements (the bind) are out of the way
    sent.clear()
    running = asyncio.create_task(pump.run(until=stop))
    try:
        await say(core, "alice", "!propose Bridge closes:1d")
        await asyncio.wait_for(arrived.wait(), GUARD)
    finally:
        stop.set()
        await running
    assert [d.room for d in sent] == [OTHER]
    assert "Proposal #1 opened" in str(sent[0].reply)


def test_which_statements_change_what_is_due() -> None:
    assert changes_due("INSERT INTO decisions (coop_id, number) VALUES (?, ?)")
    assert changes_due("UPDATE decisions SET closes_at=? WHERE decisions.id = ?")
    assert changes_due('UPDATE "tasks" SET status=$1::VARCHAR, holder_id=$2 WHERE tasks.id = $3')
    assert changes_due("UPDATE coops SET next_summary_at=? WHERE coops.id = ?")
    assert not changes_due("UPDATE coops SET next_decision_number=? WHERE coops.id = ?")
    assert not changes_due("UPDATE decisions SET title=? WHERE decisions.status = ?")
    assert not changes_due("INSERT INTO votes (decision_id, member_id) VALUES (?, ?)")
    assert not changes_due("SELECT decisions.status FROM decisions")
    assert rebinds_rooms("UPDATE room_bindings SET coop_id=? WHERE room_bindings.id = ?")
    assert rebinds_rooms("DELETE FROM coops WHERE coops.id = ?")
    assert not rebinds_rooms("UPDATE coops SET next_decision_number=? WHERE coops.id = ?")


async def test_the_secret_ballot_lookup_before_a_vote_is_remembered_until_rooms_move(
    core: Core,
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Open vote closes:1d")
    other = RoomRef("console", "other")
    assert "set up" in await say(core, "zed", "!coop setup Elsewhere", other)
    await say(core, "zed", "!propose Hidden secret:yes closes:1d", other)
    vote = invocation("bob", "!vote 1 yes")
    assert await core.secret_vote(vote) is None
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    with listening(core, "after_cursor_execute", count):
        assert await core.secret_vote(vote) is None
        assert statements == []  # no round trip before a vote on a known decision
    # The console room now belongs to the other co-op, whose #1 is secret.
    async with core.sessions() as session, session.begin():
        moved = await session.scalar(
            select(RoomBinding.coop_id).where(RoomBinding.room_id == other.room_id)
        )
        await session.execute(
            update(RoomBinding)
            .where(RoomBinding.room_id == vote.room.room_id)
            .values(coop_id=moved)
        )
        await write_watch.rooms_changed(session)
    found = await core.secret_vote(vote)
    assert found is not None and found.coop_id == moved


async def test_many_commands_at_once_on_sqlite_all_commit(core: Core) -> None:
    names = tuple(f"m{n:02}" for n in range(30))
    await setup_coop(core, members=names)
    await say(core, "alice", "!propose Together closes:1d")
    answers = await asyncio.wait_for(
        asyncio.gather(
            *(
                core.answer(invocation(name, f"!vote 1 {'yes' if n % 2 else 'no'}"))
                for n, name in enumerate(names)
            )
        ),
        60,
    )
    texts = [str(a[0].reply) for a in answers]
    assert not [t for t in texts if "went wrong" in t or "collided" in t], texts
    shown = await say(core, "alice", "!show 1")
    assert "turnout 30/31" in shown, shown


async def test_a_due_write_without_its_signal_is_caught_and_does_not_re_plan(core: Core) -> None:
    """The suite-wide oracle (tests/write_signals.py) notices a service that forgets to
    say `due_changed`; the core then does not re-plan, which is what the oracle guards."""
    await setup_coop(core)
    await say(core, "alice", "!propose Roof closes:3d")
    calls = planner(core)
    async with core.sessions() as session, session.begin():
        await session.execute(update(Decision).values(closes_at=Decision.closes_at))
    await core.replanned()
    assert calls == []
    assert [m.split(":")[0] for m in write_signals.take_missing()] == [
        "a due change without write_watch.due_changed"
    ]
    async with core.sessions() as session, session.begin():
        await session.execute(update(Decision).values(closes_at=Decision.closes_at))
        await write_watch.due_changed(session)
    await core.replanned()
    assert calls == [1]
    assert write_signals.take_missing() == []


def test_the_core_reads_no_statement_to_learn_what_changed() -> None:
    source = Path(write_watch.__file__).read_text()
    assert "cursor_execute" not in source and "import re" not in source
