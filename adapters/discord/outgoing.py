"""Sends the core's intents on Discord: cards posted, edited and linked, private replies
in direct messages, and outbox deliveries with a nonce per message."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import discord

from adapters.discord.card_turns import CardTurn, CardTurns
from adapters.discord.render import PLATFORM, OutMessage, render_reply
from adapters.discord.threads import Threads
from adapters.discord.views import build_view
from bot.ports import (
    CardClosed,
    CardOpened,
    CardUpdated,
    CoreAPI,
    DecisionRef,
    Delivery,
    Intent,
    PermanentSendError,
    PrivateReply,
)
from bot.render.document import Reply

log = logging.getLogger(__name__)

CARD_INTENTS = (CardOpened, CardUpdated, CardClosed)
MAX_CARDS_EDITED = 10


class Outgoing:
    """The adapter's sending side: `client` sends, `core()` links and finds cards."""

    def __init__(self, client: discord.Client, core: Callable[[], CoreAPI]) -> None:
        self.client = client
        self._core = core
        self.threads = Threads(client, core)
        self.turns = CardTurns()  # every edit of a decision's cards in its turn

    async def edit_cards(self, reply: Reply, ref: DecisionRef, room_id: str | None = None) -> int:
        """Edit the cards linked to decision `ref` with the card `reply` (in `room_id` only,
        if given), in the decision's turn (`turns`); returns how many cards are linked there."""
        async with self.turns.of(ref) as turn:
            return await self._edit_in_turn(turn, reply, ref, room_id)

    async def refresh(self, ref: DecisionRef) -> bool:
        """Edit every card of `ref` to the decision as the core reads it now (a live-card
        refresh); False when there is none to show."""
        return await self._edit_to_current(ref, None, None) is not None

    async def _edit_to_current(
        self, ref: DecisionRef, room_id: str | None, fallback: Reply | None
    ) -> int | None:
        """Edit the cards of `ref` (in `room_id` only, if given) to the decision as the core
        reads it now, or to `fallback` when it cannot be read; how many cards are linked
        there, None when there is nothing to show. Read in the decision's turn: should the
        decision close between the read and the edit, the close's edit stands and this one
        is dropped."""
        async with self.turns.of(ref) as turn, turn.reading:
            card = await self._core().card(ref)
            shown = card if card is not None and card.choices is not None else fallback
            if shown is None:
                return None
            return await self._edit_in_turn(turn, shown, ref, room_id)

    async def _edit_in_turn(
        self, turn: CardTurn, reply: Reply, ref: DecisionRef, room_id: str | None
    ) -> int:
        assert reply.choices is not None
        async with turn.lock:
            linked = await self._core().cards_of(PLATFORM, ref)
            linked = [(room, mid) for room, mid in linked if room_id is None or room == room_id]
            # Every `show` posts a card; only the latest few follow the count, so one vote
            # never costs an unbounded number of edits.
            linked = sorted(linked, key=lambda pair: int(pair[1]))[-MAX_CARDS_EDITED:]
            if not linked or (turn.closed and not reply.choices.closed):
                return len(linked)  # an open card read before the close: the result stays
            # A secret decision's card shows its turnout (who voted, never how) as it grows.
            card = render_reply(reply)[0]
            for room, mid in linked:
                channel = self.client.get_partial_messageable(int(room))
                try:
                    await channel.get_partial_message(int(mid)).edit(
                        embed=card.embed,
                        view=build_view(reply.choices),
                        allowed_mentions=card.allowed_mentions,
                    )
                except discord.NotFound:
                    log.info("decision card %s in %s is gone; not updating it", mid, room)
            turn.closed = turn.closed or reply.choices.closed
            return len(linked)

    async def send_direct(self, reply: Reply, *, nonce: str | None = None) -> int | None:
        """Send a private reply in a direct message to the one person it is for; returns the
        first message id, or None when it cannot reach them there (then nothing is sent).
        From the outbox, each message carries a `nonce` derived from the row."""
        to = reply.recipient
        user_id = to.user_id if to is not None and to.platform == PLATFORM else ""
        if not user_id.isdigit():
            where = to.platform if to is not None else "unknown"
            log.warning("a private reply for a %s identity cannot go out on Discord", where)
            return None
        user = self.client.get_user(int(user_id)) or await self.client.fetch_user(int(user_id))
        channel = await user.create_dm()
        first: int | None = None
        for number, message in enumerate(render_reply(reply)):
            extra: dict[str, Any] = {"nonce": f"{nonce}-{number}"} if nonce else {}
            sent = await channel.send(**extra, **message.send_kwargs(None))
            first = first if first is not None else sent.id
        return first

    async def post(self, reply: Reply, intent: Intent, room_id: str, send: Any) -> int | None:
        """Send a reply's messages through `send(message, view) -> id`; a card of an open
        decision gets its controls and is linked to the decision. Returns the first id."""
        first: int | None = None
        for message in render_reply(reply):
            view = None
            if message.is_card and reply.choices is not None and isinstance(intent, CARD_INTENTS):
                # A read (a `show`) shows the decision without controls: one live card.
                view = build_view(reply.choices)
            sent = await send(message, view)
            if first is None:
                first = sent
            if (
                message.is_card
                and sent is not None
                and isinstance(intent, CardOpened | CardUpdated)
                and not message.ephemeral
            ):
                await self._core().link_card(PLATFORM, room_id, str(sent), intent.ref)
                if isinstance(intent, CardOpened) and intent.news and reply.choices is not None:
                    await self.threads.start(intent.ref, room_id, sent, reply.choices.question)
        return first

    async def send_delivery(self, delivery: Delivery) -> str | None:
        try:
            message_id = await self.deliver(delivery)
        except (discord.NotFound, discord.Forbidden) as exc:
            raise PermanentSendError(
                f"cannot post to channel {delivery.room.room_id}: {exc}"
            ) from exc
        return str(message_id) if message_id is not None else None

    async def deliver(self, delivery: Delivery) -> int | None:
        """Post one outbox delivery. Every message carries a nonce derived from the row
        (discord.py sends it with `enforce_nonce`), so a resend after a crash between the
        send and the mark returns the message Discord already has instead of a second one."""
        reply, intent = delivery.reply, delivery.intent
        room_id = delivery.room.room_id
        if isinstance(intent, PrivateReply):
            # Never the channel, whatever the room: only the person it is for.
            return await self.send_direct(reply, nonce=delivery.key)
        numbers = itertools.count()
        channel: discord.abc.Messageable
        if delivery.recipient is not None and reply.ephemeral:
            # An answer shown only to its member that missed its interaction: a DM.
            user = await self.client.fetch_user(int(delivery.recipient))
            channel = await user.create_dm()
        else:
            if isinstance(intent, CARD_INTENTS):
                # From the outbox even a new card edits the one a crash left posted; an
                # update may go out late (a retry after the close), so the card shows the
                # decision as it stands now, not as it was when the update was queued.
                if isinstance(intent, CardUpdated):
                    edited = await self._edit_to_current(intent.ref, room_id, reply) or 0
                else:
                    edited = await self.edit_cards(reply, intent.ref, room_id)
                if edited and not isinstance(intent, CardClosed):
                    return None
            reply = await self.threads.route(reply, intent, room_id, nonce=delivery.key)
            channel = self.client.get_partial_messageable(int(room_id))

        async def send(message: OutMessage, view: discord.ui.View | None) -> int:
            nonce = f"{delivery.key}-{next(numbers)}"
            return (await channel.send(nonce=nonce, **message.send_kwargs(view))).id

        return await self.post(reply, intent, room_id, send)
