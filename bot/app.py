"""Composition root: settings → engine → dispatcher and services → what adapters talk to."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.commands.tree import build_command_tree
from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.db.writer_thread import writer_thread
from bot.delivery import Pump
from bot.dispatch import Dispatcher
from bot.fault_injection import crash_after_commit
from bot.handler_table import all_handlers
from bot.intents import DecisionRef
from bot.invocation import Actor, Invocation, RoomRef
from bot.live_hub import LiveHub
from bot.lookups import Lookups
from bot.maintenance import Maintenance
from bot.message_links import MessageLinks
from bot.metrics import Metrics
from bot.open_database import open_engine
from bot.outbox_delivery import OutboxDelivery
from bot.outgoing import Answer, Delivery, Send
from bot.render.chart_process import ChartSlots
from bot.render.document import Choices, Reply
from bot.replan import Replans
from bot.room_binding import RoomBinding
from bot.secret_votes import SecretVotes
from bot.services import retention
from bot.services.registry_sync import RoleHolder, SyncResult
from bot.write_watch import watch

__all__ = ["Core", "all_handlers", "create_core"]


class Core:
    """The bot core as adapters see it (bot.ports.CoreAPI): it runs commands itself and
    hands every other request to the part that does that one job."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = engine
        self.sessions = sessions
        self.metrics = metrics or Metrics()
        self.tree = build_command_tree()
        # Names this process in the outbox leases it holds (which host, which process).
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        handlers = all_handlers(self.tree)
        self.charts = ChartSlots()  # the weekly chart's child processes, so many at a time
        # SQLite: one writer at a time, and a thread that runs a vote's transaction at once.
        self.writer = writer_thread(engine)
        # Every engine the core's statements go through (for listeners of their events).
        self.engines = (engine.sync_engine, *([self.writer.engine] if self.writer else []))
        self.dispatcher = Dispatcher(
            sessions,
            clock,
            settings,
            self.tree,
            handlers,
            owner=self.owner,
            observe=self.metrics.command_done,
            writer=self.writer,
            charts=self.charts,
        )
        self._outbox = OutboxDelivery(sessions, clock, settings, self.metrics, owner=self.owner)
        self.courier = self._outbox.courier
        self._replans = Replans()
        self._links = MessageLinks(sessions)
        # Each running platform adapter's live-card pacer joins it to hear every change.
        self.live_cards = LiveHub(sessions, clock)
        self._lookups = Lookups(sessions, clock, settings, handlers)
        self._rooms = RoomBinding(sessions, clock, settings)
        self._secret_votes = SecretVotes(sessions, clock, settings, self.tree)
        self._maintenance = Maintenance(settings, clock, engine, sessions, self.charts)
        for each in self.engines:
            watch(
                each,
                due_changed=self._replans.changed,
                outbox_queued=self._outbox.wake_pumps,
                rooms_changed=self._secret_votes.rooms_changed,
            )

    # Commands.

    def after_commands(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call `listener` (the scheduler's re-plan) after a commit that changed what is due
        (a deadline set or moved, a decision opened or closed, a task claimed), in the
        background: never on a command's reply path, never for a change nothing waits on."""
        self._replans.listen(listener)

    async def replanned(self) -> None:
        """Wait until no re-plan is pending (tests, and Core.handle's callers)."""
        await self._replans.settled()

    async def answer(
        self, invocation: Invocation, *, shown_at_once: bool = False
    ) -> Sequence[Answer]:
        """Run one command. The answers to a change come with their stored delivery, leased
        by this process, which the adapter sends through `deliver` straight after the
        commit (a crash before that cannot lose them: the lease runs out and a pump sends
        them). `shown_at_once`: the caller shows them as this returns, nothing is stored.
        Re-planning and waking the pumps for other rooms happen in the background; the
        live-card pacers of every running adapter hear the answers (`live_cards`)."""
        answers = await self.dispatcher.handle(invocation, shown_at_once=shown_at_once)
        crash_after_commit(self.settings, invocation, answers)
        self.live_cards.answered(answers)  # every platform's live cards follow, off this path
        return answers

    async def handle(self, invocation: Invocation) -> Sequence[Reply]:
        """Run one command whose replies the caller shows at once (tests, a card refresh):
        they are not stored for delivery (Dispatcher.handle, `shown_at_once`), and the
        scheduler's plan is up to date when it returns."""
        answers = await self.answer(invocation, shown_at_once=True)
        await self.replanned()
        return [a.reply for a in answers]

    def binds_room(self, invocation: Invocation) -> bool:
        """Whether `invocation` names a command that binds its room to a co-op (`coop
        setup`, `coop bind`), whatever its arguments: a room of just the actor and the bot
        where one is typed is being made a co-op's room, not a direct message."""
        found = self.tree.match(invocation.text.split()[:3])
        return found is not None and found[0].binds_room

    async def secret_vote(self, invocation: Invocation) -> DecisionRef | None:
        return await self._secret_votes.secret_vote(invocation)

    # The outbox (bot.outbox_delivery).

    async def deliver(self, delivery: Delivery, send: Send) -> bool:
        return await self._outbox.deliver(delivery, send)

    async def deliver_pending(self, platform: str, send: Send, limit: int = 50) -> int:
        return await self._outbox.deliver_pending(platform, send, limit)

    def pump(
        self,
        platform: str,
        send: Send,
        *,
        every: float,
        before_round: Callable[[], Awaitable[object]] | None = None,
    ) -> Pump:
        return self._outbox.pump(platform, send, every=every, before_round=before_round)

    async def pending_deliveries(self, platform: str, limit: int = 50) -> Sequence[Delivery]:
        return await self._outbox.pending_deliveries(platform, limit)

    async def mark_delivered(self, delivery_id: int, platform_message_id: str | None) -> None:
        await self._outbox.mark_delivered(delivery_id, platform_message_id)

    async def outbox_depth(self) -> dict[str, tuple[int, int]]:
        return await self._outbox.outbox_depth()

    # Which platform message shows what (bot.message_links).

    async def link_message(
        self, platform: str, room_id: str, message_id: str, subject: str
    ) -> None:
        await self._links.link_message(platform, room_id, message_id, subject)

    async def subject_of(self, platform: str, message_id: str) -> str | None:
        return await self._links.subject_of(platform, message_id)

    async def messages_about(self, platform: str, subject: str) -> Sequence[tuple[str, str]]:
        return await self._links.messages_about(platform, subject)

    async def link_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        await self._links.link_card(platform, room_id, message_id, ref)

    async def decision_of(self, platform: str, message_id: str) -> DecisionRef | None:
        return await self._links.decision_of(platform, message_id)

    async def cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        return await self._links.cards_of(platform, ref)

    async def link_live_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        await self._links.link_live_card(platform, room_id, message_id, ref)

    async def live_cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        return await self._links.live_cards_of(platform, ref)

    # Read-only lookups (bot.lookups).

    async def card(self, ref: DecisionRef) -> Reply | None:
        return await self._lookups.card(ref)

    async def vote_choices(self, room: RoomRef, number: int) -> Choices | None:
        return await self._lookups.vote_choices(room, number)

    async def threads_on(self, ref: DecisionRef) -> bool:
        return await self._lookups.threads_on(ref)

    async def suggest(
        self, room: RoomRef, kind: str, prefix: str, limit: int = 25
    ) -> Sequence[tuple[int, str]]:
        return await self._lookups.suggest(room, kind, prefix, limit)

    # A room's binding (bot.room_binding).

    async def room_is_bound(self, room: RoomRef) -> bool:
        return await self._rooms.room_is_bound(room)

    async def sync_role_members(
        self,
        room: RoomRef,
        pages: AsyncIterator[Sequence[RoleHolder]],
        *,
        manage_roles: bool = True,
    ) -> SyncResult:
        return await self._rooms.sync_role_members(room, pages, manage_roles=manage_roles)

    async def bootstrap_room(self, room: RoomRef, founder: Actor, name: str) -> bool:
        return await self._rooms.bootstrap_room(room, founder, name)

    # Timed work (bot.maintenance).

    async def run_due_work(self) -> int:
        return await self._maintenance.run_due_work()

    async def optimize_database(self) -> None:
        await self._maintenance.optimize_database()

    async def prune_history(self) -> retention.Pruned:
        return await self._maintenance.prune_history()

    async def close(self) -> None:
        await self.live_cards.settled()
        await self._replans.close()
        await self._outbox.close()
        if self.writer is not None:
            await self.writer.close()
        await self.engine.dispose()


async def create_core(
    settings: Settings, clock: Clock, *, read_only: bool = False, metrics: Metrics | None = None
) -> Core:
    """Build the core on `settings.database_url` (bot.open_database.open_engine: a SQLite
    file is created and upgraded for running; any other database must be at the head)."""
    engine = await open_engine(settings, read_only=read_only)
    return Core(settings, clock, engine, make_session_factory(engine), metrics)
