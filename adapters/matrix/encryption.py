"""End-to-end encryption upkeep: key uploads, queries and claims, and events not yet readable."""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict

from nio import AsyncClient, Event, MatrixRoom, MegolmEvent

log = logging.getLogger(__name__)

# How many undecryptable events wait for their key at most (the oldest are forgotten).
_MAX_WAITING = 2048


def fingerprint(client: AsyncClient) -> str:
    """The device's ed25519 key (operators publish it so that members can verify the bot)."""
    return str(client.olm.account.identity_keys["ed25519"]) if client.olm else "-"


async def upload_keys(client: AsyncClient) -> None:
    """Publish the device's keys when the homeserver does not have them yet."""
    if client.olm and client.should_upload_keys:
        await client.keys_upload()


class Encryption:
    """Keeps the bot's device keys current, learns members' devices so that replies are
    encrypted for all of them, and holds events whose room key has not arrived yet."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self._waiting: OrderedDict[str, tuple[str, MegolmEvent]] = OrderedDict()

    async def maintain_keys(self) -> None:
        client = self.client
        if not client.olm:
            return
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def hold(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """Ask for the key of an event that could not be decrypted, and keep the event to
        try again after each sync: the key often arrives a moment later."""
        log.warning(
            "could not decrypt %s in %s (session %s); asking for the key",
            event.event_id,
            room.room_id,
            event.session_id,
        )
        with contextlib.suppress(Exception):
            await self.client.request_room_key(event)
        self._waiting[event.event_id] = (room.room_id, event)
        while len(self._waiting) > _MAX_WAITING:
            self._waiting.popitem(last=False)

    def decrypted(self) -> list[tuple[MatrixRoom, Event]]:
        """The held events that can be read now (each leaves the queue), with their room."""
        readable: list[tuple[MatrixRoom, Event]] = []
        for event_id, (room_id, event) in list(self._waiting.items()):
            room = self.client.rooms.get(room_id)
            try:
                decrypted = self.client.decrypt_event(event)
            except Exception:  # nio raises several kinds while the key is still missing
                continue
            del self._waiting[event_id]
            if room is not None:
                readable.append((room, decrypted))
        return readable
