"""Composition root: settings → engine → dispatcher and services → what adapters talk to."""

from __future__ import annotations

import logging
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.commands.args import ShowArgs, VoteArgs
from bot.commands.handlers import Handler, by_args
from bot.commands.handlers import contributions as contribution_handlers
from bot.commands.handlers import coop as coop_handlers
from bot.commands.handlers import decisions as decision_handlers
from bot.commands.handlers import outbox as outbox_handlers
from bot.commands.handlers import reports as report_handlers
from bot.commands.handlers import tasks as task_handlers
from bot.commands.handlers.help import help_routes
from bot.commands.parser import parse
from bot.commands.tree import CommandTree, build_command_tree
from bot.config import Settings
from bot.db.engine import is_sqlite, make_engine, make_session_factory
from bot.db.migrate import upgrade
from bot.db.models import Coop, Decision, PlatformMessage
from bot.db.one_writer import one_writer
from bot.db.optimize import optimize
from bot.db.prepare import prepare_sqlite
from bot.db.status import schema_status
from bot.delivery import Courier, Outcome, Pump
from bot.dispatch import Dispatcher
from bot.domain.text import clean_name
from bot.errors import UserError
from bot.intents import DecisionRef
from bot.invocation import Actor, Invocation, RoomRef
from bot.metrics import Metrics
from bot.operator_errors import OperatorError
from bot.outgoing import Answer, Delivery, Send
from bot.render.document import Choices, Reply
from bot.replan import Replans
from bot.services import due, outbox, registry_sync, retention
from bot.services.context import Context
from bot.services.coop_config import effective
from bot.services.coops import coop_for_room, setup
from bot.services.registry_sync import RoleHolder, SyncResult
from bot.services.suggest import suggestions
from bot.write_watch import watch

log = logging.getLogger(__name__)


def all_handlers(tree: CommandTree) -> Mapping[type, Handler[Any]]:
    """Every command's handler, keyed by its arguments class (`Command.args`); the
    dispatcher checks none is missing."""
    return by_args(
        [
            *coop_handlers.routes(),
            *decision_handlers.routes(),
            *task_handlers.routes(),
            *contribution_handlers.routes(),
            *report_handlers.routes(),
            *outbox_handlers.routes(),
            *help_routes(tree),
        ]
    )


