"""The Discord adapter: slash commands, decision cards with persistent vote buttons, and
the registry synced from member and steward roles."""

from __future__ import annotations

from adapters.discord.adapter import CoopClient, DiscordAdapter, ShardedCoopClient
from bot.clock import Clock
from bot.config import Settings

__all__ = ["CoopClient", "DiscordAdapter", "ShardedCoopClient", "create_adapter"]


def create_adapter(settings: Settings, clock: Clock) -> DiscordAdapter:
    """The adapter `coopbot run` starts when `[discord]` has a token."""
    del clock  # discord.py keeps its own time; scheduled work runs in the core
    return DiscordAdapter.from_settings(settings)
