"""Quiet reads on Discord: a read command answers only its asker unless they share it
(`public:true`), carries no voting controls, and links to the decision's live card."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import discord

from adapters.discord.render import PLATFORM
from bot.commands.spec import Command
from bot.intents import Say
from bot.ports import CoreAPI, DecisionRef, Intent
from bot.render.document import Reply, Text, line

PUBLIC_OPTION = "public"
PUBLIC_HELP = "Show the answer to everyone in the channel (by default only you see it)"
JUMP = "https://discord.com/channels/{guild}/{channel}/{message}"


def offers_public(command: Command) -> bool:
    """Whether the slash command only reads (`Command.reads`): it gets a `public` option."""
    return command.reads


def public_parameter() -> inspect.Parameter:
    """The `public` option as a parameter of a slash command's callback (described by
    PUBLIC_HELP)."""
    return inspect.Parameter(
        PUBLIC_OPTION, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=bool, default=None
    )


def is_read(intent: Intent) -> bool:
    return isinstance(intent, Say) and intent.read


def jump_url(guild_id: int, channel_id: str, message_id: str) -> str:
    return JUMP.format(guild=guild_id, channel=channel_id, message=message_id)


class Reads:
    """Shapes the answer to a read command for the member who asked."""

    def __init__(self, client: discord.Client, core: Callable[[], CoreAPI]) -> None:
        self.client = client
        self._core = core

    async def live_card(
        self, ref: DecisionRef, channel_id: str, guild_id: int | None
    ) -> str | None:
        """The jump URL of the decision's live card: in this channel if it has one, else
        in another channel of the same server."""
        linked = await self._core().cards_of(PLATFORM, ref)
        here = [mid for room, mid in linked if room == channel_id]
        if here and guild_id is not None:
            return jump_url(guild_id, channel_id, max(here, key=int))
        for room, mid in sorted(linked, key=lambda pair: int(pair[1]), reverse=True):
            channel = self.client.get_channel(int(room))
            guild = getattr(channel, "guild", None)
            if guild is not None and (guild_id is None or guild.id == guild_id):
                return jump_url(guild.id, room, mid)
        return None

    async def shown(
        self, reply: Reply, intent: Intent, channel_id: str, guild_id: int | None, public: bool
    ) -> Reply:
        """The reply as the asker sees it: only them unless `public`; a decision's read
        ends with the link to its live card."""
        if not is_read(intent):
            return reply
        assert isinstance(intent, Say)
        update: dict[str, Any] = {"ephemeral": reply.ephemeral or not public}
        if intent.about is not None and reply.kind != "error":
            url = await self.live_card(intent.about, channel_id, guild_id)
            if url is not None:
                update["blocks"] = (*reply.blocks, line("live card: ", Text(text=url), indent=1))
        return reply.model_copy(update=update)