class Core:
    """The bot core as adapters see it (bot.ports.CoreAPI)."""

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
        self._handlers = all_handlers(self.tree)
        self.dispatcher = Dispatcher(
            sessions,
            clock,
            settings,
            self.tree,
            self._handlers,
            owner=self.owner,
            observe=self.metrics.command_done,
        )
        self.courier = Courier(
            sessions,
            clock,
            outbox.RetryPolicy.from_settings(settings),
            owner=self.owner,
            on_failure=self._count_send_failure,
        )
        self._replans = Replans()
        self._pumps: list[Pump] = []
        if engine.dialect.name == "sqlite":
            one_writer(engine)
        # The secret flag of a decision never changes; which co-op a room belongs to
        # does (bind, unbind), and then every lookup by room is forgotten.
        self._secret: dict[tuple[str, str, int], DecisionRef | None] = {}
        self._rooms_generation = 0
        watch(
            engine,
            due_changed=self._replans.changed,
            outbox_queued=self._wake_pumps,
            rooms_changed=self._rooms_changed,
        )

    def after_commands(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call `listener` (the scheduler's re-plan) after a commit that changed what is due
        (a deadline set or moved, a decision opened or closed, a task claimed), in the
        background: never on a command's reply path, never for a change nothing waits on."""
        self._replans.listen(listener)

    async def replanned(self) -> None:
        """Wait until no re-plan is pending (tests, and Core.handle's callers)."""
        await self._replans.settled()

    def _rooms_changed(self) -> None:
        self._rooms_generation += 1
        self._secret.clear()

    def _wake_pumps(self) -> None:
        for pump in self._pumps:
            pump.wake()

    async def answer(
        self, invocation: Invocation, *, shown_at_once: bool = False
    ) -> Sequence[Answer]:
        """Run one command. The answers to a change come with their stored delivery, leased
        by this process, which the adapter sends through `deliver` straight after the
        commit (a crash before that cannot lose them: the lease runs out and a pump sends
        them). `shown_at_once`: the caller shows them as this returns, nothing is stored.
        Re-planning and waking the pumps for other rooms happen in the background."""
        answers = await self.dispatcher.handle(invocation, shown_at_once=shown_at_once)
        self._crash_after_commit(invocation, answers)
        return answers

    async def handle(self, invocation: Invocation) -> Sequence[Reply]:
        """Run one command whose replies the caller shows at once (tests, a card refresh):
        they are not stored for delivery (Dispatcher.handle, `shown_at_once`), and the
        scheduler's plan is up to date when it returns."""
        answers = await self.answer(invocation, shown_at_once=True)
        await self.replanned()
        return [a.reply for a in answers]

    async def deliver(self, delivery: Delivery, send: Send) -> bool:
        return await self.courier.deliver(delivery, send) is Outcome.SENT

    async def deliver_pending(self, platform: str, send: Send, limit: int = 50) -> int:
        return await self.courier.deliver_pending(platform, send, limit)

    def pump(
        self,
        platform: str,
        send: Send,
        *,
        every: float,
        before_round: Callable[[], Awaitable[object]] | None = None,
    ) -> Pump:
        """The drain loop of `platform`'s outbox through `send` (bot.delivery.Pump); it is
        woken at once when a commit queues deliveries no sender holds."""
        pump = Pump(self.courier, platform, send, every=every, before_round=before_round)
        self._pumps.append(pump)
        return pump

    async def pending_deliveries(self, platform: str, limit: int = 50) -> Sequence[Delivery]:
        """Lease due deliveries for a caller that sends them itself and then calls
        `mark_delivered` (tests); adapters use `deliver_pending`."""
        async with self.sessions() as session, session.begin():
            leased = await outbox.lease_pending(
                session,
                self.clock,
                platform,
                limit,
                owner=self.owner,
                policy=self.courier.policy,
            )
        return leased

    async def mark_delivered(self, delivery_id: int, platform_message_id: str | None) -> None:
        async with self.sessions() as session, session.begin():
            await outbox.mark_delivered(session, self.clock, delivery_id, platform_message_id)

    def _count_send_failure(self, platform: str) -> None:
        self.metrics.outbox_failures.labels(platform=platform).inc()

    async def outbox_depth(self) -> dict[str, tuple[int, int]]:
        """{platform: (pending, dead)} deliveries, for health checks and metrics."""
        async with self.sessions() as session:
            return await outbox.depth_by_platform(session)

    async def optimize_database(self) -> None:
        """Refresh the planner's statistics (SQLite `PRAGMA optimize`; daily)."""
        await optimize(self.engine)

    async def prune_history(self) -> retention.Pruned:
        """Forget handled messages and card links older than the retention window."""
        return await retention.prune(self.sessions, self.clock, retention.window(self.settings))

    def _crash_after_commit(self, invocation: Invocation, answers: Sequence[Answer]) -> None:
        """The `crash_after_commit` test setting: die as a power cut would, right after a
        matching command committed and before any of its answers is sent."""
        fault = self.settings.crash_after_commit
        if fault and invocation.text.startswith(fault) and any(a.delivery for a in answers):
            log.critical("crash_after_commit: killing this process after %r committed", fault)
            os.kill(os.getpid(), signal.SIGKILL)

    async def link_message(
        self, platform: str, room_id: str, message_id: str, subject: str
    ) -> None:
        async with self.sessions() as session, session.begin():
            if await session.get(PlatformMessage, (platform, message_id)) is None:
                session.add(
                    PlatformMessage(
                        platform=platform, message_id=message_id, room_id=room_id, subject=subject
                    )
                )

    async def subject_of(self, platform: str, message_id: str) -> str | None:
        async with self.sessions() as session:
            row = await session.get(PlatformMessage, (platform, message_id))
            return row.subject if row else None

    async def messages_about(self, platform: str, subject: str) -> Sequence[tuple[str, str]]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(PlatformMessage.room_id, PlatformMessage.message_id)
                .where(PlatformMessage.platform == platform, PlatformMessage.subject == subject)
                .order_by(PlatformMessage.message_id)
            )
            return [(r, m) for r, m in rows.all()]

    async def link_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        """Remember that a platform message (a card, a native poll) shows decision `ref`."""
        await self.link_message(platform, room_id, message_id, ref.subject)

    async def decision_of(self, platform: str, message_id: str) -> DecisionRef | None:
        """The decision a platform message was linked to, if any."""
        return DecisionRef.from_subject(await self.subject_of(platform, message_id))

    async def cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        """(room_id, message_id) of every message linked to decision `ref` on `platform`."""
        return await self.messages_about(platform, ref.subject)

    async def link_live_card(
        self, platform: str, room_id: str, message_id: str, ref: DecisionRef
    ) -> None:
        """Remember the message that is decision `ref`'s live card (beside its poll)."""
        await self.link_message(platform, room_id, message_id, ref.card_subject)

    async def live_cards_of(self, platform: str, ref: DecisionRef) -> Sequence[tuple[str, str]]:
        """(room_id, message_id) of the live cards remembered for decision `ref`."""
        return await self.messages_about(platform, ref.card_subject)

    async def card(self, ref: DecisionRef) -> Reply | None:
        """The decision's card as it stands now (what `show` answers), to refresh the cards
        posted about it; None when there is no such decision. Reads only."""
        async with self.sessions() as session:
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            ctx.coop = await session.get(Coop, ref.coop_id)
            if ctx.coop is None:
                return None
            try:
                replies = await self._handlers[ShowArgs](ctx, ShowArgs(id=ref.number))
            except UserError:
                return None
        return replies[0] if replies else None

    async def vote_choices(self, room: RoomRef, number: int) -> Choices | None:
        """The voting choices of open decision #`number` of `room`'s co-op (its method, its
        options, how to vote by text), for a platform that completes a vote while typed."""
        async with self.sessions() as session:
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            coop = await coop_for_room(ctx, room)
        if coop is None:
            return None
        card = await self.card(DecisionRef(coop_id=coop.id, number=number))
        choices = card.choices if card is not None else None
        return choices if choices is not None and not choices.closed else None

    async def threads_on(self, ref: DecisionRef) -> bool:
        """Whether decision `ref`'s co-op keeps a thread per decision (`coop settings
        threads:on`): its card starts one, and its reminders and result go there."""
        async with self.sessions() as session:
            coop = await session.get(Coop, ref.coop_id)
            if coop is None:
                return False
            return effective(self.settings.defaults, coop.settings).threads

    def binds_room(self, invocation: Invocation) -> bool:
        """Whether `invocation` names a command that binds its room to a co-op (`coop
        setup`, `coop bind`), whatever its arguments: a room of just the actor and the bot
        where one is typed is being made a co-op's room, not a direct message."""
        found = self.tree.match(invocation.text.split()[:3])
        return found is not None and found[0].binds_room

    async def secret_vote(self, invocation: Invocation) -> DecisionRef | None:
        """The secret decision a command votes on in its room's co-op, else None: a platform
        where every room message is public removes such a message (Matrix redacts it),
        also when the vote itself is refused."""
        prefix = self.settings.prefix_for(invocation.room.platform)
        try:
            cmd = parse(invocation.text, self.tree, prefix)
        except UserError:
            return None
        if not isinstance(cmd.args, VoteArgs):
            return None
        number = cmd.args.id
        key = (invocation.room.platform, invocation.room.room_id, number)
        if key in self._secret:
            return self._secret[key]  # no round trip before a vote on a known decision
        generation = self._rooms_generation
        exists, found = await self._look_up_secret(invocation.room, number)
        if exists and generation == self._rooms_generation:
            self._secret[key] = found
        return found

    async def _look_up_secret(self, room: RoomRef, number: int) -> tuple[bool, DecisionRef | None]:
        """Whether decision `number` of `room`'s co-op exists (only then is the answer
        remembered), and it if it is secret."""
        async with self.sessions() as session:
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            coop = await coop_for_room(ctx, room)
            if coop is None:
                return False, None
            secret = await session.scalar(
                select(Decision.secret).where(
                    Decision.coop_id == coop.id, Decision.number == number
                )
            )
        ref = DecisionRef(coop_id=coop.id, number=number) if secret else None
        return secret is not None, ref

    async def run_due_work(self) -> int:
        return await due.run_all(self.sessions, self.clock, self.settings)

    async def suggest(
        self, room: RoomRef, kind: str, prefix: str, limit: int = 25
    ) -> Sequence[tuple[int, str]]:
        """Open decisions (kind "decision") or open and claimed tasks (kind "task") of the
        room's co-op whose number starts with, or title contains, `prefix` (autocomplete)."""
        async with self.sessions() as session:
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            coop = await coop_for_room(ctx, room)
            if coop is None:
                return []
            return await suggestions(session, coop.id, kind, clean_name(prefix), limit)

    async def room_is_bound(self, room: RoomRef) -> bool:
        """Whether `room` is bound to a co-op. An adapter never calls a bound room a direct
        message, even when only the bot and one person are in it: others may join and read."""
        async with self.sessions() as session:
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            return await coop_for_room(ctx, room) is not None

    async def sync_role_members(
        self,
        room: RoomRef,
        pages: AsyncIterator[Sequence[RoleHolder]],
        *,
        manage_roles: bool = True,
    ) -> SyncResult:
        """Bring the identities that `room`'s binding admitted in line with the platform's
        role holders, one transaction per page (so a 10,000-member server is never one huge
        transaction); after the last page, those it admitted who hold no role leave.

        Nothing happens unless a steward turned sync on for this binding (`coop sync`).
        `manage_roles` says whether the platform knows who its stewards are; roles follow it
        only where a steward allowed that for this binding."""
        result = SyncResult()
        present: set[str] = set()
        binding_id: int | None = None
        async for raw_page in pages:
            # Names come from the platform, not from a command: they are cleaned here, as
            # an invocation's are at the dispatcher (bot.edge).
            page = [replace(h, display_name=clean_name(h.display_name)) for h in raw_page]
            present.update(holder.identity for holder in page)
            async with self.sessions() as session, session.begin():
                ctx = Context(session=session, clock=self.clock, settings=self.settings)
                binding = await registry_sync.syncing_binding(ctx, room)
                if binding is None or binding_id not in (None, binding.id):
                    return result  # sync was turned off (or the room rebound) meanwhile
                binding_id = binding.id
                manage = registry_sync.manages_roles(binding, manage_roles)
                await registry_sync.apply_page(ctx, binding, page, result, manage_roles=manage)
        async with self.sessions() as session, session.begin():
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            binding = await registry_sync.syncing_binding(ctx, room)
            if binding is not None and binding_id in (None, binding.id):
                await registry_sync.remove_missing(ctx, binding, present, result)
        return result

    async def bootstrap_room(self, room: RoomRef, founder: Actor, name: str) -> bool:
        """Bind `room` to a new co-op called `name` with `founder` as steward, unless the
        room is bound already (the console's "Local co-op"). Returns whether it created one."""
        async with self.sessions() as session, session.begin():
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            if await coop_for_room(ctx, room) is not None:
                return False
            await setup(ctx, name, room, founder)
            return True

    async def close(self) -> None:
        await self._replans.close()
        await self.courier.close()
        await self.engine.dispose()


async def create_core(
    settings: Settings, clock: Clock, *, read_only: bool = False, metrics: Metrics | None = None
) -> Core:
    """Build the core on `settings.database_url`. For running, a missing SQLite file is
    created (where its folder exists) and upgraded here; PostgreSQL is upgraded by
    `coopbot db upgrade` (one operator step, not a race between several bot processes).
    `read_only` (exports) creates and upgrades nothing and needs the schema at head."""
    prepare_sqlite(settings.database_url, create=not read_only)
    engine = make_engine(settings.database_url)
    try:
        if is_sqlite(settings.database_url) and not read_only:
            await upgrade(engine)
            await optimize(engine, at_start=True)
        else:
            status = await schema_status(engine)
            if not status.at_head:
                raise OperatorError(
                    f"the database is not ready: {status.describe()}",
                    "run `coopbot db upgrade` (SQLite: or start the bot once), then try again",
                )
    except BaseException:
        await engine.dispose()
        raise
    return Core(settings, clock, engine, make_session_factory(engine), metrics)
