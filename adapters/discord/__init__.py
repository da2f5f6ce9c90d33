"""The Discord adapter: slash commands, decision cards with persistent vote buttons, and
the registry synced from member and steward roles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.discord.adapter import CoopClient, DiscordAdapter, ShardedCoopClient
from bot.clock import Clock
from bot.config import Settings
from bot.ports import Finding

__all__ = ["CoopClient", "DiscordAdapter", "ShardedCoopClient", "check", "create_adapter"]


def create_adapter(settings: Settings, clock: Clock) -> DiscordAdapter:
    """The adapter `coopbot run` starts when `[discord]` has a token."""
    return DiscordAdapter.from_settings(settings, clock)


async def check(settings: Settings, rooms: Sequence[str], **options: Any) -> Sequence[Finding]:
    """The pre-flight checks of `[discord]` (`coopbot check`, and `run` before it starts)."""
    from adapters.discord.preflight import check as check_discord

    return await check_discord(settings, rooms, **options)
