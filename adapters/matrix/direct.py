"""Which Matrix rooms are private conversations with the bot (direct messages)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

M_DIRECT = "m.direct"


def invite_is_direct(content: Mapping[str, Any]) -> bool:
    """Whether an invite's m.room.member content marks the room as a direct message."""
    return content.get("is_direct") is True


class DirectRooms:
    """The rooms flagged as direct messages: by an `is_direct` invite, or in the bot's
    `m.direct` account data (user id → room ids), which the bot also updates itself so the
    flag outlives a restart."""

    def __init__(self) -> None:
        self._by_user: dict[str, list[str]] = {}

    def learn(self, content: Mapping[str, Any]) -> None:
        """Take the account data's `m.direct` content as the current list."""
        self._by_user = {
            user: [room for room in rooms if isinstance(room, str)]
            for user, rooms in content.items()
            if isinstance(user, str) and isinstance(rooms, list)
        }

    def add(self, room_id: str, user_id: str) -> dict[str, list[str]] | None:
        """Flag `room_id` as a direct message with `user_id`; returns the new `m.direct`
        content to store, or None when it was flagged already."""
        rooms = self._by_user.setdefault(user_id, [])
        if room_id in rooms:
            return None
        rooms.append(room_id)
        return {user: list(ids) for user, ids in self._by_user.items()}

    def flagged(self, room_id: str) -> bool:
        return any(room_id in rooms for rooms in self._by_user.values())

    def rooms_of(self, user_id: str) -> list[str]:
        """The rooms flagged as direct messages with `user_id`, oldest first."""
        return list(self._by_user.get(user_id, []))


def is_direct(
    flagged: bool, readers: Collection[str], bot_id: str, sender: str, binds_room: bool
) -> bool:
    """Whether a command in an unbound room comes from a private conversation.

    `readers` are the room's joined and invited members. Whatever the flags say, a room that
    anyone but the bot and the sender can read is never private. Without a flag, a room of
    just the two is a DM, except for a command that `binds_room` (the core says so: `coop
    setup`, `coop bind`): a steward who has just created a room for the co-op is alone with
    the bot too."""
    if sender == bot_id or not set(readers) <= {bot_id, sender}:
        return False
    return flagged or not binds_room
