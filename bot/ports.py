"""The ports: what the core needs from a chat platform and offers it, owned by the core."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from bot.clock import Clock
from bot.config import Settings
from bot.intents import (
    Announcement,
    CardClosed,
    CardOpened,
    CardUpdated,
    DecisionRef,
    Intent,
    PrivateReply,
    Say,
)
from bot.invocation import Actor, Invocation, RoomRef
from bot.outgoing import Answer, Delivery, PermanentSendError, Send
from bot.render.document import Choices, Reply

if TYPE_CHECKING:
    from bot.live_hub import LiveHub

# What the core hands an adapter to send (defined in the core, part of this contract).
__all__ = [
    "ENTRY_POINT_GROUP",
    "Announcement",
    "Answer",
    "CardClosed",
    "CardOpened",
    "CardUpdated",
    "ChatAdapter",
    "CoreAPI",
    "DecisionRef",
    "Delivery",
    "Finding",
    "HomeRoom",
    "Intent",
    "Level",
    "OutboxPump",
    "PermanentSendError",
    "Platform",
    "PrivateReply",
    "Say",
    "Send",
]

# A platform ships as a package that names, in this entry-point group, a module (or any
# object) with the `Platform` functions: `coopbot.adapters = {irc = "coopbot_irc"}`.
ENTRY_POINT_GROUP = "coopbot.adapters"

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    """One pre-flight result: `transient` marks a failure that may pass by itself (a server
    that cannot be reached now), which `run` leaves to the adapter's supervisor."""

    level: Level
    subject: str
    message: str
    hint: str | None = None
    transient: bool = False

    def lines(self) -> list[str]:
        head = f"{self.level:<4}  {self.subject}: {self.message}"
        return [head, f"      → {self.hint}"] if self.hint else [head]


class OutboxPump(Protocol):
    """Drains one platform's outbox (bot.delivery.Pump)."""

    async def round(self) -> int: ...

    async def tick(self) -> None: ...

    async def run(self, until: asyncio.Event | None = None) -> None: ...

    def wake(self) -> None: ...

    def start(self) -> None: ...

    async def stop(self, drain_seconds: float = 0.0) -> None: ...


class CoreAPI(Protocol):
    """What an adapter may ask of the core."""

    @property
    def live_cards(self) -> LiveHub:
        """The hub a platform's live-card pacer joins while its adapter runs: it hears the
        answers of every command the core runs, and (`look`, once per window, from the
        adapter's timer) the votes other processes handled."""
        ...

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

    def pump(
        self,
        platform: str,
        send: Send,
        *,
        every: float,
        before_round: Callable[[], Awaitable[object]] | None = None,
    ) -> OutboxPump:
        """The one drain loop for `platform`'s outbox: rounds every `every` seconds, a
        failed round retried, the rest sent when stopping (bot.delivery.Pump)."""
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

    async def link_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        """Remember that a platform message (a decision card, a native poll) shows decision
        `ref`, so later events (a poll answer, a new count) can find it."""
        ...

    async def decision_of(self, platform: str, message_id: str) -> DecisionRef | None:
        """The decision a platform message was linked to, if any."""
        ...

    async def cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        """(room_id, message_id) of every message linked to decision `ref` on `platform`."""
        ...

    async def link_live_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        """Remember the message that is decision `ref`'s live card in a room, where it is
        not the one votes are cast on (a Matrix notice beside its native poll)."""
        ...

    async def live_cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        """(room_id, message_id) of every live card remembered by `link_live_card`."""
        ...

    async def card(self, ref: DecisionRef) -> Reply | None:
        """The decision's card as it stands now, to refresh the posted ones (reads only)."""
        ...

    async def vote_choices(self, room: RoomRef, number: int) -> Choices | None:
        """The choices of open decision #`number` in `room`'s co-op, for autocomplete."""
        ...

    async def threads_on(self, ref: DecisionRef) -> bool:
        """Whether the decision's co-op keeps a thread per decision (`threads:on`): a
        platform with threads starts one at its card and sends its reminders and result
        there, keeping one line per event in the room."""
        ...

    def binds_room(self, invocation: Invocation) -> bool:
        """Whether `invocation` is a command that binds its room to a co-op: where a room
        only looks private (just the actor and the bot, not flagged as a direct message),
        such a command is a group room being set up, not a direct message."""
        ...

    async def secret_vote(self, invocation: Invocation) -> DecisionRef | None:
        """The secret decision `invocation` votes on, if it is one (a platform where room
        messages are public removes the message)."""
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


@runtime_checkable
class HomeRoom(Protocol):
    """An adapter with one room of its own and a person at it (the console): the runner
    binds that room to a local co-op with that person as its steward."""

    room: RoomRef

    def founder(self) -> Actor: ...


class Platform(Protocol):
    """What a platform package offers the core under `ENTRY_POINT_GROUP`."""

    def create_adapter(self, settings: Settings, clock: Clock) -> ChatAdapter:
        """A fresh adapter for the settings (a new one for each supervised attempt)."""
        ...

    async def check(
        self, settings: Settings, rooms: Sequence[str], **options: Any
    ) -> Sequence[Finding]:
        """Pre-flight checks of credentials, the bound `rooms` and permissions."""
        ...
