"""Members in Matrix tests: real matrix-nio clients that send messages and read replies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    LoginResponse,
    MegolmEvent,
    MessageDirection,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)

Predicate = Callable[[dict[str, Any]], bool]


class Person:
    """One member at a real Matrix client. `seen[room]` holds every event (decrypted) the
    client has synced, as raw dicts, so a test can look for what a member would see."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.seen: dict[str, list[dict[str, Any]]] = {}
        self.undecryptable: list[str] = []
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
                    self.undecryptable.append(event.event_id)
                self.seen.setdefault(room_id, []).append(event.source)
        if self.client.olm:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()

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
