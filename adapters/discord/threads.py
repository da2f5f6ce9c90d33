"""A thread per decision on Discord: started from its card and named after it, where the
decision's reminders and result go; the channel keeps one line per event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord

from adapters.discord.render import PLATFORM, render_reply
from bot.intents import thread_news
from bot.ports import CoreAPI, DecisionRef, Intent
from bot.render.document import Reply
from bot.render.threads import headline

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100  # Discord's limit for a channel's name


def thread_name(number: int, question: str) -> str:
    name = f"#{number} {' '.join(question.split())}"
    return name if len(name) <= THREAD_NAME_LIMIT else name[: THREAD_NAME_LIMIT - 1] + "…"


class Threads:
    """Starts a decision's thread and routes the news about it there."""

    def __init__(self, client: discord.Client, core: Callable[[], CoreAPI]) -> None:
        self.client = client
        self._core = core

    async def _on(self, ref: DecisionRef) -> bool:
        threads_on = getattr(self._core(), "threads_on", None)
        return bool(threads_on is not None and await threads_on(ref))

    async def start(self, ref: DecisionRef, room_id: str, card_id: int, question: str) -> None:
        """Start the decision's thread from its card (the thread's id is the card's)."""
        if not await self._on(ref):
            return
        try:
            channel = self.client.get_channel(int(room_id)) or await self.client.fetch_channel(
                int(room_id)
            )
            if not isinstance(channel, discord.TextChannel):
                return  # threads start from messages of a server's text channel only
            await channel.get_partial_message(card_id).create_thread(
                name=thread_name(ref.number, question)
            )
        except (discord.HTTPException, ValueError) as exc:
            log.warning(
                "could not start the thread of decision #%s in %s: %s", ref.number, room_id, exc
            )

    async def thread_of(self, ref: DecisionRef, room_id: str) -> int | None:
        """The decision's thread in this channel: the one started from its first card."""
        if not await self._on(ref):
            return None
        linked = [
            mid for room, mid in await self._core().cards_of(PLATFORM, ref) if room == room_id
        ]
        return min((int(mid) for mid in linked), default=None)

    async def route(
        self, reply: Reply, intent: Intent, room_id: str, nonce: str | None = None
    ) -> Reply:
        """News about a decision that has a thread (a reminder, its result) goes there in
        full; what is returned is what the channel gets instead: one line. Anything else is
        returned as it is, for the channel."""
        ref = thread_news(intent)
        if ref is None or reply.ephemeral or reply.private:
            return reply
        thread_id = await self.thread_of(ref, room_id)
        if thread_id is None:
            return reply
        thread = self.client.get_partial_messageable(thread_id)
        for number, message in enumerate(render_reply(reply)):
            # From the outbox each message carries a nonce: a resend is not a second one.
            extra: dict[str, Any] = {"nonce": f"{nonce}-t{number}"} if nonce else {}
            await thread.send(**extra, **message.send_kwargs(None))
        return headline(reply, ref.number)


def room_channel_id(interaction: discord.Interaction[Any]) -> int | None:
    """The channel whose co-op a command is for: a thread's parent (a decision's thread
    is started from its card in a channel bound to the co-op), else its own channel."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return channel.parent_id
    return interaction.channel_id
