"""What an adapter hands the core for one incoming command: who, where, and the text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CAP_BUTTONS = "buttons"
CAP_NATIVE_POLLS = "native_polls"
CAP_EPHEMERAL = "ephemeral"
CAP_ATTACHMENTS = "attachments"
# The room's platform can sync the registry from its roles (Discord with role names set).
CAP_ROLE_SYNC = "role_sync"


@dataclass(frozen=True)
class RoomRef:
    """A room on one platform: ("console", "local"), ("matrix", "!abc:example.org"),
    ("discord", "<channel id>")."""

    platform: str
    room_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.room_id}"


@dataclass(frozen=True)
class Actor:
    """The person who sent a command, as their platform knows them.

    `user_id` is the platform's stable id (Discord snowflake, Matrix user id, console name);
    `is_room_admin` is the adapter's verdict (Manage Server, power level ≥ 50, console: true)."""

    platform: str
    user_id: str
    display_name: str
    is_room_admin: bool = False

    @property
    def identity(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Invocation:
    """One command as typed, with the prefix already removed: `vote 3 yes reason:"fine"`.

    Mentions in `text` are written as canonical tokens the adapter produced: `<@123>` on
    Discord, a Matrix user id `@alice:example.org`, `@name` on the console. `mentioned` maps
    identity keys ("discord:123") to display names, so new members get a readable name.
    `message_id` is the platform's id of the message; a message id seen before is ignored.
    """

    room: RoomRef
    actor: Actor
    text: str
    message_id: str
    capabilities: frozenset[str] = frozenset()
    mentioned: Mapping[str, str] = field(default_factory=dict)
    # A private conversation between the actor and the bot (a Matrix DM): no co-op is bound
    # to it, so the co-op is the one the actor belongs to, and replies are seen by them only.
    direct: bool = False
