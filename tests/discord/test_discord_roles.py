"""Large servers: the registry's role holders are read a page at a time."""

from __future__ import annotations

import discord
import pytest
from discord_world import TOKEN, Server

from adapters.discord import DiscordAdapter
from adapters.discord.roles import role_holders
from bot.app import Core
from bot.config import DiscordSettings

pytestmark = pytest.mark.simcord


@pytest.fixture
def adapter(core: Core) -> DiscordAdapter:
    # Configured role names switch on the members intent the role sync needs.
    settings = DiscordSettings(token=TOKEN, member_role="Co-op member", steward_role="Steward")
    return DiscordAdapter(settings, core=core)


async def test_role_holders_come_in_pages_with_stewards_marked(server: Server) -> None:
    members = server.guild.create_role("Co-op member")
    stewards = server.guild.create_role("Steward")
    for n in range(5):
        server.guild.add_member(server.env.create_user(f"m{n}"), roles=[members])
    server.guild.add_member(server.env.create_user("s"), roles=[members, stewards])
    server.person("visitor")
    guild = server.env.bot.get_guild(server.guild.id)
    assert isinstance(guild, discord.Guild)

    pages = [
        page
        async for page in role_holders(
            guild, member_role="Co-op member", steward_role="Steward", page_size=2
        )
    ]

    assert [len(page) for page in pages] == [2, 2, 2]
    holders = [holder for page in pages for holder in page]
    assert sorted(h.display_name for h in holders) == ["m0", "m1", "m2", "m3", "m4", "s"]
    assert {h.display_name: h.role for h in holders}["s"] == "steward"
    assert all(h.identity.startswith("discord:") for h in holders)
