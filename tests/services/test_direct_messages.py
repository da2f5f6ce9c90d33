"""A member votes on a secret ballot in a direct message to the bot, unseen by the room."""

from __future__ import annotations

import dataclasses

from bot.app import Core
from bot.invocation import RoomRef
from bot.render.plain import render_plain
from tests.support import invocation, say

ROOM = RoomRef("matrix", "!coop:example.org")
DM_BOB = RoomRef("matrix", "!dm-bob:example.org")


async def _direct(core: Core, user: str, text: str, room: RoomRef = DM_BOB) -> str:
    message = dataclasses.replace(invocation(user, text, room, admin=False), direct=True)
    return "\n".join(render_plain(reply) for reply in await core.handle(message))


async def test_a_secret_vote_in_a_direct_message(core: Core) -> None:
    await say(core, "@alice:example.org", "!coop setup Riverside Co-op", ROOM)
    await say(core, "@alice:example.org", "!member add @bob:example.org", ROOM)
    await say(core, "@alice:example.org", "!propose Pay rise secret:yes closes:2d", ROOM)

    voted = await _direct(core, "@bob:example.org", "!vote 1 no")
    assert "Your vote on #1 is recorded: no" in voted  # private: the choice may be shown

    shown = await say(core, "@alice:example.org", "!show 1", ROOM)
    assert "turnout 1/2" in shown and "no 1" not in shown


async def test_direct_messages_need_a_single_coop_and_no_room_commands(core: Core) -> None:
    other = RoomRef("matrix", "!other:example.org")
    assert "not a member" not in await _direct(core, "@bob:example.org", "!help")
    refused = await _direct(core, "@bob:example.org", "!vote 1 yes")
    assert "Only members of this co-op" in refused or "not bound" in refused

    await say(core, "@alice:example.org", "!coop setup Riverside Co-op", ROOM)
    await say(core, "@alice:example.org", "!member add @bob:example.org", ROOM)
    setup = await _direct(core, "@bob:example.org", "!coop setup Bob's own")
    assert "works in a group room, not in a direct message" in setup

    await say(core, "@carol:example.org", "!coop setup Hilltop Co-op", other)
    await say(core, "@carol:example.org", "!member add @bob:example.org", other)
    ambiguous = await _direct(core, "@bob:example.org", "!list")
    assert "You belong to several co-ops (Riverside Co-op, Hilltop Co-op)" in ambiguous
