"""Answers one Discord interaction: its response, follow-ups, and the channel once deferred."""

from __future__ import annotations

from typing import Any

import discord

from adapters.discord.render import OutMessage

NOTHING_TO_SAY = "Done."


class InteractionAnswer:
    """Answers one interaction: the first message is the interaction's response, the rest
    are follow-ups; once deferred (the core was slow) public messages go to the channel."""

    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction
        self.deferred = False
        self.sent_ephemeral_after_defer = False

    async def defer(self) -> None:
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(thinking=True, ephemeral=True)
            self.deferred = True

    async def send(self, message: OutMessage, view: discord.ui.View | None) -> int | None:
        """Send one message; returns its id (needed to link a decision card)."""
        kwargs = message.send_kwargs(view)
        interaction = self.interaction
        if self.deferred and not message.ephemeral:
            channel = interaction.channel
            if not isinstance(channel, discord.abc.Messageable):
                return None
            sent = await channel.send(**kwargs)
            return sent.id
        if not interaction.response.is_done():
            callback = await interaction.response.send_message(
                ephemeral=message.ephemeral, **kwargs
            )
            if callback.message_id is not None:
                return callback.message_id
            return (await interaction.original_response()).id
        if self.deferred:
            self.sent_ephemeral_after_defer = True
        followup = await interaction.followup.send(ephemeral=message.ephemeral, wait=True, **kwargs)
        return followup.id

    async def finish(self) -> None:
        """Every interaction gets an answer, even when the core had nothing to say."""
        if not self.interaction.response.is_done():
            await self.interaction.response.send_message(NOTHING_TO_SAY, ephemeral=True)
        elif self.deferred and not self.sent_ephemeral_after_defer:
            await self.interaction.followup.send(NOTHING_TO_SAY, ephemeral=True)
