"""One co-op bridged across Discord and Matrix: one person, one vote, wherever they act."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import Core
from bot.db.models import RoomBinding, Vote
from bot.invocation import RoomRef
from tests.support import announcements, one_time_code, say

DISCORD = RoomRef("discord", "4242")
MATRIX = RoomRef("matrix", "!coop:example.org")


async def test_a_person_linked_on_two_platforms_votes_once(core: Core) -> None:
    # Alice sets the co-op up on Discord and binds a Matrix room with a one-time code.
    assert "set up" in await say(core, "100000001", "/coop setup Riverside Co-op", DISCORD)
    code = one_time_code(await say(core, "100000001", "/coop code", DISCORD))
    bound = await say(core, "@alice:example.org", f"!coop bind {code}", MATRIX)
    assert "now bound to Riverside Co-op" in bound
    # The code works once.
    again = await say(core, "@eve:example.org", f"!coop bind {code}", RoomRef("matrix", "!x:y"))
    assert "That code does not work" in again

    # Alice links her Matrix identity to her Discord membership.
    link = one_time_code(await say(core, "100000001", "/member link", DISCORD))
    linked = await say(core, "@alice:example.org", f"!member link {link}", MATRIX)
    assert "linked matrix identity" in linked

    # Bob is admitted on Discord; a proposal opens there and is announced in Matrix too.
    await say(core, "100000001", "/member add <@100000002>", DISCORD)
    opened = await say(core, "100000001", "/propose Bridge the rooms closes:1d", DISCORD)
    assert "Proposal #1 opened" in opened and "of 2 eligible" in opened
    assert any("Proposal #1 opened" in text for text in await announcements(core, "matrix"))
    assert await announcements(core, "discord") == []  # the origin room had it as the reply

    # Alice votes on Discord, changes her mind on Matrix: still one vote, the last one.
    await say(core, "100000001", "/vote 1 yes", DISCORD)
    changed = await say(core, "@alice:example.org", "!vote 1 no", MATRIX)
    assert "changed" in changed
    async with core.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Vote)) == 1
        assert await session.scalar(select(Vote.choice)) == "no"
        rooms = (await session.scalars(select(RoomBinding.platform))).all()
    assert sorted(rooms) == ["discord", "matrix"]
    shown = await say(core, "<@100000002>", "!show 1", MATRIX)
    assert "turnout 1/2" in shown


async def test_a_linked_identity_cannot_be_claimed_twice(core: Core) -> None:
    await say(core, "100000001", "/coop setup Riverside Co-op", DISCORD)
    code = one_time_code(await say(core, "100000001", "/coop code", DISCORD))
    await say(core, "@alice:example.org", f"!coop bind {code}", MATRIX)
    await say(core, "100000001", "/member add @bob:example.org", DISCORD)
    link = one_time_code(await say(core, "100000001", "/member link", DISCORD))
    refused = await say(core, "@bob:example.org", f"!member link {link}", MATRIX)
    assert "already belongs to @bob" in refused
