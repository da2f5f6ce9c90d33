"""A crash never costs an answer and never posts one twice: resends carry the row's nonce,
and a private answer that missed its interaction reaches its member alone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from discord_world import Server

from adapters.discord import DiscordAdapter
from adapters.discord.adapter import CAPABILITIES
from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.invocation import RoomRef, build_invocation
from bot.services.outbox import LEASE

pytestmark = pytest.mark.simcord


class Crash(Exception):
    """The process dies here."""


def _posts(server: Server, channel_id: int) -> list[Any]:
    return [
        request.json
        for request in server.env.http_requests
        if request.method == "POST" and request.path == f"/channels/{channel_id}/messages"
    ]


async def test_a_resend_after_a_crash_between_send_and_mark_carries_the_same_nonce(
    server: Server,
    core: Core,
    adapter: DiscordAdapter,
    settings: Settings,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)
    workshop = server.guild.create_text_channel("workshop")
    issued = await alice.slash(server.channel, "coop code")
    code = re.findall(r"`([^`]+)`", issued.response.content)[0]
    await alice.slash(workshop, "coop bind", code=code)
    await alice.slash(server.channel, "task add", title="Oil the lathe")

    async def crash(*_: object) -> None:
        raise Crash

    # The announcement reaches the workshop; the process dies before marking it sent.
    monkeypatch.setattr(core.courier, "_mark", crash)
    with pytest.raises(Crash):
        await adapter.deliver_pending()
    await server.env.settle()
    assert len(_posts(server, workshop.id)) == 1

    # The bot restarts on the same database; the dead process's lease runs out.
    restarted = await create_core(settings, clock)
    adapter.attach(restarted)
    clock.advance(LEASE + timedelta(seconds=1))
    assert await adapter.deliver_pending() == 1
    await server.env.settle()
    first, again = _posts(server, workshop.id)
    # Discord answers a send with a nonce it saw from the bot in the last minutes with the
    # message it already has (enforce_nonce): one message in the channel. simcord does
    # not model that, so what is checked here is what Discord relies on.
    assert first["nonce"] == again["nonce"]
    assert first["enforce_nonce"] is True and again["enforce_nonce"] is True
    assert await adapter.deliver_pending() == 0
    await restarted.close()


async def test_a_private_answer_that_missed_its_interaction_reaches_the_member_alone(
    server: Server,
    core: Core,
    adapter: DiscordAdapter,
    settings: Settings,
    clock: ManualClock,
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    await alice.slash(server.channel, "propose", title="Buy a lathe")
    before = len(server.channel.history())

    # bob votes; the core commits it, and the process dies before the interaction is
    # answered (the invocation is the one the adapter builds for his click).
    vote = build_invocation(
        RoomRef("discord", str(server.channel.id)),
        str(bob.id),
        "vote 1 yes",
        "1456074443980800999",
        display_name="bob",
        capabilities=CAPABILITIES,
    )
    (answer,) = await core.answer(vote)
    assert answer.delivery is not None and answer.reply.ephemeral

    restarted = await create_core(settings, clock)
    adapter.attach(restarted)
    clock.advance(LEASE + timedelta(seconds=1))
    assert await adapter.deliver_pending() == 1
    await server.env.settle()

    (late,) = bob.user.dm_channel.history()
    assert "Your vote on #1 is recorded: **yes**" in late.content
    assert len(server.channel.history()) == before  # nothing of it in the channel
    await restarted.close()
