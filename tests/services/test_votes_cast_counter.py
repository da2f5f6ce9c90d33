"""Each decision's count of readable votes (`decisions.votes_cast`, revision 0010) stays what
a fresh count finds: after a script of every command that writes votes (new and changed
votes on the fast and the full path, every kind of poll, unreadable and refused votes,
closes and withdrawals that seal secret ballots, members removed), on each database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Vote
from bot.dispatch import Dispatcher
from bot.handler_table import all_handlers
from bot.render.plain import render_plain
from tests.support import invocation, kept_and_counted_votes, say, setup_coop

MEMBERS = ("bob", "carol", "dan", "erin", "frank")


async def _full_path_vote(core: Core, clock: ManualClock, user: str, text_: str) -> str:
    """A vote through a dispatcher whose votes all take the full path."""
    full = Dispatcher(
        core.sessions,
        clock,
        core.settings,
        core.tree,
        all_handlers(core.tree),
        owner=core.owner,
        fast_votes=False,
    )
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
