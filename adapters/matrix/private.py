"""Where a private reply goes on Matrix: a direct-message room that only the bot and that
person can read (encrypted when the bot has end-to-end encryption), and the replies held
for such a room until the homeserver has synced it to the bot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.invocation import IdentityRef
from bot.render.document import Reply

ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


class RoomView(Protocol):
    """What the choice needs of a nio MatrixRoom."""

    users: Mapping[str, Any]  # joined and invited members
    join_rule: str
    encrypted: bool


def recipient(identity: IdentityRef | None) -> str | None:
    """The Matrix user id a private reply is for (("matrix", "@bob:hs") → "@bob:hs"), or
    None when it is for someone on another platform or is no Matrix user id."""
    if identity is None or identity.platform != "matrix":
        return None
    user_id = identity.user_id
    return user_id if user_id.startswith("@") and ":" in user_id else None


def private_room(
    candidates: Iterable[str],
    rooms: Mapping[str, RoomView],
    bot_id: str,
    user_id: str,
    *,
    need_encryption: bool,
) -> str | None:
    """The first candidate room only `bot_id` and `user_id` can read: both in it (joined or
    invited), nobody else, invite-only, and encrypted when `need_encryption`."""
    for room_id in candidates:
        room = rooms.get(room_id)
        if room is None:
            continue
        readers = set(room.users)
        if user_id not in readers or not readers <= {bot_id, user_id}:
            continue
        if room.join_rule != "invite" or (need_encryption and not room.encrypted):
            continue
        return room_id
    return None


@dataclass
class HeldReply:
    """A private reply waiting for its new direct-message room to reach the bot's sync."""

    room_id: str
    reply: Reply
    txn: str
    held_at: float  # monotonic seconds


@dataclass
class HeldReplies:
    """Private replies held per room, and the rooms being opened per person."""

    opening: dict[str, str] = field(default_factory=dict)  # user id → new room id
    held: list[HeldReply] = field(default_factory=list)

    def hold(self, item: HeldReply) -> None:
        self.held.append(item)

    def ready(self, synced: Mapping[str, object]) -> list[HeldReply]:
        """The held replies whose rooms the bot has now synced (they leave the queue);
        a user whose new room arrived is no longer "opening"."""
        self.opening = {u: r for u, r in self.opening.items() if r not in synced}
        out = [item for item in self.held if item.room_id in synced]
        self.held = [item for item in self.held if item.room_id not in synced]
        return out

    def expire(self, now: float, max_age: float) -> list[HeldReply]:
        """Drop and return what waited longer than `max_age` seconds."""
        old = [item for item in self.held if now - item.held_at > max_age]
        self.held = [item for item in self.held if now - item.held_at <= max_age]
        return old
