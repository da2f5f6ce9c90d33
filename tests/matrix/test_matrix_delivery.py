"""On a real Synapse: a command committed just before a crash is answered after the
restart, once; an answer sent just before a crash is not sent a second time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import cast

import pytest
from sqlalchemy import func, select

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.db.models import OutboxDelivery
from bot.services.outbox import LEASE
from tests.matrix.conftest import BotFactory, PersonFactory, RunningBot
from tests.matrix.matrix_people import Person, reply_to
from tests.matrix.matrix_story import coop_room, matching, poll_of


class Crash(Exception):
    """The process dies here."""


async def _later_proposal_is_announced(person: Person, room: str, bot_id: str) -> None:
    """A sentinel: a later proposal is answered and its poll posted. Messages are handled
    and the outbox drained in order, so a second answer or poll for an earlier proposal
    would have arrived before these."""
    later = await person.say(room, "!propose Plant a hedge")
    await person.wait_for(room, reply_to(later, bot_id))
    await person.wait_for(room, poll_of(bot_id, 2))


async def _restart_after_crash(bot: RunningBot, core: Core) -> Core:
    """The crashed adapter is gone; a new process (new core, same database, same Matrix
    device) starts once the dead one's short lease has run out."""
    assert bot.task is not None
    with pytest.raises(Crash):
        await asyncio.wait_for(bot.task, timeout=30)
    bot.adapter, bot.task = None, None
    clock = cast(ManualClock, core.clock)
    clock.advance(LEASE + timedelta(seconds=1))
    restarted = await create_core(core.settings, clock)
    bot.core = restarted
    await bot.start()
    return restarted


async def test_a_proposal_committed_just_before_a_crash_is_answered_once_after_restart(
    people: PersonFactory,
    matrix_bot: BotFactory,
    core: Core,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)

    async def crash(*_: object) -> bool:
        raise Crash

    # The proposal commits; the process dies before its answer is sent.
    monkeypatch.setattr(core, "deliver", crash)
    proposal = await alice.say(coop.room_id, "!propose Keep the bees")
    restarted = await _restart_after_crash(bot, core)

    # The homeserver replays the message (the sync token was not saved): the core knows
    # it, and the stored answer is what the restarted bot sends.
    await alice.wait_for(coop.room_id, reply_to(proposal, bot.user_id))
    await _later_proposal_is_announced(alice, coop.room_id, bot.user_id)
    answers = await matching(alice, coop.room_id, reply_to(proposal, bot.user_id))
    assert len(answers) == 1
    assert "Proposal #1 opened" in answers[0]["content"]["body"]
    assert len(await matching(alice, coop.room_id, poll_of(bot.user_id, 1))) == 1
    await bot.stop()
    await restarted.close()


async def test_an_answer_sent_just_before_a_crash_is_not_sent_again(
    people: PersonFactory,
    matrix_bot: BotFactory,
    core: Core,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)

    async def crash(*_: object) -> None:
        raise Crash

    # The answer reaches the room; the process dies before marking it sent.
    monkeypatch.setattr(core.courier, "_mark", crash)
    proposal = await alice.say(coop.room_id, "!propose Keep the bees")
    restarted = await _restart_after_crash(bot, core)

    # The restarted bot sends it again with the same transaction id: Synapse returns
    # the event it already has, so the room shows one answer and one poll.
    await alice.wait_for(coop.room_id, reply_to(proposal, bot.user_id))
    await _later_proposal_is_announced(alice, coop.room_id, bot.user_id)
    assert len(await matching(alice, coop.room_id, reply_to(proposal, bot.user_id))) == 1
    assert len(await matching(alice, coop.room_id, poll_of(bot.user_id, 1))) == 1
    async with restarted.sessions() as session:
        left = await session.scalar(
            select(func.count())
            .select_from(OutboxDelivery)
            .where(OutboxDelivery.reply_to.is_not(None))
        )
    assert left == 0  # the resend was marked
    await bot.stop()
    await restarted.close()
