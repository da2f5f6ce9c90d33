"""The discord.py clients (plain and auto-sharded) that carry the command tree and hand
start-up, readiness and member/role events to the adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord.role_sync import RoleSync
from bot.config import DiscordSettings


class ClientOwner(Protocol):
    """What the clients call back into (the adapter)."""

    settings: DiscordSettings
    role_sync: RoleSync

    async def setup(self, client: discord.Client, tree: app_commands.CommandTree[Any]) -> None: ...

    def ready(self) -> None: ...

    async def on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None: ...


def intents_for(settings: DiscordSettings) -> discord.Intents:
    """Slash commands and buttons need no privileged intent; syncing members from a role
    needs the members intent."""
    intents = discord.Intents.none()
    intents.guilds = True
    if settings.member_role or settings.steward_role:
        intents.members = True
    return intents


class _CoopEvents:
    """What both clients (plain and auto-sharded) do: carry the command tree and hand
    start-up, readiness and member/role events to the adapter."""

    def __init__(self, adapter: ClientOwner, **options: Any) -> None:
        super().__init__(intents=intents_for(adapter.settings), **options)  # type: ignore[call-arg]
        self.coopbot = adapter
        self.tree: app_commands.CommandTree[Any] = app_commands.CommandTree(self)  # type: ignore[arg-type]
        self.tree.on_error = adapter.on_tree_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        await self.coopbot.setup(self, self.tree)  # type: ignore[arg-type]

    async def on_ready(self) -> None:
        self.coopbot.ready()

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        self.coopbot.role_sync.member_changed(before, after)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        self.coopbot.role_sync.member_left(payload)

    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        self.coopbot.role_sync.role_changed(before, after)


class CoopClient(_CoopEvents, discord.Client):
    """A discord.Client for coopbot."""


class ShardedCoopClient(_CoopEvents, discord.AutoShardedClient):
    """The same client for large servers: discord.py runs the shards in one process, all
    of them, or with `shard_ids` only those (other processes hold the rest)."""

    def __init__(
        self,
        adapter: ClientOwner,
        *,
        shard_count: int | None = None,
        shard_ids: Sequence[int] = (),
        **options: Any,
    ) -> None:
        if shard_ids:
            # discord.py needs the total with an explicit list (bot.config checks both).
            options["shard_ids"] = sorted(shard_ids)
        super().__init__(adapter, shard_count=shard_count, **options)
