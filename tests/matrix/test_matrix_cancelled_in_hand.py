"""On a real Synapse: when the adapter's run is cancelled (a stop whose grace ran out), the
members' messages it has in hand are cancelled and have ended before its client closes:
none of them can go on to send on a closed client (nio would open a new session for it
that nothing closes), and nothing else it started is left running either."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest

from bot.app import Core
from bot.invocation import Invocation
from bot.ports import Answer, CoreAPI
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_story import coop_room

GUARD = 60.0


class StuckCore:
    """The real core, but one member's commands never finish: cancelled, each takes a
    round trip to another thread to wind down (as a rollback does), then notes whether
    the bot's client was still open."""

    def __init__(self, core: Core, stuck: str) -> None:
        self._core = core
        self.stuck = stuck
        self.client: Any = None  # the bot's nio client, once it runs
        self.waiting = asyncio.Event()
        self.client_open_at_end: list[bool] = []

    async def answer(self, invocation: Invocation) -> Sequence[Answer]:
        if invocation.actor.user_id != self.stuck:
            return await self._core.answer(invocation)
        self.waiting.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(lambda: None)
            session = self.client.client_session
            self.client_open_at_end.append(session is not None and not session.closed)
        raise AssertionError("unreachable: the wait above never ends")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)


async def test_a_cancelled_adapter_ends_what_it_has_in_hand_before_its_client_closes(
    core: Core, people: PersonFactory, matrix_bot: BotFactory
) -> None:
    steward, alice = await people("steward"), await people("alice")
    stuck = StuckCore(core, alice.user_id)
    before = asyncio.all_tasks()
    bot = await matrix_bot(cast(CoreAPI, stuck))
    assert bot.adapter is not None and bot.task is not None
    stuck.client = bot.adapter.client
    room = await coop_room(steward, [alice], bot.user_id)
    await alice.say(room.room_id, "!tasks")
    await asyncio.wait_for(stuck.waiting.wait(), GUARD)

    running = bot.task
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(running, GUARD)
    bot.task = None  # ended: the fixture has nothing left to stop

    assert stuck.client_open_at_end == [True]
    # Nothing the adapter started is left running: not a member's message, not the sync
    # request (nio would retry it on a new session).
    left = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert [task.get_coro() for task in left] == []
    session = stuck.client.client_session
    assert session is None or session.closed
