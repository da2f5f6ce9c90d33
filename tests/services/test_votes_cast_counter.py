"""Each decision's count of readable votes (`decisions.votes_cast`, revision 0010) stays what
a fresh count finds: after a script of every command that writes votes (new and changed
votes on the fast and the full path, every kind of poll, unreadable and refused votes,
closes and withdrawals that seal secret ballots, members removed), on each database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select, text

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Decision, Member, Membership, Vote
from bot.render.plain import render_plain
from bot.services import decisions
from bot.services.context import Context
from bot.services.members import start_membership
from tests.support import (
    full_path_dispatcher,
    invocation,
    kept_and_counted_votes,
    say,
    setup_coop,
)

MEMBERS = ("bob", "carol", "dan", "erin", "frank")


async def _full_path_vote(core: Core, clock: ManualClock, user: str, text_: str) -> str:
    """A vote through a dispatcher whose votes all take the full path."""
    full = full_path_dispatcher(core, clock)
    answers = await full.handle(invocation(user, text_), shown_at_once=True)
    return "\n".join(render_plain(a.reply) for a in answers)


async def test_every_vote_writing_command_keeps_each_decisions_count(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core, members=MEMBERS)
    opened = [
        "!propose Paint the door closes:1h",  # 1
        "!propose Raise dues secret:yes closes:1h",  # 2
        '!poll Venue? options:"Hall | Park | Barn" closes:1h',  # 3
        '!poll Retreat? options:"Lake | Cabin | City" method:ranked secret:yes closes:1h',  # 4
        '!poll Snacks? options:"Tea | Cake | Fruit" method:approval closes:2h',  # 5
        '!poll Colour? options:"Red | Blue" method:score closes:2h',  # 6
        "!propose Sign the lease method:consent closes:2h",  # 7
        "!propose Move office secret:yes closes:2h",  # 8: withdrawn
        "!propose Buy a van closes:2h",  # 9: a legacy (unreadable) vote in it
    ]
    for line in opened:
        assert "#" in await say(core, "alice", line)
    script = [
        ("bob", "!vote 1 yes"),
        ("carol", "!vote 1 no"),
        ("bob", "!vote 1 abstain"),  # changed
        ("bob", "!vote 1 abstain"),  # the same again
        ("dan", "!vote 1 maybe"),  # refused: nothing stored
        ("bob", "!vote 2 yes"),
        ("carol", "!vote 2 no"),
        ("carol", "!vote 2 yes"),
        ("bob", "!vote 3 A"),
        ("carol", "!vote 3 B"),
        ("bob", "!vote 3 C"),
        ("bob", "!vote 4 A>B"),
        ("carol", "!vote 4 C>A>B"),
        ("dan", "!vote 4 B"),
        ("dan", "!vote 4 C>B"),
        ("bob", "!vote 5 A,B"),
        ("erin", "!vote 5 C"),
        ("bob", "!vote 6 A=5,B=2"),
        ("carol", "!vote 6 A=0,B=4"),
        ("bob", "!vote 7 yes"),
        ("carol", '!vote 7 block reason:"it breaks our lease"'),
        ("carol", "!vote 7 yes"),
        ("erin", "!vote 7 block"),  # refused: a block needs a reason
        ("bob", "!vote 8 no"),
        ("frank", "!vote 8 yes"),
        ("bob", "!vote 9 yes"),
        ("frank", "!vote 9 no"),
    ]
    for user, line in script:
        await say(core, user, line)
    # The same kinds of vote through the full path (the fast path takes proposals).
    for user, line in [
        ("dan", "!vote 1 yes"),
        ("dan", "!vote 1 no"),
        ("erin", "!vote 2 abstain"),
        ("erin", "!vote 9 yes"),
    ]:
        assert "Your vote on #" in await _full_path_vote(core, clock, user, line)
    # A row stored before revision 0004 that could not be read, then voted over by its member.
    async with core.engine.begin() as connection:
        bob = (await connection.execute(text("SELECT id FROM members WHERE name = 'bob'"))).one()
        await connection.execute(
            text("UPDATE votes SET choice = 'yess' WHERE member_id = :m AND decision_id = 9"),
            {"m": bob[0]},
        )
        # As revision 0010 counts such a row: not at all.
        await connection.execute(
            text(
                "UPDATE decisions SET votes_cast = (SELECT count(*) FROM votes WHERE "
                "decision_id = 9 AND choice IN ('yes', 'no', 'abstain', 'block')) WHERE id = 9"
            )
        )
    assert "changed" in await say(core, "bob", "!vote 9 no")
    assert "changed" in await _full_path_vote(core, clock, "frank", "!vote 9 yes")
    await say(core, "alice", "!member remove @frank")  # their votes stay counted (SPEC §4)
    await say(core, "alice", "!withdraw 8")  # seals its secret ballots
    await say(core, "alice", "!close 1")
    clock.advance(timedelta(hours=1, minutes=1))
    await core.run_due_work()  # closes #2, #3 and #4 at their deadline, sealing #2 and #4

    counts = await kept_and_counted_votes(core)
    assert {number: stored for number, (stored, _) in counts.items()} == {
        number: fresh for number, (_, fresh) in counts.items()
    }
    # The script reached what it meant to: sealed, counted, voted on.
    assert counts[2] == (3, 3) and counts[4] == (3, 3) and counts[8] == (2, 2)
    assert counts[9] == (3, 3)
    async with core.sessions() as session:
        sealed = await session.scalar(select(Vote.id).where(Vote.decision_id.in_([2, 4, 8])))
    assert sealed is None


async def _waiting_afresh(core: Core, number: int) -> int:
    """The eligible active members of decision #`number` without a vote, each checked."""
    async with core.sessions() as session:
        decision = await session.scalar(select(Decision).where(Decision.number == number))
        assert decision is not None and decision.opened_seq is not None
        seq = decision.opened_seq
        stretches = (await session.scalars(select(Membership))).all()
        voted = set(
            await session.scalars(select(Vote.member_id).where(Vote.decision_id == decision.id))
        )
    eligible = {s.member_id for s in stretches if covers_seq(s, seq)}
    active = {s.member_id for s in stretches if s.left_seq is None}
    return len((eligible & active) - voted)


