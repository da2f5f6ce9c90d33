"""Announcements reach every channel bound to the co-op through the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from discord_world import Server, button_labels, card_text

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.clock import ManualClock
from tests.support import one_time_code

pytestmark = pytest.mark.simcord


async def test_a_proposal_reaches_a_second_bound_channel_and_votes_there_count(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    workshop = server.guild.create_text_channel("workshop")
    issued = await alice.slash(server.channel, "coop code")
    assert issued.ephemeral
    code = one_time_code(issued.response.content)
    bound = await alice.slash(workshop, "coop bind", code=code)
    assert "now bound to Riverside Co-op" in bound.response.content

    card = (await bob.slash(server.channel, "propose", title="Buy a lathe")).response.message
    # The adapter's own outbox loop picks the announcement up on its next round.
    await server.env.advance_time(2.5)

    copy = workshop.last_message
    assert copy is not None and "Proposal #1 opened" in card_text(copy)
    assert button_labels(copy) == ["yes", "no", "abstain"]
    assert await adapter.deliver_pending() == 0  # delivered once, never again

    await alice.click(copy, label="yes")

    # Both cards show the vote, wherever it was cast.
    assert "yes 1" in card_text(server.message(card.id))
    assert "yes 1" in card_text(workshop.history()[-1])


async def test_the_outbox_retries_a_send_that_failed_after_a_back_off(
    server: Server, core: Core, adapter: DiscordAdapter, clock: ManualClock
) -> None:
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)
    workshop = server.guild.create_text_channel("workshop")
    code = one_time_code((await alice.slash(server.channel, "coop code")).response.content)
    await alice.slash(workshop, "coop bind", code=code)
    await alice.slash(server.channel, "propose", title="Buy a lathe")
    before = len(workshop.history())

    server.env.inject_error("POST", f"/channels/{workshop.id}/messages", status=500)
    assert await adapter.deliver_pending() == 0
    await server.env.settle()
    assert len(workshop.history()) == before

    # Not again at once (a failing platform is not hammered), but after the back-off.
    assert await adapter.deliver_pending() == 0
    clock.advance(timedelta(seconds=5))
    assert await adapter.deliver_pending() == 1
    await server.env.settle()
    assert "Proposal #1 opened" in card_text(workshop.last_message)
