"""Which live cards a process that takes over a platform's connection checks (bot.live):
those of open decisions, on that platform only, on every database."""

from __future__ import annotations

import pytest

from bot.app import Core
from bot.intents import DecisionRef
from bot.live import open_live_cards
from tests.support import say, setup_coop

pytestmark = pytest.mark.database


async def test_the_live_cards_of_open_decisions_on_one_platform(core: Core) -> None:
    await setup_coop(core)
    for title in ("Paint the door", "Fix the gate", "Buy a ladder"):
        assert "opened" in await say(core, "bob", f"!propose {title}")
    assert "NO QUORUM" in await say(core, "alice", "!close 2")
    refs = [DecisionRef(coop_id=1, number=n) for n in (1, 2, 3)]  # the new database's co-op
    for ref in refs:
        await core.link_live_card("matrix", "!room", f"$card{ref.number}", ref)
        await core.link_card("matrix", "!room", f"$poll{ref.number}", ref)  # not a live card
    await core.link_live_card("discord", "1", "99", refs[0])

    found = await open_live_cards(core, "matrix")

    assert found == [(refs[0], "!room", "$card1"), (refs[2], "!room", "$card3")]
    assert await open_live_cards(object(), "matrix") == []  # a core without a database
