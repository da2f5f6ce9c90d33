"""Sending what the core hands the adapter: each typed intent natively, and the outbox drain."""

from __future__ import annotations

import asyncio
from functools import partial

from adapters.matrix.ballots import Ballots
from adapters.matrix.privately import PrivateReplies
from adapters.matrix.reads import live_card_line
from adapters.matrix.render import render_reply
from adapters.matrix.secret import add_line
from adapters.matrix.sending import Sender
from adapters.matrix.threads import for_thread, in_thread, thread_root
from bot.ports import CoreAPI, Delivery, Intent, OutboxPump, Say
from bot.render.document import Reply
from bot.render.threads import headline

PLATFORM = "matrix"


class Outgoing:
    """Replies and outbox deliveries into Matrix rooms: the notice, its attachments, the
    native poll or secret-ballot hint of a card, and private replies where they belong."""

    def __init__(
        self,
        sender: Sender,
        ballots: Ballots,
        private: PrivateReplies,
        prefix: str,
        send_lock: asyncio.Lock,
        outbox_poll_seconds: float,
    ) -> None:
        self.sender = sender
        self.ballots = ballots
        self.private = private
        self.prefix = prefix
        self.send_lock = send_lock
        self.outbox_poll_seconds = outbox_poll_seconds
        self._pump: OutboxPump | None = None

    def pump(self, core: CoreAPI) -> OutboxPump:
        """The core's drain loop for Matrix rooms, sending through `send_delivery`."""
        if self._pump is None:
            send = partial(self.send_delivery, core)
            self._pump = core.pump(PLATFORM, send, every=self.outbox_poll_seconds)
        return self._pump

    async def deliver_outbox(self, core: CoreAPI) -> None:
        """Send every due outbox delivery for Matrix rooms; the core retries a failed one
        with back-off (the outbox keeps it until it is sent or given up)."""
        await self.pump(core).round()

    async def send_delivery(
        self,
        core: CoreAPI,
        delivery: Delivery,
        *,
        extra_line: tuple[str, str] | None = None,
        direct: bool | None = None,
    ) -> str | None:
        """Send an outbox delivery (an announcement, or the answer to a command, also one
        sent after a restart) with the transaction id derived from its row: a resend after
        a crash between send and mark is a no-op on the homeserver."""
        room = delivery.room
        if direct is None:
            # Only an answer can be in a direct-message room (announcements go to rooms
            # bound to a co-op, which are never direct).
            direct = delivery.reply_to is not None and not await core.room_is_bound(room)
        return await self.send_reply(
            core,
            room.room_id,
            delivery.reply,
            f"coopbot-{delivery.key}",
            delivery.reply_to,
            extra_line=extra_line,
            direct=direct,
            intent=delivery.intent,
        )

    async def send_reply(
        self,
        core: CoreAPI,
        room_id: str,
        reply: Reply,
        txn: str,
        in_reply_to: str | None = None,
        *,
        extra_line: tuple[str, str] | None = None,
        direct: bool = False,
        intent: Intent | None = None,
    ) -> str | None:
        """Send one reply: the notice, its attachments, and its poll start or poll end.
        `extra_line` is a Matrix-only (plain, HTML) line added under the reply. In a
        `direct` message an announcement (a proposal made there) is only an answer: its
        poll and its secret-ballot hint belong to the co-op's rooms, which get it too.
        A private reply goes to the person's direct-message room instead (in a `direct`
        message it is already there). Returns the event id of the notice."""
        intent = intent if intent is not None else Say()
        async with self.send_lock:
            if reply.private and not direct:
                return await self.private.send(core, room_id, reply, txn, in_reply_to)
            shown = reply
            threaded = None if direct else await thread_root(core, room_id, intent)
            if threaded is not None and for_thread(reply):
                # The news in full in the decision's thread; the room keeps one line.
                ref, root = threaded
                full = in_thread(render_reply(reply, self.prefix), root)
                await self.sender.send(room_id, "m.room.message", full, f"{txn}-thread")
                shown = headline(reply, ref.number)
            content = render_reply(shown, self.prefix)
            content = self.ballots.with_hint(content, reply, intent, direct=direct)
            if extra_line is not None:
                content = add_line(content, *extra_line)
            link = await live_card_line(core, room_id, intent)
            if link is not None:
                content = add_line(content, *link)
            if in_reply_to:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
            event_id = await self.sender.send(room_id, "m.room.message", content, txn)
            await self.sender.attachments(room_id, reply, txn)
            await self.ballots.sync_poll(core, room_id, reply, intent, txn, direct=direct)
            return event_id
