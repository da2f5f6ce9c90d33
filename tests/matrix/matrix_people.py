"""Members in Matrix tests: real matrix-nio clients that send messages and read replies."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
    ToDeviceMessage,
)
from nio.exceptions import EncryptionError

Predicate = Callable[[dict[str, Any]], bool]


class WithheldKey:
    """The room key of a message, encrypted for some devices but not sent to them yet."""

    def __init__(self, client: AsyncClient, messages: dict[str, dict[str, Any]]) -> None:
        self.client = client
        self.messages = messages  # user id → device id → the Olm-encrypted m.room_key

    async def send(self) -> None:
        for user_id, devices in self.messages.items():
            for device_id, content in devices.items():
                message = ToDeviceMessage("m.room.encrypted", user_id, device_id, content)
                await self.client.to_device(message)


class Person:
    """One member at a real Matrix client. `seen[room]` holds every event (decrypted) the
    client has synced, as raw dicts, so a test can look for what a member would see. As a
    real client does, an event that could not be decrypted yet (its room key comes apart
    from it, and may come a sync later) is kept, its key asked for, and decrypted in
    `seen` once the key is in; `undecryptable` lists those still unreadable."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.seen: dict[str, list[dict[str, Any]]] = {}
        self.undecryptable: dict[str, tuple[str, MegolmEvent]] = {}  # event id → (room, event)
        self.invites: dict[str, str] = {}  # room id → who invited this person
        self._synced = False

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @classmethod
    async def login(
        cls, homeserver: str, user_id: str, password: str, store: Path | None = None
    ) -> Person:
        config = AsyncClientConfig(
            encryption_enabled=store is not None, store_sync_tokens=False, max_timeouts=2
        )
        if store is not None:
            await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
        client = AsyncClient(
            homeserver, user_id, store_path=str(store) if store else "", config=config
        )
        response = await client.login(password, device_name="test-client")
        assert isinstance(response, LoginResponse), response
        person = cls(client)
        await person.sync()
        return person

    async def close(self) -> None:
        await self.client.close()

    async def sync(self, timeout_ms: int = 0) -> None:
        response = await self.client.sync(timeout=timeout_ms, full_state=not self._synced)
        assert isinstance(response, SyncResponse), response
        self._synced = True
        for room_id, invite in response.rooms.invite.items():
            for event in invite.invite_state:
                if isinstance(event, InviteMemberEvent) and event.state_key == self.user_id:
                    self.invites[room_id] = event.sender
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                if isinstance(event, MegolmEvent):
                    self.undecryptable[event.event_id] = (room_id, event)
                self.seen.setdefault(room_id, []).append(event.source)
        if self.client.olm:
            await self._decrypt_held()
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()

    async def _decrypt_held(self) -> None:
        """Decrypt what the keys in hand now open (nio took this sync's keys in first); ask
        once per session for the others' keys."""
        for event_id, (room_id, event) in list(self.undecryptable.items()):
            try:
                decrypted = self.client.decrypt_event(event)
            except EncryptionError:
                if event.session_id not in self.client.outgoing_key_requests:
                    with contextlib.suppress(LocalProtocolError):
                        await self.client.request_room_key(event)
                continue
            del self.undecryptable[event_id]
            seen = self.seen.get(room_id, [])
            for index, source in enumerate(seen):
                if source.get("event_id") == event_id:
                    seen[index] = decrypted.source
                    break

    async def say_keeping_key_from(
        self, room_id: str, text: str, reader: str
    ) -> tuple[str, WithheldKey]:
        """Send `text` encrypted in a new session whose key `reader`'s devices get only when
        the returned key is sent (the other members' never do). What this member sends
        afterwards is in yet another session, shared as usual."""
        olm = self.client.olm
        assert olm is not None, "an encrypted message needs a client with a crypto store"
        olm.outbound_group_sessions.pop(room_id, None)
        messages: dict[str, dict[str, Any]] = {}
        shares = olm.share_group_session_parallel(room_id, [reader], ignore_unverified_devices=True)
        for _, to_device in shares:
            for user_id, devices in to_device["messages"].items():
                messages.setdefault(user_id, {}).update(devices)
        assert messages.get(reader), f"{self.user_id} has no Olm session with {reader}"
        olm.outbound_group_sessions[room_id].shared = True  # nio sends it to no one else
        event_id = await self.say(room_id, text)
        olm.outbound_group_sessions.pop(room_id, None)
        return event_id, WithheldKey(self.client, messages)

    async def create_room(
        self, name: str, invite: list[str], encrypted: bool = False, direct: bool = False
    ) -> str:
        initial_state: list[dict[str, Any]] = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        response = await self.client.room_create(
            name=name, invite=invite, initial_state=initial_state, is_direct=direct
        )
        assert isinstance(response, RoomCreateResponse), response
        await self.sync()
        return str(response.room_id)

    async def join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        assert isinstance(response, JoinResponse), response
        await self.sync()

    async def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return str(response.event_id)

    async def say(self, room_id: str, text: str, html: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if html is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = html
        return await self.send(room_id, "m.room.message", content)

    async def answer_poll(
        self, room_id: str, poll_id: str, answers: list[str], stable: bool = False
    ) -> str:
        relates = {"rel_type": "m.reference", "event_id": poll_id}
        if stable:
            content = {"m.selections": answers, "m.relates_to": relates}
            return await self.send(room_id, "m.poll.response", content)
        content = {
            "org.matrix.msc3381.poll.response": {"answers": answers},
            "m.relates_to": relates,
        }
        return await self.send(room_id, "org.matrix.msc3381.poll.response", content)

    def find(self, room_id: str, predicate: Predicate) -> list[dict[str, Any]]:
        return [event for event in self.seen.get(room_id, []) if predicate(event)]

    async def wait_for(
        self, room_id: str, predicate: Predicate, within: float = 30.0
    ) -> dict[str, Any]:
        """The first event in the room matching `predicate`, syncing until it arrives."""
        deadline = time.monotonic() + within
        while True:
            found = self.find(room_id, predicate)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                bodies = [
                    event.get("content", {}).get("body") for event in self.seen.get(room_id, [])
                ]
                raise AssertionError(f"no matching event in {room_id}; saw {bodies}")
            await self.sync(timeout_ms=500)

    async def invited_by(self, user_id: str, within: float = 30.0) -> str:
        """The first room `user_id` invited this person to, syncing until there is one."""
        deadline = time.monotonic() + within
        while True:
            rooms = [room for room, inviter in self.invites.items() if inviter == user_id]
            if rooms:
                return rooms[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"{user_id} invited {self.user_id} nowhere")
            await self.sync(timeout_ms=500)

    async def history(self, room_id: str) -> list[dict[str, Any]]:
        """Every event of the room as the homeserver has it for this person, oldest first.
        A sync may skip events (a limited timeline); this does not, so a test that shows
        that something did NOT happen reads this, after a sentinel (matrix_story)."""
        events: list[dict[str, Any]] = []
        start = ""
        for _ in range(50):
            page = await self.client.room_messages(
                room_id, start=start, direction=MessageDirection.back, limit=100
            )
            assert isinstance(page, RoomMessagesResponse), page
            events.extend(event.source for event in page.chunk)
            if not page.end or not page.chunk:
                break
            start = page.end
        return list(reversed(events))


def reply_to(event_id: str, sender: str | None = None) -> Predicate:
    """Matches a message answering `event_id` (a notice replying to a command)."""

    def check(event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        if sender is not None and event.get("sender") != sender:
            return False
        return bool(relates.get("m.in_reply_to", {}).get("event_id") == event_id)

    return check


def of_type(event_type: str, sender: str | None = None) -> Predicate:
    def check(event: dict[str, Any]) -> bool:
        return event.get("type") == event_type and (sender is None or event.get("sender") == sender)

    return check


def body_contains(text: str, sender: str | None = None) -> Predicate:
    def check(event: dict[str, Any]) -> bool:
        body = event.get("content", {}).get("body")
        return (
            isinstance(body, str)
            and text in body
            and (sender is None or event.get("sender") == sender)
        )

    return check


def reaction_to(event_id: str, sender: str | None = None) -> Predicate:
    """Matches a reaction (an m.annotation) on `event_id`."""

    def check(event: dict[str, Any]) -> bool:
        relates = event.get("content", {}).get("m.relates_to", {})
        return (
            event.get("type") == "m.reaction"
            and relates.get("event_id") == event_id
            and (sender is None or event.get("sender") == sender)
        )

    return check


def msgtype(kind: str) -> Predicate:
    def check(event: dict[str, Any]) -> bool:
        return bool(event.get("content", {}).get("msgtype") == kind)

    return check
