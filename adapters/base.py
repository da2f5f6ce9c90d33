"""The contract between the core and every chat adapter (console, Discord, Matrix)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.invocation import Invocation, RoomRef
from bot.render.document import Reply


@dataclass(frozen=True)
class Delivery:
    """One outbox announcement to be sent to one bound room."""

    delivery_id: int
    room: RoomRef
    reply: Reply


class CoreAPI(Protocol):
    """What an adapter may ask of the core."""

    async def handle(self, invocation: Invocation) -> Sequence[Reply]:
        """Run one command; returns the replies for the room (errors are replies too)."""
        ...

    async def pending_deliveries(self, platform: str, limit: int = 50) -> Sequence[Delivery]:
        """Announcements not yet delivered to rooms of `platform`, oldest first."""
        ...

    async def mark_delivered(self, delivery_id: int, platform_message_id: str | None) -> None:
        """Record that a delivery reached its room, so it is never sent again."""
        ...

    async def release_delivery(self, delivery_id: int) -> None:
        """A send failed: give the delivery back so the next attempt retries it at once."""
        ...

    async def room_is_bound(self, room: RoomRef) -> bool:
        """Whether `room` is bound to a co-op (a bound room is never a direct message)."""
        ...

    async def suggest(
        self, room: RoomRef, kind: str, prefix: str, limit: int = 25
    ) -> Sequence[tuple[int, str]]:
        """(number, title) of open decisions (kind "decision") or open/claimed tasks
        (kind "task") matching what was typed, for autocomplete."""
        ...

    async def link_message(
        self, platform: str, room_id: str, message_id: str, subject: str
    ) -> None:
        """Remember that a platform message (a decision embed, a native poll) is about
        `subject` (Reply.subject, e.g. "decision:3:7"), so later events can find it."""
        ...

    async def subject_of(self, platform: str, message_id: str) -> str | None:
        """The subject a platform message was linked to, if any."""
        ...

    async def messages_about(self, platform: str, subject: str) -> Sequence[tuple[str, str]]:
        """(room_id, message_id) of every message linked to `subject` on `platform`."""
        ...

    async def run_due_work(self) -> int:
        """Run scheduled work that is due now (opens, closes, reminders, releases,
        summaries); returns how many transitions happened. Idempotent."""
        ...


class ChatAdapter(Protocol):
    """A connection to one chat platform."""

    platform: str
    capabilities: frozenset[str]

    async def run(self, core: CoreAPI) -> None:
        """Connect, listen and deliver until stopped or (console) until input ends."""
        ...

    async def stop(self) -> None: ...
