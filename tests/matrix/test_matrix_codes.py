"""One-time codes on Matrix: asked for in the group room, a code goes to a direct message
with the person who asked (encrypted, since the bot has end-to-end encryption), and the
room, read by another member on the real homeserver, never carries it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.db.models import Coop
from bot.render.document import Reply, line, private
from bot.services.outbox import announce
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import Person, body_contains
from tests.matrix.matrix_story import body, command, coop_room, private_answer
from tests.support import one_time_code

pytestmark = pytest.mark.synapse

SENT_PRIVATELY = "Sent to you privately, in a direct message"


async def whole_timeline(reader: Person, room_id: str) -> str:
    """Every event of the room as `reader` gets it from the homeserver, as one text."""
    return json.dumps(await reader.history(room_id))


async def test_codes_asked_for_in_the_group_room_reach_only_the_asker(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice = await people("alice", e2e=True)
    bob = await people("bob", e2e=True)
    carol = await people("carol")
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id)

    asked = await coop.run(bob, "!member link")
    assert body(asked) == SENT_PRIVATELY
    dm, message = await private_answer(bob, bot.user_id, "Link code:")
    code = one_time_code(body(message))
    assert "works once, for 15 minutes" in body(message)

    # Only bob and the bot are in that room, and what the bot sent there was encrypted.
    assert bot.adapter is not None
    room = bot.adapter.client.rooms[dm]
    assert set(room.users) == {bot.user_id, bob.user_id} and room.encrypted
    assert room.join_rule == "invite"
    assert not bob.undecryptable

    # A second private reply for bob goes to the same room.
    again = await coop.run(bob, "!member link")
    assert body(again) == SENT_PRIVATELY
    await bob.wait_for(dm, lambda e: "Link code:" in body(e) and code not in body(e))

    # Alice's bind code goes to her own direct message.
    assert body(await coop.run(alice, "!coop code")) == SENT_PRIVATELY
    alices_dm, bind = await private_answer(alice, bot.user_id, "Bind code for Riverside")
    bind_code = one_time_code(body(bind))
    assert alices_dm != dm

    # Carol reads the whole group room from the homeserver: no code is in it.
    seen = await whole_timeline(carol, coop.room_id)
    assert SENT_PRIVATELY in seen
    assert code not in seen and bind_code not in seen
    assert code.replace("-", "") not in seen and bind_code.replace("-", "") not in seen
    # Nor can she join either direct message to read it there.
    for private_room in (dm, alices_dm):
        refused = await carol.client.join(private_room)
        assert getattr(refused, "status_code", None) == "M_FORBIDDEN", refused


async def test_a_code_asked_for_in_a_direct_message_is_answered_there(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice = await people("alice")
    bob = await people("bob")
    bot = await matrix_bot(core)
    await coop_room(alice, [bob], bot.user_id)

    dm = await bob.create_room("", invite=[bot.user_id], direct=True)
    await bob.wait_for(
        dm,
        lambda e: (
            e.get("type") == "m.room.member"
            and e.get("state_key") == bot.user_id
            and e.get("content", {}).get("membership") == "join"
        ),
    )
    answer = await command(bob, dm, bot.user_id, "!member link")
    assert "Link code:" in body(answer)
    one_time_code(body(answer))
    assert not bob.invites  # nothing else was opened for it


async def test_a_private_reply_from_the_outbox_goes_only_to_a_direct_message(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice = await people("alice")
    bob = await people("bob", e2e=True)
    carol = await people("carol")
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id)

    # However a private reply reaches the outbox, its delivery never posts to the room.
    secret = private(f"matrix:{bob.user_id}", line("Link code: 7K3Q-M2XD-9TPA-W4RE"))
    async with core.sessions() as session, session.begin():
        coop_id = await session.scalar(select(Coop.id))
        assert coop_id is not None
        await announce(session, core.clock, coop_id, secret)

    _, message = await private_answer(bob, bot.user_id, "Link code: 7K3Q-M2XD-9TPA-W4RE")
    assert message["sender"] == bot.user_id
    # A sentinel: the outbox is drained in order, so once a later announcement is in the
    # room, whatever the private one put there is in too.
    async with core.sessions() as session, session.begin():
        await announce(session, core.clock, coop_id, Reply(blocks=(line("Sentinel"),)))
    await carol.wait_for(coop.room_id, body_contains("Sentinel", bot.user_id))
    assert "7K3Q-M2XD-9TPA-W4RE" not in await whole_timeline(carol, coop.room_id)
    assert SENT_PRIVATELY not in await whole_timeline(carol, coop.room_id)  # nobody asked there
