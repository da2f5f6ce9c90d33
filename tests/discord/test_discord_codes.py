"""One-time codes on Discord reach only the person who asked: an ephemeral answer, or a
direct message when a private reply comes by another path; never a channel message."""

from __future__ import annotations

import discord
import pytest
import simcord
from discord_world import TOKEN, Server
from sqlalchemy import select

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.config import DiscordSettings
from bot.db.models import Coop
from bot.render.document import line, private
from bot.services.outbox import announce
from tests.support import one_time_code

pytestmark = pytest.mark.simcord


def seen_by(person: simcord.MemberActor, channel: simcord.ChannelHandle) -> str:
    """Everything `person` can read in `channel`: contents and embeds."""
    texts: list[str] = []
    for message in channel.history(viewer=person):
        texts.append(message.content)
        texts.extend(f"{e.title} {e.description}" for e in message.embeds)
    return "\n".join(texts)


@pytest.mark.parametrize("defer_after", [2.0, 0.0])
async def test_a_link_code_is_only_in_an_ephemeral_answer(
    server: Server, core: Core, adapter: DiscordAdapter, defer_after: float
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    carol = server.person("carol")
    await server.coop_with(alice, bob, carol)
    # With defer_after 0 the adapter always defers first, as when the core is slow.
    await adapter.stop()
    adapter = DiscordAdapter(DiscordSettings(token=TOKEN), core=core, defer_after=defer_after)
    await server.env.restart_bot(adapter.client)

    asked = await bob.slash(server.channel, "member link")
    answers = [m for m in [asked.response, *asked.followups] if m is not None]
    code = one_time_code("\n".join(m.content for m in answers))
    assert all(m.ephemeral for m in answers if code in m.content)
    assert "works once, for 15 minutes" in "\n".join(m.content for m in answers)

    issued = await alice.slash(server.channel, "coop code")
    bind_answers = [m for m in [issued.response, *issued.followups] if m is not None]
    bind_code = one_time_code("\n".join(m.content for m in bind_answers))
    assert all(m.ephemeral for m in bind_answers if bind_code in m.content)

    for reader in (carol, alice, bob):
        everything = seen_by(reader, server.channel)
        assert code not in everything or reader is bob
        assert bind_code not in everything or reader is alice
    await adapter.stop()


async def test_a_private_reply_from_the_outbox_goes_to_a_direct_message_only(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    carol = server.person("carol")
    await server.coop_with(alice, bob, carol)
    before = len(server.channel.history())

    # However a private reply reaches the outbox, its delivery never posts to a channel.
    secret = private(f"discord:{bob.id}", line("Link code: 7K3Q-M2XD-9TPA-W4RE"))
    async with core.sessions() as session, session.begin():
        coop_id = await session.scalar(select(Coop.id))
        assert coop_id is not None
        await announce(session, core.clock, coop_id, secret)
    assert await adapter.deliver_pending() == 1
    await server.env.settle()

    assert len(server.channel.history()) == before
    assert "7K3Q-M2XD-9TPA-W4RE" not in seen_by(carol, server.channel)
    direct = bob.user.dm_channel.history()
    assert [m.content for m in direct] == ["Link code: 7K3Q-M2XD-9TPA-W4RE"]
    assert all(isinstance(m.channel, discord.DMChannel) for m in direct)
