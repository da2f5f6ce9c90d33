"""End-to-end encryption upkeep: key uploads, queries and claims; reading held events."""

from __future__ import annotations

import contextlib
import logging

from aiohttp import ClientConnectionError
from nio import AsyncClient, EncryptionError, Event, LocalProtocolError, MegolmEvent

log = logging.getLogger(__name__)


def fingerprint(client: AsyncClient) -> str:
    """The device's ed25519 key (operators publish it so that members can verify the bot)."""
    return str(client.olm.account.identity_keys["ed25519"]) if client.olm else "-"


async def upload_keys(client: AsyncClient) -> None:
    """Publish the device's keys when the homeserver does not have them yet."""
    if client.olm and client.should_upload_keys:
        await client.keys_upload()


class Encryption:
    """Keeps the bot's device keys current, learns members' devices so that replies are
    encrypted for all of them, and reads and asks for the keys of held events."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

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

    async def ask_for_keys(self, events: list[MegolmEvent]) -> None:
        """Ask for the room key of each event, once per session (nio remembers what it
        asked for): the key usually arrives by itself a sync later, but may not."""
        for event in events:
            if not self.client.olm or event.session_id in self.client.outgoing_key_requests:
                continue
            with contextlib.suppress(LocalProtocolError, ClientConnectionError, TimeoutError):
                await self.client.request_room_key(event)

    def readable(self, event: MegolmEvent) -> Event | None:
        """The event decrypted, or None while its room key is still missing."""
        if not self.client.olm:
            return None
        try:
            return self.client.decrypt_event(event)
        except EncryptionError:
            return None
