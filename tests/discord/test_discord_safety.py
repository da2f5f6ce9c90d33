"""What Discord must never do: ping a crowd, break its limits, or forget old buttons."""

from __future__ import annotations

import discord
import pytest
import simcord
from discord_world import TOKEN, Server, button_labels, card_text, make_adapter

from adapters.discord import DiscordAdapter
from adapters.discord.render import CONTENT_LIMIT
from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import DiscordSettings, Settings

pytestmark = pytest.mark.simcord


async def test_a_title_with_everyone_and_a_role_mention_pings_nobody(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    role = server.guild.create_role("Night shift", mentionable=True)
    title = f"Party for @everyone and <@&{role.id}> and @here"
    before = len(server.env.http_requests)

    opened = await bob.slash(server.channel, "propose", title=title)
    listing = await alice.slash(server.channel, "list")

    for result in (opened, listing):
        message = result.response.message
        assert not message.mention_everyone
        assert message.role_mentions == []
        assert message.mentions == []
    assert "Party for @\u200beveryone" in card_text(opened.response.message)
    assert "Party for @\u200beveryone" in listing.response.content
    sent = [r.json for r in server.env.http_requests[before:] if isinstance(r.json, dict)]
    bodies = [body.get("data", body) for body in sent]
    checked = [body["allowed_mentions"] for body in bodies if "allowed_mentions" in body]
    assert checked, "every message the bot sends says whom it may ping"
    for allowed in checked:
        assert allowed.get("parse") == []
        assert allowed.get("roles", []) == []
        assert set(allowed.get("users", [])) <= {str(alice.id), str(bob.id), alice.id, bob.id}


async def test_buttons_on_an_old_proposal_still_work_after_a_restart(
    server: Server, settings: Settings, clock: ManualClock, core: Core
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    card = (await alice.slash(server.channel, "propose", title="Buy a kettle")).response.message

    # A new process: a fresh core on the same database and a fresh client.
    await core.close()
    second = await create_core(settings, clock)
    try:
        await server.env.restart_bot(make_adapter(second).client)
        voted = await bob.click(card, label="yes")
    finally:
        await second.close()

    assert voted.ephemeral
    assert "Your vote on #1 is recorded: **yes**" in voted.response.content
    assert "yes 1 · no 0 · abstain 0" in card_text(server.message(card.id))
    assert button_labels(server.message(card.id)) == ["yes", "no", "abstain"]


async def test_an_over_long_list_is_split_within_discords_limits(server: Server) -> None:
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)
    for number in range(1, 13):
        title = f"Proposal number {number} " + "with a long explanation " * 7
        await alice.slash(server.channel, "propose", title=title.strip())

    listing = await alice.slash(server.channel, "list")

    messages = [listing.response, *listing.followups]
    assert len(messages) >= 2
    assert all(0 < len(m.content) <= CONTENT_LIMIT for m in messages)
    everything = "\n".join(m.content for m in messages)
    for number in range(1, 13):
        assert f"Proposal number {number} " in everything


async def test_the_auto_sharded_client_serves_guilds_on_every_shard(core: Core) -> None:
    adapter = DiscordAdapter(DiscordSettings(token=TOKEN), core=core, sharded=True, shard_count=2)
    async with simcord.run(adapter.client) as env:
        for shard in (0, 1):
            guild = env.create_guild(f"Shard {shard} co-op", shard_id=shard)
            channel = guild.create_text_channel("general")
            admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
            server = Server(env, guild, channel, admins)
            alice = server.person(f"alice{shard}", admin=True)

            done = await alice.slash(channel, "coop setup", name=f"Co-op {shard}")

            assert f"Co-op {shard} set up" in done.response.content
        assert isinstance(adapter.client, discord.AutoShardedClient)
        assert sorted(adapter.client.shards) == [0, 1]


def test_coopbot_run_starts_the_sharded_client_when_the_settings_ask_for_it(
    settings: Settings,
) -> None:
    class ShardedSection(DiscordSettings):
        # Stands in for a `[discord] sharded = true` setting the config does not have yet.
        sharded: bool = True
        shard_count: int | None = 2

    plain = DiscordAdapter.from_settings(
        settings.model_copy(update={"discord": DiscordSettings(token=TOKEN)})
    )
    sharded = DiscordAdapter.from_settings(
        settings.model_copy(update={"discord": ShardedSection(token=TOKEN)})
    )

    assert not isinstance(plain.client, discord.AutoShardedClient)
    assert isinstance(sharded.client, discord.AutoShardedClient)
    assert sharded.client.shard_count == 2
