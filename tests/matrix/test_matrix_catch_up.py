"""A Matrix live card left stale before its first edit: the process holding the connection
counted a vote and died before editing the card, which still shows how the decision
opened; the next holder's catch-up finds it (by the card as posted, there being no edit
to read) and refreshes it once. Real clients against a real Synapse."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest

from bot.app import Core
from bot.clock import ManualClock
from bot.invocation import RoomRef, build_invocation
from tests.matrix.conftest import BotFactory, PersonFactory, RunningBot
from tests.matrix.matrix_story import body, coop_room, sentinel
from tests.matrix.test_matrix_live_card import edit_of, edits

pytestmark = pytest.mark.synapse


async def test_a_card_never_edited_when_its_holder_died_is_refreshed_by_the_next_one(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    clock = cast(ManualClock, core.clock)
    bot = await matrix_bot(core, clock=clock)
    coop = await coop_room(alice, [bob], bot.user_id)
    behind = await coop.run(alice, "!propose Paint the door")
    current = await coop.run(alice, "!propose Fix the gate")
    secret = await coop.run(alice, "!propose Elect a treasurer secret:yes")
    assert "yes 1" not in body(behind), body(behind)  # as it opened

    # The holder dies (as SIGKILL would); the vote it had counted just before is stored,
    # its confirmation sent, and the card never edited.
    assert bot.task is not None
    bot.task.cancel()
    await asyncio.gather(bot.task, return_exceptions=True)
    bot.task = bot.adapter = None
    vote = build_invocation(
        RoomRef("matrix", coop.room_id), bob.user_id, "vote 1 yes", "$counted-then-died"
    )
    await core.handle(vote)
    assert await edits(alice, coop.room_id, behind["event_id"], bot.user_id) == []

    # The next holder, a new adapter on the same account and database, takes over.
    successor = RunningBot(bot.settings, core, clock=clock)
    await successor.start()
    try:
        final = "yes 1 · no 0 · abstain 0"
        await alice.wait_for(coop.room_id, edit_of(behind["event_id"], bot.user_id, final))
        await sentinel(alice, coop.room_id, bot.user_id)
        shown = await edits(alice, coop.room_id, behind["event_id"], bot.user_id)
        assert len(shown) == 1 and final in shown[0], shown  # one refresh, no more
        # A card never edited that shows its decision as it stands is left alone.
        for untouched in (current, secret):
            assert await edits(alice, coop.room_id, untouched["event_id"], bot.user_id) == []
    finally:
        await successor.stop()
