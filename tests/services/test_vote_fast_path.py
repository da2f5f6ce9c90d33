"""The common vote's own path (bot.vote_fast) answers and stores exactly what the full path
does: the same script of votes runs in two co-ops of one database, one through the usual
dispatcher and one through a dispatcher whose votes all take the full path, and every reply
and every stored row (votes, audit, handled messages, stored answers) is compared."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import (
    AuditEvent,
    Coop,
    Decision,
    HandledMessage,
    Member,
    OutboxMessage,
    RoomBinding,
    Vote,
)
from bot.invocation import CAP_ATTACHMENTS, CAP_EPHEMERAL, RoomRef
from bot.outgoing import Answer
from bot.render.plain import render_plain
from tests.support import full_path_dispatcher, invocation, say, setup_coop, statements_sent

FAST_ROOM = RoomRef("console", "fast")
FULL_ROOM = RoomRef("console", "full")
UNBOUND = {"fast": RoomRef("console", "nowhere-fast"), "full": RoomRef("console", "nowhere-full")}
EPHEMERAL = frozenset({CAP_ATTACHMENTS, CAP_EPHEMERAL})


@dataclasses.dataclass(frozen=True)
class Step:
    user: str
    text: str
    fast: bool  # whether the common vote's path answers it
    again: str | None = None  # a step's key whose message id this one sends again
    key: str = ""
    ephemeral: bool = False
    direct: bool = False
    unbound: bool = False
    store: bool = False  # the adapters' way: answers stored with the change


def _script() -> list[Step]:
    too_long = "x" * 501
    return [
        Step("bob", "vote 1 yes", True, key="first"),
        Step("bob", "vote 1 no", True),
        Step("bob", "vote 1 no", True),  # the same vote again: a change of nothing
        Step("carol", 'vote 1 abstain reason:"away that week"', True),
        Step("bob", "vote 1 yes", True, again="first"),  # a message handled before
        Step("alice", "vote 1 YES", True, store=True),
        Step("bob", "vote 2 block", False),  # a block needs a reason: refused
        Step("bob", 'vote 2 block reason:"it breaks our lease"', True),
        Step("carol", "vote 2 agree", True, store=True),  # a consent alias
        Step("bob", "vote 2 maybe", False),  # not a choice of the method
        Step("bob", f'vote 1 no reason:"{too_long}"', False),  # a reason too long
        Step("bob", "vote 3 yes", True),  # secret: the room sees no choice
        Step("bob", "vote 3 no", True, ephemeral=True),  # where only the voter sees it
        Step("carol", "vote 3 no", True, store=True),
        Step("bob", "vote 4 A", False),  # a poll
        Step("bob", "vote 5 B>A", False),  # a ranked poll
        Step("bob", "vote 6 yes", False),  # scheduled, not open yet
        Step("bob", "vote 7 yes", False),  # closed
        Step("bob", "vote 99 yes", False),  # no such decision
        Step("dave", "vote 1 yes", False),  # not a member
        Step("erin", "vote 1 yes", False),  # joined after it opened
        Step("bob", "vote 1 no", False, direct=True),  # a direct message
        Step("bob", "vote 1 no", False, unbound=True),  # a room of no co-op
        Step("bob", "vote 1 no", False, key="late"),  # after the deadline (clock moved)
    ]


async def _setup(core: Core, room: RoomRef) -> None:
    assert "set up" in await say(core, "alice", "!coop setup Riverside Co-op", room)
    for member in ("bob", "carol"):
        assert "joined" in await say(core, "alice", f"!member add @{member}", room)
    for text in (
        "!propose Paint the shed",
        "!propose Sublet the workshop method:consent",
        "!propose Raise dues secret:yes",
        '!poll Colour? options:"Red | Blue"',
        '!poll Where? options:"Lake | Cabin | City" method:ranked',
        "!propose Later opens:1d",
        "!propose Close me",
    ):
        assert "#" in await say(core, "alice", text, room)
    assert "#7" in await say(core, "alice", "!close 7", room)
    assert "joined" in await say(core, "alice", "!member add @erin", room)


def _plain(found: list[Any], coop_id: int) -> list[tuple[str, str | None, bool, bool]]:
    """Each reply as the room sees it, its subject (the co-op's id taken out) and flags."""
    shown = []
    for item in found:
        reply = item.reply if isinstance(item, Answer) else item
        subject = (reply.subject or "").replace(f":{coop_id}:", ":C:")
        stored = reply.stored_as is not None
        shown.append((render_plain(reply), subject, reply.ephemeral, stored))
    return shown


async def _stored(core: Core, coop_id: int, side: str) -> dict[str, list[Any]]:
    """The co-op's votes, audit rows, handled messages and stored answers, without ids."""
    async with core.sessions() as session:
        votes = (
            await session.execute(
                select(
                    Decision.number,
                    Member.name,
                    Vote.choice,
                    Vote.ballot,
                    Vote.reason,
                    Vote.cast_at,
                    Vote.changes,
                )
                .join(Decision, Decision.id == Vote.decision_id)
                .join(Member, Member.id == Vote.member_id)
                .where(Decision.coop_id == coop_id)
                .order_by(Decision.number, Member.name)
            )
        ).all()
        audit = (
            await session.execute(
                select(
                    AuditEvent.at,
                    Member.name,
                    AuditEvent.actor_identity,
                    AuditEvent.message_id,
                    AuditEvent.action,
                    AuditEvent.subject,
                    AuditEvent.detail,
                )
                .outerjoin(Member, Member.id == AuditEvent.actor_id)
                .where(AuditEvent.coop_id == coop_id, AuditEvent.action.like("vote%"))
                .order_by(AuditEvent.id)
            )
        ).all()
        handled = (
            await session.execute(
                select(HandledMessage.message_id, HandledMessage.handled_at)
                .where(HandledMessage.message_id.like(f"{side}-%"))
                .order_by(HandledMessage.message_id)
            )
        ).all()
        outbox = (
            await session.scalars(
                select(OutboxMessage.document)
                .where(OutboxMessage.coop_id == coop_id)
                .order_by(OutboxMessage.id)
            )
        ).all()
    prefix = f"{side}-"
    return {
        "votes": [tuple(row) for row in votes],
        "audit": [(*row[:3], (row[3] or "").removeprefix(prefix), *row[4:]) for row in audit],
        "handled": [(row[0].removeprefix(prefix), row[1]) for row in handled],
        "outbox": [
            json.dumps(document, sort_keys=True)
            .replace(f":{coop_id}:", ":C:")
            .replace(f'"coop_id": {coop_id},', '"coop_id": "C",')
            for document in outbox
            if "Your vote" in json.dumps(document)
        ],
    }


async def _coop_id(core: Core, room: RoomRef) -> int:
    async with core.sessions() as session:
        found = await session.scalar(
            select(Coop.id)
            .join(RoomBinding, RoomBinding.coop_id == Coop.id)
            .where(RoomBinding.room_id == room.room_id)
        )
    assert found is not None
    return found


async def test_the_fast_path_answers_and_stores_what_the_full_path_does(
    core: Core, clock: ManualClock
) -> None:
    await _setup(core, FAST_ROOM)
    await _setup(core, FULL_ROOM)
    fast = core.dispatcher
    full = full_path_dispatcher(core, clock)
    taken: list[bool] = []
    fast_vote = fast._fast_vote  # a spy on the real path: did it answer?
    assert fast_vote is not None
    real_vote = fast_vote.vote

    async def spied(*args: Any, **kwargs: Any) -> Any:
        found = await real_vote(*args, **kwargs)
        taken.append(found is not None)
        return found

    fast_vote.vote = spied  # type: ignore[method-assign]
    coops = {"fast": await _coop_id(core, FAST_ROOM), "full": await _coop_id(core, FULL_ROOM)}
    rooms = {"fast": FAST_ROOM, "full": FULL_ROOM}
    ids: dict[str, int] = {}
    for k, step in enumerate(_script()):
        # Each step at its own moment (stored times differ); the last after the deadline.
        clock.advance(timedelta(days=8) if step.key == "late" else timedelta(minutes=1))
        if step.key:
            ids[step.key] = k
        number = ids[step.again] if step.again else k
        answers = {}
        for side, dispatcher in (("fast", fast), ("full", full)):
            room = UNBOUND[side] if step.unbound else rooms[side]
            inv = invocation(
                step.user,
                step.text,
                room,
                admin=False,
                message_id=f"{side}-{number:03d}",
                capabilities=EPHEMERAL if step.ephemeral else frozenset({CAP_ATTACHMENTS}),
            )
            if step.direct:
                inv = dataclasses.replace(inv, direct=True)
            before = len(taken)
            found = await dispatcher.handle(inv, shown_at_once=not step.store)
            if side == "fast":
                assert (len(taken) > before and taken[-1]) is step.fast, step
            answers[side] = _plain(list(found), coops[side])
        assert answers["fast"] == answers["full"], step
        if step.again:
            assert answers["fast"] == [], step
    stored = {side: await _stored(core, coops[side], side) for side in coops}
    for kind in ("votes", "audit", "handled", "outbox"):
        assert stored["fast"][kind] == stored["full"][kind], kind
    assert len(stored["fast"]["votes"]) == 9
    assert len(stored["fast"]["outbox"]) == 3
    assert [row[4] for row in stored["fast"]["audit"]][:3] == [
        "vote.cast",
        "vote.change",
        "vote.change",
    ]


async def test_a_fast_vote_sends_the_statements_it_needs_and_no_more(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")
    with statements_sent(core) as new:
        assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")
    with statements_sent(core) as changed:
        assert "Your vote on #1 is changed: no" in await say(core, "bob", "!vote 1 no")
    # SQLite: BEGIN (IMMEDIATE), the dedupe insert, the read, the vote, the audit.
    # PostgreSQL: the read with the dedupe insert, the vote with its audit.
    if core.engine.dialect.name == "sqlite":
        shapes = ["BEGIN", "INSERT INTO handled_messages", "SELECT coops.id", "INSERT INTO votes"]
        expected = [*shapes, "INSERT INTO audit_events"]
    else:
        expected = ["WITH handled AS", "WITH vote AS"]
    for sent in (new, changed):
        assert len(sent) == len(expected), sent
        assert all(s.startswith(e) for s, e in zip(sent, expected, strict=True)), sent
