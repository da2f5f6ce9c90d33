"""A Discord card keeps a closed decision's result: a vote's refresh that read the card
before the decision closed never edits it after the close's edit (the edits take turns per
decision, adapters/discord/card_turns.py), and an update from the outbox sent after the
close shows the decision as it stands now."""

from __future__ import annotations

import asyncio
import re

import discord
import pytest
import simcord

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.intents import CardUpdated, DecisionRef
from bot.invocation import RoomRef
from bot.outgoing import Delivery
from tests.contract.drivers.discord import DiscordDriver
from tests.contract.test_bridged_live_cards import SlowCardReads, counts
from tests.discord.discord_world import Server, button_labels


def the_card(channel: simcord.ChannelHandle, number: int) -> discord.Message:
    """The one card of decision #number posted in `channel` (its title names it)."""
    found = [
        m
        for m in channel.history()
        if not m.flags.ephemeral
        and m.embeds
        and re.search(rf"#{number}\b", m.embeds[0].title or "")
    ]
    assert len(found) == 1, found
    return found[0]


def card_edits(env: simcord.Env, card: discord.Message) -> list[str]:
    """What each edit of `card` made it show (its embed's text), in order."""
    path = f"/channels/{card.channel.id}/messages/{card.id}"
    return [
        " ".join(str(embed.get("description", "")) for embed in r.json.get("embeds", []))
        for r in env.http_requests
        if r.method == "PATCH" and r.path == path and isinstance(r.json, dict)
    ]


@pytest.mark.simcord
async def test_a_refresh_read_before_the_close_never_edits_the_card_after_it(
    core: Core, discord_server: Server, discord_adapter: DiscordAdapter
) -> None:
    slow = SlowCardReads(core, discord_server.env)
    discord_adapter.attach(slow)  # type: ignore[arg-type]
    slow.live_cards.join(discord_adapter.live)  # attached after `ready`, which joins it
    discord_driver = DiscordDriver(discord_server, discord_adapter)
    await discord_driver.setup("alice", "bob")
    await discord_driver.send("alice", "propose Bridge the rooms")
    await discord_driver.press("bob", 1, "yes")
    card = the_card(discord_server.channel, 1)
    assert counts(await discord_driver.card(1)) == (1, 0, 0, 1)

    # A refresh (say, of a vote cast on Matrix) has read the open card; the decision
    # closes before its edit goes out.
    slow.armed = True
    discord_adapter.live.mark_stale(DecisionRef(coop_id=1, number=1))
    await discord_driver.env.advance_time(2.5)  # the adapter's timer flushes the stale card
    await asyncio.wait_for(slow.read.wait(), 60)
    await discord_driver.send("alice", "close 1")
    assert "PASSED" in await discord_driver.card(1)
    slow.gate.set()
    await discord_driver.settle()

    assert "PASSED" in await discord_driver.card(1) and await discord_driver.controls(1) == []

    # The close's edit is the card's last: the refresh's older count never lands after it.
    shown = card_edits(discord_driver.env, card)
    closed_at = next(n for n, text in enumerate(shown) if "PASSED" in text)
    assert all("PASSED" in text for text in shown[closed_at:]), shown[closed_at:]
    assert discord_adapter.outgoing.turns.in_flight() == 0  # nothing kept once done


@pytest.mark.simcord
async def test_an_update_from_the_outbox_sent_after_the_close_shows_the_result(
    core: Core, discord_server: Server, discord_adapter: DiscordAdapter
) -> None:
    discord_driver = DiscordDriver(discord_server, discord_adapter)
    await discord_driver.setup("alice", "bob")
    await discord_driver.send("alice", "propose Bridge the rooms")
    await discord_driver.press("bob", 1, "yes")
    card = the_card(discord_server.channel, 1)
    ref = DecisionRef(coop_id=1, number=1)
    queued = await core.card(ref)  # an update queued while the decision was open...
    assert queued is not None and queued.choices is not None and not queued.choices.closed
    await discord_driver.send("alice", "close 1")
    await discord_driver.settle()

    # ...and sent only after the close (a retry): the card keeps the result and no controls.
    late = Delivery(
        delivery_id=1,
        room=RoomRef("discord", str(discord_server.channel.id)),
        reply=queued,
        key="late-update",
        given_intent=CardUpdated(ref=ref, news=True),
    )
    await discord_adapter.outgoing.deliver(late)
    await discord_driver.settle()

    shown = card_edits(discord_driver.env, card)
    assert "PASSED" in shown[-1], shown[-1]
    now = next(m for m in discord_server.channel.history() if m.id == card.id)
    assert "PASSED" in (now.embeds[0].description or "") and button_labels(now) == []