def covers_seq(stretch: Membership, seq: int) -> bool:
    return stretch.joined_seq < seq and (stretch.left_seq is None or stretch.left_seq > seq)


async def test_the_non_voters_are_counted_from_the_eligible_count_as_they_were_afresh(
    core: Core,
) -> None:
    """Waiting = eligible − voters − the eligible who left since without voting: members who
    voted then left, left without voting, left and came back, joined after the opening."""
    names = tuple(f"m{i:02d}" for i in range(30))
    await setup_coop(core, members=names)
    await say(core, "alice", "!propose Paint the door closes:1h")
    for name in names[:8]:
        assert "recorded" in await say(core, name, "!vote 1 yes")
    for name in (*names[5:7], *names[10:14]):  # two voters, four non-voters leave
        assert "no longer" in await say(core, "alice", f"!member remove @{name}")
    async with core.sessions() as session, session.begin():  # m12 comes back (sync undo)
        ctx = Context(session=session, clock=core.clock, settings=core.settings)
        back = await session.scalar(select(Member).where(Member.name == names[12]))
        assert back is not None
        back.active, back.removed_at = True, None
        await start_membership(ctx, back)
    assert "joined" in await say(core, "alice", "!member add @late")  # not eligible
    async with core.sessions() as session:
        ctx = Context(session=session, clock=core.clock, settings=core.settings)
        decision = await session.scalar(select(Decision).where(Decision.number == 1))
        assert decision is not None
        _, total = await decisions.waiting(ctx, decision, 5)
        counted = await decisions.count_non_voters(ctx, decision)
    expected = await _waiting_afresh(core, 1)
    assert expected == 31 - 8 - 3  # alice and 30 members; 8 voted; 3 left without voting
    assert total == counted == expected


async def test_the_non_voters_count_reads_no_stretch_of_a_member_still_there(
    core: Core,
) -> None:
    """Counting an open decision's non-voters reads the membership stretches by when they
    ended (those ended since it opened), not every stretch of the co-op by when it began:
    its cost follows the members who left, not the members (issue 11: `show` at 10,000)."""
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!propose Paint the door closes:1h")
    await say(core, "bob", "!vote 1 yes")
    await say(core, "alice", "!member remove @dan")
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    async with core.sessions() as session:
        ctx = Context(session=session, clock=core.clock, settings=core.settings)
        decision = await session.scalar(select(Decision).where(Decision.number == 1))
        assert decision is not None
        event.listen(core.engine.sync_engine, "before_cursor_execute", record)
        try:
            assert await decisions.count_non_voters(ctx, decision) == 2  # alice and carol
        finally:
            event.remove(core.engine.sync_engine, "before_cursor_execute", record)
    ((statement, params),) = [(s, p) for s, p in seen if "memberships" in s]
    async with core.engine.connect() as connection:
        if core.engine.dialect.name == "sqlite":
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            steps = [str(row[-1]) for row in plan.all()]
        else:
            await connection.exec_driver_sql("SET enable_seqscan = off")
            plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", params)
            steps = [str(row[0]) for row in plan.all()]
    text_ = "\n".join(steps)
    assert "ix_memberships_coop_left" in text_, text_
    assert "ix_memberships_coop_joined" not in text_, text_
    assert "Seq Scan on memberships" not in text_ and "SCAN memberships" not in text_, text_
