"""On a real Synapse: messages from different members are handled at the same time, each
member's own in order, every one answered exactly once, none lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import pytest

from bot.app import Core
from bot.invocation import Invocation
from bot.ports import Answer, CoreAPI
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import Person, reply_to
from tests.matrix.matrix_story import body, coop_room, handled_count, stored_votes

GUARD = 60.0
MEMBERS = 8  # more joins than a sync's timeline holds would hide the bot's own join
EACH = 6


class HeldCore:
    """The real core, but the commands of one member wait at a gate before they run."""

    def __init__(self, core: Core, held: str) -> None:
        self._core = core
        self.held = held
        self.waiting = asyncio.Event()
        self.gate = asyncio.Event()

    async def answer(self, invocation: Invocation) -> Sequence[Answer]:
        if invocation.actor.user_id == self.held:
            self.waiting.set()
            await self.gate.wait()
        return await self._core.answer(invocation)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)


async def test_one_members_slow_command_does_not_hold_up_another_member(
    core: Core, people: PersonFactory, matrix_bot: BotFactory
) -> None:
    steward, alice, bob = await people("steward"), await people("alice"), await people("bob")
    held = HeldCore(core, alice.user_id)
    bot = await matrix_bot(cast(CoreAPI, held))
    room = await coop_room(steward, [alice, bob], bot.user_id)
    await room.run(steward, "!propose Paint the hall closes:3d")
    first = await alice.say(room.room_id, "!vote 1 yes")
    second = await alice.say(room.room_id, "!vote 1 no")
    await asyncio.wait_for(held.waiting.wait(), GUARD)
    # Alice's vote is stuck in the core; Bob's is answered meanwhile.
    bobs = await bob.say(room.room_id, "!vote 1 yes")
    answered = await bob.wait_for(room.room_id, reply_to(bobs, bot.user_id), within=GUARD)
    assert "yes" in body(answered)
    assert alice.find(room.room_id, reply_to(first, bot.user_id)) == []
    held.gate.set()
    await alice.wait_for(room.room_id, reply_to(second, bot.user_id), within=GUARD)
    votes = await stored_votes(core, 1)
    assert votes[alice.user_id] == "no" and votes[bob.user_id] == "yes"  # alice's in order


async def answered_all(
    observer: Person, room_id: str, bot_id: str, asked: set[str]
) -> list[dict[str, Any]]:
    """The room's history once the bot has replied to every event in `asked`."""
    deadline = time.monotonic() + GUARD
    while True:
        history = await observer.history(room_id)
        replied = {
            event.get("content", {})
            .get("m.relates_to", {})
            .get("m.in_reply_to", {})
            .get("event_id")
            for event in history
            if event.get("sender") == bot_id
        }
        if asked <= replied:
            return history
        assert time.monotonic() < deadline, f"{len(asked - replied)} of {len(asked)} unanswered"
        await observer.sync(timeout_ms=500)  # waits for the next event in any room


async def test_a_burst_from_many_members_is_answered_once_each_in_each_members_order(
    core: Core,
    people: PersonFactory,
    matrix_bot: BotFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    steward = await people("steward")
    members = [await people(f"m{n}") for n in range(MEMBERS)]
    bot = await matrix_bot(core)
    room = await coop_room(steward, members, bot.user_id)
    await room.run(steward, "!propose Burst closes:3d")
    caplog.set_level(logging.WARNING)
    asked: dict[str, tuple[str, int]] = {}  # event id → (member, index in their messages)
    last: dict[str, str] = {}

    async def burst(member: Any) -> None:
        for index in range(EACH):
            choice = "yes" if (index + len(member.user_id)) % 2 else "no"
            asked[await member.say(room.room_id, f"!vote 1 {choice}")] = (member.user_id, index)
            last[member.user_id] = choice

    await asyncio.gather(*(burst(m) for m in members))
    # Every command is answered (read from the room's whole history: a sync's timeline
    # would skip some of a burst)…
    history = await answered_all(steward, room.room_id, bot.user_id, set(asked))
    # …exactly once, and each member's answers come in the order they asked.
    replies: dict[str, list[int]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for event in history:
        target = event.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {})
        found = asked.get(target.get("event_id", ""))
        if event.get("sender") == bot.user_id and found is not None:
            counts[target["event_id"]] += 1
            replies[found[0]].append(found[1])
            assert "went wrong" not in body(event) and "collided" not in body(event)
    assert set(counts) == set(asked) and set(counts.values()) == {1}
    assert {member: order for member, order in replies.items()} == {
        m.user_id: list(range(EACH)) for m in members
    }
    assert await stored_votes(core, 1) == last  # each member's last vote counts
    for event_id in list(asked)[:5]:
        assert await handled_count(core, event_id) == 1
    assert not [r for r in caplog.records if "locked" in r.getMessage()]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
