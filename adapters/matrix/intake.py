"""Room events in: a command message or a poll response becomes an Invocation, answered."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from aiohttp import ClientConnectionError
from nio import AsyncClient, MatrixRoom, RoomMessageText, UnknownEvent

from adapters.matrix.ballots import Ballots
from adapters.matrix.direct import DirectRooms, is_direct
from adapters.matrix.mentions import command_text
from adapters.matrix.outgoing import Outgoing
from adapters.matrix.polls import RESPONSE_TYPES, parse_response, vote_text
from adapters.matrix.power import is_room_admin
from adapters.matrix.sending import Sender, SendError, txn
from bot.failure_log import log_failure
from bot.invocation import Invocation, RoomRef, build_invocation
from bot.ports import CoreAPI, Delivery

log = logging.getLogger(__name__)

PLATFORM = "matrix"
_RECENT_EVENTS = 2048


class Intake:
    """Turns the events of joined rooms into invocations and answers them."""

    def __init__(
        self,
        client: AsyncClient,
        prefix: str,
        capabilities: frozenset[str],
        *,
        direct: DirectRooms,
        creators: dict[str, frozenset[str]],
        recent: OrderedDict[str, None],
        ballots: Ballots,
        sender: Sender,
        outgoing: Outgoing,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.capabilities = capabilities
        self.direct = direct
        self.creators = creators
        self.recent = recent
        self.ballots = ballots
        self.sender = sender
        self.outgoing = outgoing

    @property
    def bot_id(self) -> str:
        return str(self.client.user_id)

    async def handle_safely(self, core: CoreAPI, room: MatrixRoom, event: Any) -> None:
        try:
            await self.handle(core, room, event)
        except (ClientConnectionError, TimeoutError, SendError) as exc:
            # The command ran (the core committed it) but its reply could not be sent;
            # one bad event must not stop the bot from reading the room. The error's
            # message is withheld: it may quote the reply (a secret choice).
            log_failure(log, exc, "could not answer %s in %s", event.event_id, room.room_id)

    async def handle(self, core: CoreAPI, room: MatrixRoom, event: Any) -> None:
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.bot_id:
            return
        # An undecryptable event never comes here: the sync loop holds it (Undecrypted).
        if isinstance(event, RoomMessageText):
            await self.message(core, room, event)
        elif isinstance(event, UnknownEvent) and event.type in RESPONSE_TYPES:
            await self.poll_response(core, room, event)

    def _first_time(self, event_id: str) -> bool:
        # The core ignores a message id it has seen; this only saves it the round trip.
        if event_id in self.recent:
            return False
        self.recent[event_id] = None
        if len(self.recent) > _RECENT_EVENTS:
            self.recent.popitem(last=False)
        return True

    def invocation(
        self,
        room: MatrixRoom,
        sender: str,
        text: str,
        event_id: str,
        mentioned: Mapping[str, str] | None = None,
    ) -> Invocation:
        """The command `sender` sent in `room` (an event's text, or a poll answer's)."""
        level = room.power_levels.get_user_level(sender)
        creators = self.creators.get(room.room_id, frozenset())
        return build_invocation(
            RoomRef(PLATFORM, room.room_id),
            sender,
            text,
            event_id,
            display_name=room.user_name(sender),
            is_room_admin=is_room_admin(sender, level, room.room_version, creators),
            capabilities=self.capabilities,
            mentioned=mentioned,
        )

    async def message(self, core: CoreAPI, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.source.get("content", {}).get("m.relates_to", {}).get("rel_type") == "m.replace":
            return  # an edit: the original command already ran
        parsed = command_text(event.body, event.formatted_body)
        if not parsed.text.startswith(self.prefix) or not self._first_time(event.event_id):
            return
        text = parsed.text[len(self.prefix) :].strip()
        if not text:
            return
        self.outgoing.asked_in.note(event.event_id, event.source.get("content", {}))
        invocation = self.invocation(room, event.sender, text, event.event_id, parsed.mentioned)
        direct = await self._is_direct(core, room, invocation)
        invocation = replace(invocation, direct=direct)
        # A vote typed in a group room on a secret ballot is seen by the whole room.
        secret = not direct and await core.secret_vote(invocation) is not None
        answers = await core.answer(invocation)
        note: tuple[str, str] | None = None
        if secret:
            note = await self.ballots.remove_typed_vote(room, event.event_id)
        for index, answer in enumerate(answers):
            extra_line = note if index == 0 else None
            if answer.delivery is not None:
                send = partial(
                    self.outgoing.send_delivery, core, extra_line=extra_line, direct=direct
                )
                await core.deliver(answer.delivery, send)
                continue
            await self.outgoing.send_reply(
                core,
                room.room_id,
                answer.reply,
                txn(event.event_id, str(index)),
                event.event_id,
                extra_line=extra_line,
                direct=direct,
                intent=answer.intent,
            )

    async def _is_direct(self, core: CoreAPI, room: MatrixRoom, invocation: Invocation) -> bool:
        # room.users holds the invited members too: they could join and read the history.
        flagged = self.direct.flagged(room.room_id)
        readers = set(room.users)
        binds_room = core.binds_room(invocation)
        if not is_direct(flagged, readers, self.bot_id, invocation.actor.user_id, binds_room):
            return False
        return not await core.room_is_bound(invocation.room)

    async def poll_response(self, core: CoreAPI, room: MatrixRoom, event: UnknownEvent) -> None:
        """A click in a native poll, as the `vote N x` command it means (the platform →
        core direction: the text is built here, not read back from the core's)."""
        response = parse_response(event.source.get("content", {}))
        if response is None or not self._first_time(event.event_id):
            return
        ref = await core.decision_of(PLATFORM, response.poll_event_id)
        text = vote_text(ref.number, response.selections) if ref is not None else None
        if text is None:
            return
        invocation = self.invocation(room, event.sender, text, event.event_id)
        answers = await core.answer(invocation)
        reacted = False

        async def react(delivery: Delivery | None = None) -> None:
            # The poll already shows the member their choice; a message per click
            # would flood the room, so a confirmation is a reaction instead.
            nonlocal reacted
            if not reacted:
                await self.sender.react(room.room_id, event.event_id, "✅")
                reacted = True

        for index, answer in enumerate(answers):
            reply = answer.reply
            confirmation = reply.kind == "info" and not reply.attachments and reply.choices is None
            if answer.delivery is not None:
                send = react if confirmation else partial(self.outgoing.send_delivery, core)
                await core.deliver(answer.delivery, send)
            elif confirmation:
                await react()
            else:
                await self.outgoing.send_reply(
                    core,
                    room.room_id,
                    reply,
                    txn(event.event_id, str(index)),
                    event.event_id,
                    intent=answer.intent,
                )
