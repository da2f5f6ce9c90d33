"""A member's encrypted command whose room key reaches the bot only after the message: the
bot holds it, answers it once the key comes (across a restart too), and runs the member's
later commands after it, in the order sent."""

from __future__ import annotations

import pytest

from bot.app import Core
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import body_contains, reply_to
from tests.matrix.matrix_story import (
    body,
    coop_room,
    handled_count,
    sentinel,
    stored_votes,
)

pytestmark = pytest.mark.synapse


async def test_a_command_whose_key_comes_after_a_restart_is_answered_once(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n, e2e=True) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id, encrypted=True)

    asked, key = await alice.say_keeping_key_from(
        coop.room_id, "!propose Paint the shed", bot.user_id
    )
    # Bob's later command is answered: the bot has read alice's, and could not decrypt it.
    await sentinel(bob, coop.room_id, bot.user_id)
    await bot.restart()
    await key.send()

    answer = await alice.wait_for(coop.room_id, reply_to(asked, bot.user_id))
    assert "Proposal #1 opened" in body(answer)
    await sentinel(alice, coop.room_id, bot.user_id)  # a second answer would be in by now
    assert len(alice.find(coop.room_id, reply_to(asked, bot.user_id))) == 1
    assert await handled_count(core, asked) == 1


async def test_a_members_later_commands_wait_behind_an_unreadable_one(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n, e2e=True) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id, encrypted=True)

    proposed, key = await alice.say_keeping_key_from(
        coop.room_id, "!propose Paint the shed", bot.user_id
    )
    voted = await alice.say(coop.room_id, "!vote 1 yes")  # readable: a session shared as usual
    await sentinel(bob, coop.room_id, bot.user_id)
    await key.send()

    opened = await alice.wait_for(coop.room_id, reply_to(proposed, bot.user_id))
    assert "Proposal #1 opened" in body(opened)
    vote = await alice.wait_for(coop.room_id, reply_to(voted, bot.user_id))
    assert "recorded: yes" in body(vote), body(vote)
    assert await stored_votes(core, 1) == {alice.user_id: "yes"}


async def test_a_members_client_reads_a_message_whose_key_came_after_it(
    people: PersonFactory,
) -> None:
    # The race behind the flaky first direct message, made certain: the tests' member
    # client keeps what it could not decrypt and decrypts it once the key is in.
    alice, bob = [await people(n, e2e=True) for n in ("alice", "bob")]
    room = await alice.create_room("Pair", invite=[bob.user_id], encrypted=True)
    await bob.join(room)
    await alice.sync()
    await alice.say(room, "hello")  # sets up alice's Olm session with bob's device
    sent, key = await alice.say_keeping_key_from(room, "the first message", bob.user_id)
    unread = await bob.wait_for(room, lambda event: event.get("event_id") == sent)
    assert unread["type"] == "m.room.encrypted" and sent in bob.undecryptable

    await key.send()
    read = await bob.wait_for(room, body_contains("the first message", alice.user_id))
    assert read["event_id"] == sent
    assert not bob.undecryptable
