"""The contract between the core and every chat adapter (console, Discord, Matrix)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.invocation import Invocation, RoomRef
from bot.outgoing import Answer, Delivery, PermanentSendError, Send
from bot.render.document import Reply

# What the core hands an adapter to send (defined in the core, part of this contract).
__all__ = ["Answer", "ChatAdapter", "CoreAPI", "Delivery", "PermanentSendError", "Send"]


class CoreAPI(Protocol):
    """What an adapter may ask of the core."""

    async def answer(self, invocation: Invocation) -> Sequence[Answer]:
        """Run one command; returns its replies (errors are replies too). Replies with a
        delivery must be sent through `deliver`, so that they are marked once sent."""
        ...

    async def handle(self, invocation: Invocation) -> Sequence[Reply]:
        """Run one command whose replies the caller shows at once (a read-only refresh,
        a test); its stored answers are marked sent now. Members' commands use `answer`."""
        ...

    async def deliver(self, delivery: Delivery, send: Send) -> bool:
        """Send one delivery with `send` and mark it; a failure is retried later with
        back-off, or given up (a dead letter). Returns whether it was sent."""
        ...

    async def deliver_pending(self, platform: str, send: Send, limit: int = 50) -> int:
        """Send the due outbox deliveries for `platform` (oldest first, each with
        `send`); returns how many were sent. A failure ends the round."""
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
