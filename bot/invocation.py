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
class IdentityRef:
    """A person on one platform: ("matrix", "@bob:example.org"), ("discord", "<user id>").
    The registry and a private reply's `private_to` spell it `platform:user_id` (`key`);
    `parse` is the one place that reads that spelling back."""

    platform: str
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"

    @classmethod
    def parse(cls, key: str | None) -> IdentityRef | None:
        """The identity `key` spells, or None when it is not `platform:user_id`."""
        platform, sep, user_id = (key or "").partition(":")
        if not sep or not platform or not user_id:
            return None
        return cls(platform, user_id)


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
    def ref(self) -> IdentityRef:
        return IdentityRef(self.platform, self.user_id)

    @property
    def identity(self) -> str:
        return self.ref.key


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

    @property
    def answered_privately(self) -> bool:
        """Whether the reply is seen by the actor only (a direct conversation, or a
        platform that shows it to them alone): where a secret choice may be shown."""
        return self.direct or CAP_EPHEMERAL in self.capabilities


def build_invocation(
    room: RoomRef,
    user_id: str,
    text: str,
    message_id: str,
    *,
    display_name: str | None = None,
    is_room_admin: bool = False,
    capabilities: frozenset[str] = frozenset(),
    mentioned: Mapping[str, str] | None = None,
    direct: bool = False,
) -> Invocation:
    """The one way an adapter (or a test) hands the core a command: the actor is a person
    on the room's own platform, the text is the command without its prefix and without
    surrounding blanks, and a person without a display name is shown by their user id."""
    return Invocation(
        room=room,
        actor=Actor(room.platform, user_id, display_name or user_id, is_room_admin),
        text=text.strip(),
        message_id=message_id,
        capabilities=capabilities,
        mentioned=dict(mentioned or {}),
        direct=direct,
    )
