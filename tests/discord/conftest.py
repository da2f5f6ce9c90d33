"""Fixtures for Discord tests: the real adapter, and simcord's in-memory Discord with a
guild whose members act through slash commands. The core, its clock and its database come
from tests/conftest.py: SQLite, and PostgreSQL too when COOPBOT_TEST_DATABASE_URL is set."""

from __future__ import annotations

import discord
import pytest
import simcord
from discord_world import Server, make_adapter

from adapters.discord import DiscordAdapter
from bot.app import Core


@pytest.fixture
def adapter(core: Core) -> DiscordAdapter:
    made: DiscordAdapter = make_adapter(core)
    return made


@pytest.fixture
def simcord_bot(adapter: DiscordAdapter) -> discord.Client:
    return adapter.client


@pytest.fixture
async def server(simcord_env: simcord.Env) -> Server:
    guild = simcord_env.create_guild("Riverside")
    channel = guild.create_text_channel("general")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return Server(simcord_env, guild, channel, admins)
