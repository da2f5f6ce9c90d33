"""Private replies: sent to the person's DM room, opened and flagged in m.direct if missing."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import quote

from aiohttp import ClientConnectionError
from nio import AsyncClient, RoomCreateResponse, RoomPreset

from adapters.matrix.direct import M_DIRECT, DirectRooms
from adapters.matrix.private import (
    ENCRYPTION_STATE,
    HeldReplies,
    HeldReply,
    private_room,
    recipient,
)
from adapters.matrix.sending import PermanentError, Sender, SendError
from bot.clock import Clock
from bot.invocation import RoomRef
from bot.ports import CoreAPI
from bot.render.document import Reply, line, sent_privately

log = logging.getLogger(__name__)

PLATFORM = "matrix"
# A private reply waits this long for its new direct-message room (a code lives 15 minutes).
PRIVATE_HOLD_SECONDS = 15 * 60.0


class PrivateReplies:
    """Where only the recipient can read a reply, and the `m.direct` flags that say so."""

    def __init__(
        self,
        client: AsyncClient,
        sender: Sender,
        direct: DirectRooms,
        held: HeldReplies,
        clock: Clock,
        send_lock: asyncio.Lock,
    ) -> None:
        self.client = client
        self.sender = sender
        self.direct = direct
        self.held = held
        self.clock = clock
        self.send_lock = send_lock

    @property
    def bot_id(self) -> str:
        return str(self.client.user_id)

    async def send(
        self, core: CoreAPI, room_id: str, reply: Reply, txn: str, in_reply_to: str | None
    ) -> str | None:
        """Send `reply` where only its recipient can read it, and tell the room (when it
        answers a command there) only that it was sent privately. A room opened just now
        reaches the bot with a later sync: the reply waits for it (see `flush`)."""
        user_id = recipient(reply.recipient)
        if user_id is None:
            raise PermanentError("a private reply for someone who is not on Matrix")
        private_txn = f"{txn}-private"
        dm = await self.room_of(core, user_id)
        sent: str | None = None
        if dm is not None:
            sent = await self.sender.content(dm, reply, private_txn)
        else:
            opened = self.held.opening.get(user_id) or await self.open_room(user_id)
            if opened is None:
                notice = Reply(
                    kind="error",
                    blocks=(
                        line(
                            "I could not open a direct message with you; start one with "
                            f"{self.bot_id} and ask there"
                        ),
                    ),
                )
                return await self.sender.notice(room_id, notice, txn, in_reply_to)
            self.held.hold(HeldReply(opened, reply, private_txn, self._seconds()))
        if in_reply_to is None:
            return sent  # an outbox delivery: the room asked nothing, so it is told nothing
        return await self.sender.notice(room_id, sent_privately(), txn, in_reply_to)

    async def room_of(self, core: CoreAPI, user_id: str) -> str | None:
        """A synced direct-message room only the bot and `user_id` can read, if there is one."""
        need_encryption = self.client.olm is not None
        for candidate in self.direct.rooms_of(user_id):
            chosen = private_room(
                [candidate],
                self.client.rooms,
                self.bot_id,
                user_id,
                need_encryption=need_encryption,
            )
            # A room bound to a co-op is a group room, whoever happens to be in it now.
            if chosen and not await core.room_is_bound(RoomRef(PLATFORM, chosen)):
                return chosen
        return None

    async def open_room(self, user_id: str) -> str | None:
        """Create an invite-only direct-message room with `user_id` (encrypted when the bot
        has end-to-end encryption) and flag it in m.direct; None if the homeserver refuses."""
        try:
            response = await self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.private_chat,
                initial_state=[ENCRYPTION_STATE] if self.client.olm else [],
            )
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("could not open a direct message with %s (%s)", user_id, exc)
            return None
        if not isinstance(response, RoomCreateResponse):
            log.warning("could not open a direct message with %s: %s", user_id, response)
            return None
        room_id = str(response.room_id)
        self.held.opening[user_id] = room_id
        await self.flag_direct(room_id, user_id)
        return room_id

    async def flush(self) -> None:
        """Send the private replies whose new rooms this sync brought; retry the rest later."""
        for item in self.held.expire(self._seconds(), PRIVATE_HOLD_SECONDS):
            log.warning("a private reply for %s was dropped: the room never synced", item.room_id)
        ready = self.held.ready(self.client.rooms)
        for index, item in enumerate(ready):
            try:
                async with self.send_lock:
                    await self.sender.content(item.room_id, item.reply, item.txn)
            except PermanentError as exc:
                log.warning("a private reply for %s was dropped: %s", item.room_id, exc)
            except (SendError, ClientConnectionError, TimeoutError) as exc:
                log.warning("a private reply for %s waits (%s)", item.room_id, exc)
                for rest in ready[index:]:
                    self.held.hold(rest)
                return

    async def flag_direct(self, room_id: str, user_id: str) -> None:
        """Remember a direct-message room in the bot's `m.direct` account data, where the
        flag outlives a restart (and the bot account's other clients see it too)."""
        content = self.direct.add(room_id, user_id)
        if content is None:
            return
        path = f"/_matrix/client/v3/user/{quote(self.bot_id, safe='')}/account_data/{M_DIRECT}"
        headers = {
            "Authorization": f"Bearer {self.client.access_token}",
            "Content-Type": "application/json",
        }
        try:
            answer = await self.client.send("PUT", path, json.dumps(content), headers)
            status = answer.status
            answer.release()
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("could not store %s as a direct message (%s)", room_id, exc)
            return
        if status != 200:
            log.warning("could not store %s as a direct message (HTTP %s)", room_id, status)

    def _seconds(self) -> float:
        return self.clock.now().timestamp()
