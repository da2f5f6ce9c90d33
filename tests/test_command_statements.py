"""A command's fixed cost: the statements it sends are what it needs (one insert to dedupe,
one read of the co-op and the actor, then the command's own), and the authority it reads
is never stale, even when another process has just changed the registry."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import AuditEvent
from tests.support import invocation, listening, say, setup_coop, statements_sent


async def test_a_vote_sends_only_the_statements_it_needs(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")
    with statements_sent(core) as new:
        assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")
    with statements_sent(core) as changed:
        assert "Your vote on #1 is changed: no" in await say(core, "bob", "!vote 1 no")
    # SQLite: BEGIN, the dedupe insert, co-op and actor with the decision and the member's
    # eligibility (one read), the vote with the turnout for the reply (counted in its
    # RETURNING), the audit. PostgreSQL (whose BEGIN is not a statement of its own): the
    # dedupe insert is a data-modifying CTE of that read (the decision locked in another
    # CTE), and the audit one of the vote's. Nothing is stored for the reply of Core.handle:
    # the caller shows it at once.
    is_sqlite = core.engine.dialect.name == "sqlite"
    expected = 5 if is_sqlite else 2
    assert len(new) == expected, new
    assert len(changed) == expected, changed
    assert sum("handled_messages" in s for s in new) == 1
    # One read each: the decision (locked for the vote on PostgreSQL) with the co-op and
    # the actor, not in a statement of its own.
    for sent in (new, changed):
        assert sum(s.startswith("SELECT decisions") for s in sent) == 0, sent
    assert not any("outbox" in s for s in new + changed)
    assert not any(s.startswith("SELECT votes") for s in new + changed)  # no count of its own


async def test_a_vote_reads_its_voter_without_their_identities(core: Core) -> None:
    """A vote needs the voter's id and role, not their platform identities: its context
    read joins the identities table once (to find the voter), never again to load them
    (a joined collection: a row per identity, and the ORM's de-duplication of them)."""
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    with listening(core, "before_cursor_execute", record):
        assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")
    (read,) = [s for s in sent if "room_bindings" in s]
    assert read.count("JOIN identities") == 1, read
    # Other commands still read the actor's identities with them (a mention renders them).
    sent.clear()
    with listening(core, "before_cursor_execute", record):
        await say(core, "bob", "!show 1")
    (read,) = [s for s in sent if "room_bindings" in s]
    assert read.count("JOIN identities") == 2, read


async def test_the_turnout_a_vote_shows_is_the_one_counted_after_it(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!propose Buy a kiln")
    await say(core, "alice", '!poll Colour? options:"Red | Blue"')
    said = [
        await say(core, "bob", "!vote 1 yes"),
        await say(core, "bob", "!vote 1 no"),
        await say(core, "carol", "!vote 1 abstain"),
        await say(core, "dan", "!vote 2 Red"),
        await say(core, "carol", "!vote 2 Blue"),
        await say(core, "carol", "!vote 2 Red"),
    ]
    turnouts = [
        line.split("—")[0].strip() for s in said for line in s.splitlines() if "turnout" in line
    ]
    assert turnouts == [
        "turnout 1/4",
        "turnout 1/4",
        "turnout 2/4",
        "turnout 1/4",
        "turnout 2/4",
        "turnout 2/4",
    ], said
    assert "turnout 2/4" in await say(core, "alice", "!show 1")
    assert "turnout 2/4" in await say(core, "alice", "!show 2")
    async with core.sessions() as session:
        audited = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.subject, AuditEvent.detail)
                .where(AuditEvent.action.like("vote.%"))
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [tuple(row) for row in audited] == [
        ("vote.cast", "decision:1", {"choice": "yes"}),
        ("vote.change", "decision:1", {"choice": "no"}),
        ("vote.cast", "decision:1", {"choice": "abstain"}),
        ("vote.cast", "decision:2", {"choice": "A"}),
        ("vote.cast", "decision:2", {"choice": "B"}),
        ("vote.change", "decision:2", {"choice": "A"}),
    ]


async def test_a_vote_read_with_its_context_keeps_every_refusal_and_a_polls_options(
    core: Core,
) -> None:
    await setup_coop(core, members=("bob",))
    await say(core, "alice", "!propose Buy a kiln")
    await say(core, "alice", '!poll Colour? options:"Red | Blue"')
    assert "There is no decision #9" in await say(core, "bob", "!vote 9 yes")
    assert "Only members of this co-op can do that" in await say(core, "zed", "!vote 1 yes")
    assert "Your vote on #2 is recorded: Blue" in await say(core, "bob", "!vote 2 Blue")
    await say(core, "alice", "!member add @erin")
    assert "after #1 opened, so you can't vote on it" in await say(core, "erin", "!vote 1 yes")
    assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")


async def test_a_vote_waits_for_the_decisions_row_lock_on_postgresql(core: Core) -> None:
    """The decision read with the context (PostgreSQL) still locks it for the vote: a vote
    waits while another transaction holds the row (a close counting), then is recorded."""
    if core.engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes its write lock at BEGIN")
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")
    async with core.engine.connect() as holder, core.engine.connect() as watcher:
        await holder.execute(text("SELECT id FROM decisions WHERE number = 1 FOR NO KEY UPDATE"))
        voting = asyncio.create_task(say(core, "bob", "!vote 1 yes"))
        waiting = 0
        for _ in range(500):  # until the vote's statement waits for the lock (≤ 5 s)
            await asyncio.sleep(0.01)
            waiting = await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
            await watcher.rollback()  # pg_stat_activity is read once per transaction
            if waiting or voting.done():
                break
        assert waiting == 1 and not voting.done()
        await holder.rollback()
        assert "Your vote on #1 is recorded: yes" in await voting


async def test_task_and_kudos_commands_pay_one_statement_of_dedupe_and_one_of_context(
    core: Core,
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!task add Fix the gate points:2")
    is_sqlite = core.engine.dialect.name == "sqlite"
    with statements_sent(core) as claim:
        assert "Task 1 claimed by @bob" in await say(core, "bob", "!task claim 1")
    with statements_sent(core) as done:
        assert "Task 1 done by @bob" in await say(core, "bob", "!task done 1")
    with statements_sent(core) as kudos:
        assert "+1 kudos" in await say(core, "bob", "!kudos @carol thanks for the gate")
    # On PostgreSQL each also locks the member whose limit it checks.
    assert len(claim) <= (8 if is_sqlite else 9), claim
    assert len(done) <= (9 if is_sqlite else 10), done
    assert len(kudos) <= (9 if is_sqlite else 10), kudos
    for sent in (claim, done, kudos):
        assert sum("handled_messages" in s for s in sent) == 1, sent
        # (PostgreSQL reads them in the dedupe's statement: a CTE, then the read.)
        assert sum(s.startswith(("SELECT coops.", "WITH handled")) for s in sent) == 1, sent


async def test_a_duplicate_message_is_answered_once(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")

    sent = invocation("bob", "!vote 1 yes", message_id="dup-1")
    assert await core.handle(sent)
    assert await core.handle(sent) == []
    refused = invocation("bob", "!vote 9 yes", message_id="dup-2")
    assert await core.handle(refused)
    assert await core.handle(refused) == []


async def test_a_removal_by_another_process_takes_effect_on_the_next_command(
    settings: Settings, clock: ManualClock
) -> None:
    """Nothing about the co-op or its members is cached between commands: a steward
    removed or demoted through another bot process has lost that authority at once."""
    first = await create_core(settings, clock)
    second = await create_core(settings, clock)
    try:
        await setup_coop(first, members=("bob", "carol"))
        await say(first, "alice", "!member role @bob steward")
        assert "is now" in await say(first, "bob", "!member role @carol steward")
        await say(second, "alice", "!member role @bob member")
        refused = await say(first, "bob", "!member remove @carol")
        assert "Only stewards can run `!member remove`" in refused
        await say(second, "alice", "!member remove @bob")
        assert "Only members of this co-op can do that" in await say(
            first, "bob", "!propose Buy a kiln"
        )
    finally:
        await first.close()
        await second.close()
