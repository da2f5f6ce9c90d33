"""The proposal story in an end-to-end encrypted room, with the bot restarted midway."""

from __future__ import annotations

import pytest

from bot.app import Core
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import reaction_to
from tests.matrix.matrix_story import body, coop_room, stored_decision, stored_votes

pytestmark = pytest.mark.synapse


async def test_an_encrypted_room_runs_a_proposal_across_a_bot_restart(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol = [await people(n, e2e=True) for n in ("alice", "bob", "carol")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id, encrypted=True)

    opened = await coop.run(alice, "!propose Adopt the kitchen rota")
    assert "Proposal #1 opened" in body(opened)
    poll = await coop.poll_for(bob, 1)
    assert "m.poll" in poll["content"]  # the members' clients could read it
    await coop.run(bob, "!vote 1 yes")

    assert bot.adapter is not None
    device_before = bot.adapter.client.device_id
    await bot.restart()
    assert bot.adapter.client.device_id == device_before  # same device, same keys

    click = await carol.answer_poll(coop.room_id, poll["event_id"], ["no"])
    await carol.wait_for(
        coop.room_id,
        reaction_to(click, bot.user_id),
    )
    changed = await coop.run(alice, "!vote 1 yes")
    assert "recorded: yes" in body(changed)
    closed = await coop.run(alice, "!close 1")
    assert "PASSED" in body(closed)
    ended = await coop.poll_end(alice, poll["event_id"])
    assert "PASSED" in ended["content"]["body"]

    assert await stored_votes(core, 1) == {
        alice.user_id: "yes",
        bob.user_id: "yes",
        carol.user_id: "no",
    }
    assert (await stored_decision(core, 1)).outcome == "passed"
    # Every message from the bot reached the members decrypted.
    for person in (alice, bob, carol):
        assert not any(
            e.get("sender") == bot.user_id and e.get("type") == "m.room.encrypted"
            for e in person.seen[coop.room_id]
        )
