"""Answers one Discord interaction: its response, follow-ups, and the channel once deferred."""

from __future__ import annotations

import asyncio
from typing import Any

import discord

from adapters.discord.render import OutMessage

NOTHING_TO_SAY = "Done."


def _seen(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class InteractionAnswer:
    """Answers one interaction: the first message is the interaction's response, the rest
    are follow-ups; once deferred (the core was slow) public messages go to the channel."""

    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction
        self.deferred = False
        self.sent_ephemeral_after_defer = False
        self._deferral: asyncio.Task[Any] | None = None
        self._responding = False  # the interaction's response is on its way

    def defer_soon(self) -> None:
        """Acknowledge the interaction now (Discord wants it within 3 s) without waiting
        for Discord's answer; every send first waits for it. Nothing happens once a
        response is on its way, so a late deferral never races the answer itself."""
        if self._deferral is not None or self._responding:
            return
        if not self.interaction.response.is_done():
            self.deferred = True
            self._deferral = asyncio.ensure_future(
                self.interaction.response.defer(thinking=True, ephemeral=True)
            )
            # Its failure is raised by the next send; unsent, it is not a loose end.
            self._deferral.add_done_callback(_seen)

    async def defer(self) -> None:
        self.defer_soon()
        await self.acknowledged()

    async def acknowledged(self) -> None:
        """Wait until a deferral under way has reached Discord (raises if it failed)."""
        if self._deferral is not None:
            await self._deferral

    async def send(self, message: OutMessage, view: discord.ui.View | None) -> int | None:
        """Send one message; returns its id (needed to link a decision card)."""
        kwargs = message.send_kwargs(view)
        interaction = self.interaction
        await self.acknowledged()
        if self.deferred and not message.ephemeral:
            channel = interaction.channel
            if not isinstance(channel, discord.abc.Messageable):
                return None
            sent = await channel.send(**kwargs)
            return sent.id
        if not interaction.response.is_done():
            self._responding = True
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
        await self.acknowledged()
        if not self.interaction.response.is_done():
            self._responding = True
            await self.interaction.response.send_message(NOTHING_TO_SAY, ephemeral=True)
        elif self.deferred and not self.sent_ephemeral_after_defer:
            await self.interaction.followup.send(NOTHING_TO_SAY, ephemeral=True)
