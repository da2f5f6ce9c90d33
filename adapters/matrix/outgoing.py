"""Sending what the core hands the adapter: each typed intent natively, and the outbox drain."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from functools import partial
from typing import Any

from adapters.matrix.ballots import Ballots
from adapters.matrix.cards import cut_card, read_more_beside, read_more_show
from adapters.matrix.live import CardEditor, same_news
from adapters.matrix.opening import posted_body, still_as_opened
from adapters.matrix.privately import PrivateReplies
from adapters.matrix.reads import is_read, live_card_line
from adapters.matrix.render import render_reply
from adapters.matrix.secret import add_line
from adapters.matrix.sending import Sender
from adapters.matrix.threads import (
    for_thread,
    in_thread,
    root_of,
    thread_of,
    thread_root,
    threads_kept,
)
from bot.clock import Clock
from bot.intents import CARD_INTENTS
from bot.live import LiveCards, open_live_cards
from bot.ports import (
    CardClosed,
    CardOpened,
    CardUpdated,
    CoreAPI,
    DecisionRef,
    Delivery,
    Intent,
    OutboxPump,
    Say,
)
from bot.render.document import Reply
from bot.render.threads import headline

PLATFORM = "matrix"
log = logging.getLogger(__name__)


class AskedInThreads:
    """The thread each recent command was typed in (event id → the thread's root), so its
    answer, also one sent later from the outbox, goes to the same thread."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._roots: OrderedDict[str, str] = OrderedDict()

    def note(self, event_id: str, content: dict[str, Any]) -> None:
        root = thread_of(content)
        if root is not None:
            self._roots[event_id] = root
            while len(self._roots) > self.size:
                self._roots.popitem(last=False)

    def get(self, event_id: str) -> str | None:
        return self._roots.get(event_id)


class Outgoing:
    """Replies and outbox deliveries into Matrix rooms: the notice, its attachments, the
    native poll or secret-ballot hint of a card, and private replies where they belong.
    The notice a decision opened with is its live card, edited as it changes (`live`)."""

    def __init__(
        self,
        sender: Sender,
        ballots: Ballots,
        private: PrivateReplies,
        prefix: str,
        send_lock: asyncio.Lock,
        outbox_poll_seconds: float,
        clock: Clock,
    ) -> None:
        self.sender = sender
        self.ballots = ballots
        self.private = private
        self.prefix = prefix
        self.send_lock = send_lock
        self.outbox_poll_seconds = outbox_poll_seconds
        self._pump: OutboxPump | None = None
        self.editor = CardEditor(sender, ballots, prefix)
        self._core: CoreAPI | None = None
        self.live = LiveCards(self._edit_live, clock)
        self._catching_up: asyncio.Task[None] | None = None
        # Commands typed in a thread (event id → the thread's root): answered there.
        self.asked_in = AskedInThreads()

    async def _edit_live(self, ref: DecisionRef) -> bool:
        core = self._core
        if core is None or not await core.live_cards_of(PLATFORM, ref):
            return False
        async with self.send_lock:
            if self._core is None:  # the run ended meanwhile (`leave`): nothing goes out
                return False
            # Read with the lock held: edits go out in turn, each showing the decision as
            # it stands when it is sent, so the last one shows the latest votes.
            card = await core.card(ref)
            if card is None or card.choices is None:
                return False
            return await self.editor.edit(core, ref, card) > 0

    def join(self, core: CoreAPI) -> None:
        """From now on the live cards follow every change the core hears of, also the
        votes cast on another platform or in another process (`core.live_cards`)."""
        self._core = core
        core.live_cards.join(self.live)

    def leave(self) -> None:
        """The run ends: its pacer hears nothing more, and no card edit starts."""
        if self._core is not None:
            self._core.live_cards.leave(self.live)
        self._core = None

    async def flush_live(self, core: CoreAPI) -> None:
        """Edit the live cards a burst left stale, as far as the pace allows now, with
        those whose votes another process handled (the hub's `look`); the first round of
        a run also starts looking for cards left stale before it (`catch_up`)."""
        self._core = core
        if self._catching_up is None:
            # In the background: a thousand open cards must not hold up the deliveries.
            self._catching_up = asyncio.create_task(self._catch_up_once(core))
        await core.live_cards.look()
        await self.live.flush()

    async def _catch_up_once(self, core: CoreAPI) -> None:
        try:
            await self.catch_up(core)
        except Exception:  # a card not checked now is refreshed by its next vote
            log.exception("could not check the live cards after the start")

    async def close(self) -> None:
        """Stop the background work of this run (the catch-up), and wait for a card edit
        under way to end: the client closes next, and a send after its close would open
        a new connection that nothing closes."""
        if self._catching_up is not None and not self._catching_up.done():
            self._catching_up.cancel()
            await asyncio.gather(self._catching_up, return_exceptions=True)
        async with self.send_lock:
            pass

    async def catch_up(self, core: CoreAPI) -> int:
        """After a start or a take-over: the live cards of open decisions that do not show
        their decision as it stands (a refresh the previous run, or the process that held
        the connection before, left waiting for its window and never made) are refreshed,
        at the usual pace; a card that shows it is left alone. Returns how many were stale.
        A card never edited is compared as it was posted (its holder may have died after
        counting a vote, before the first edit); one that cannot be read now is left alone."""
        stale: set[DecisionRef] = set()
        for ref, room, card_id in await open_live_cards(core, PLATFORM):
            if ref in stale:
                continue
            shown = await self.editor.last_edit(room, card_id)
            # Never edited: it shows the notice it was posted with, in its opening form.
            posted = (
                None if shown is not None else await posted_body(self.sender.client, room, card_id)
            )
            if shown is None and posted is None:
                continue  # cannot be read now: its next vote refreshes it
            card = await core.card(ref)
            if card is None or card.choices is None:
                continue
            wanted = str((await self.editor.content(core, ref, card)).get("body", ""))
            if shown is not None:
                behind = not same_news(shown, wanted)
            else:
                behind = posted is not None and not still_as_opened(posted, wanted)
            if behind:
                stale.add(ref)
        for ref in sorted(stale, key=lambda r: (r.coop_id, r.number)):
            log.info("the live card of decision #%s is behind; refreshing it", ref.number)
            await self.live.changed(ref)
        return len(stale)

    def pump(self, core: CoreAPI) -> OutboxPump:
        """The core's drain loop for Matrix rooms, sending through `send_delivery`."""
        if self._pump is None:
            send = partial(self.send_delivery, core)
            self._pump = core.pump(
                PLATFORM,
                send,
                every=self.outbox_poll_seconds,
                before_round=partial(self.flush_live, core),
            )
        return self._pump

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
        message it is already there). News and reads about a decision whose co-op keeps
        threads go to its thread, rooted at its live card, and the room keeps one line
        (none for a question asked in that thread). The answer to a command typed in a
        thread stays in that thread. Returns the event id of the notice."""
        intent = intent if intent is not None else Say()
        asked_in_thread = self.asked_in.get(in_reply_to) if in_reply_to else None
        async with self.send_lock:
            if reply.private and not direct:
                return await self.private.send(core, room_id, reply, txn, in_reply_to)
            if not direct and await self._opens_here(core, room_id, reply, intent):
                # A decision opened in another room of the co-op (another platform): its
                # news opens its live card here, as an opening in this room would.
                assert isinstance(intent, CardUpdated)
                intent = CardOpened(ref=intent.ref, news=True, secret_ballot=intent.secret_ballot)
            if not direct and isinstance(intent, CardUpdated | CardClosed) and reply.choices:
                # The live card shows the news first (the close: its result, and its
                # poll ends), then the news is said. An update may be sent late (from the
                # outbox): the card shows the decision as it stands now, not as it was.
                now = await core.card(intent.ref) if isinstance(intent, CardUpdated) else None
                shown_now = now if now is not None and now.choices is not None else reply
                await self.editor.edit(core, intent.ref, shown_now, room_id)
            closing = isinstance(intent, CardClosed)
            if closing:
                await self.ballots.sync_poll(core, room_id, reply, intent, txn, direct=direct)
            shown = reply
            full_text: Reply | None = None
            link = await live_card_line(core, room_id, intent)
            threaded = None if direct else await thread_root(core, room_id, intent)
            if threaded is not None and for_thread(reply, intent):
                # The news (or the read) in full in the decision's thread; the room keeps
                # one line.
                ref, root = threaded
                full = render_reply(reply, self.prefix)
                asker = in_reply_to if is_read(intent) else None
                if link is not None:
                    full = add_line(full, *link)
                thread_event = await self.sender.send(
                    room_id, "m.room.message", in_thread(full, root, asker), f"{txn}-thread"
                )
                if asker is not None and asked_in_thread == root:
                    return thread_event  # asked in the thread: answered there alone
                shown, link = headline(reply, ref.number), None
            elif not direct and isinstance(intent, CARD_INTENTS) and reply.choices:
                # One event per card, whatever its length: a long body is cut.
                if isinstance(intent, CardOpened):
                    threads = await threads_kept(core, intent.ref)
                    shown, full_text = cut_card(reply, read_more_beside(threads))
                else:
                    shown, _ = cut_card(reply, read_more_show(reply))
            content = render_reply(shown, self.prefix)
            content = self.ballots.with_hint(content, reply, intent, direct=direct)
            if extra_line is not None:
                content = add_line(content, *extra_line)
            if link is not None:
                content = add_line(content, *link)
            if in_reply_to and asked_in_thread is not None and shown is reply:
                content = in_thread(content, asked_in_thread, in_reply_to)
            elif in_reply_to:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
            event_id = await self.sender.send(room_id, "m.room.message", content, txn)
            if not direct and isinstance(intent, CardOpened):
                # The notice a decision opens with is its live card in this room, and the
                # root of its thread.
                await core.link_live_card(PLATFORM, room_id, event_id, intent.ref)
                if full_text is not None:
                    await self._send_full_text(core, room_id, intent.ref, event_id, full_text, txn)
            await self.sender.attachments(room_id, reply, txn)
            if not closing:
                await self.ballots.sync_poll(core, room_id, reply, intent, txn, direct=direct)
            return event_id

    @staticmethod
    async def _opens_here(core: CoreAPI, room_id: str, reply: Reply, intent: Intent) -> bool:
        """Whether `intent` is the news of an open decision that has no live card in this
        room yet (the other rooms of a co-op get its opening as an update of its card)."""
        if not isinstance(intent, CardUpdated) or not intent.news:
            return False
        if reply.choices is None or reply.choices.closed:
            return False
        linked = await core.live_cards_of(PLATFORM, intent.ref)
        return all(room != room_id for room, _ in linked)

    async def _send_full_text(
        self, core: CoreAPI, room_id: str, ref: DecisionRef, card: str, full: Reply, txn: str
    ) -> None:
        """The full text a live card cut, once: in its thread, else as a reply to it."""
        content = render_reply(full, self.prefix)
        content["m.mentions"] = {}
        root = await root_of(core, room_id, ref)
        if root is not None:
            content = in_thread(content, root)
        else:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": card}}
        await self.sender.send(room_id, "m.room.message", content, f"{txn}-full")
