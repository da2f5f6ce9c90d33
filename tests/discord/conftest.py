"""Fixtures for Discord tests: the real core on a SQLite file, the real adapter, and
simcord's in-memory Discord with a guild whose members act through slash commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
import simcord
from discord_world import Server, make_adapter

from adapters.discord import DiscordAdapter
from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db")


@pytest.fixture
async def core(settings: Settings, clock: ManualClock) -> AsyncIterator[Core]:
    made = await create_core(settings, clock)
    yield made
    await made.close()


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
