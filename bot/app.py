"""Composition root: settings → engine → dispatcher and services → what adapters talk to."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.base import Delivery
from bot.clock import Clock
from bot.commands.handlers import Handler
from bot.commands.handlers import contributions as contribution_handlers
from bot.commands.handlers import coop as coop_handlers
from bot.commands.handlers import decisions as decision_handlers
from bot.commands.handlers import reports as report_handlers
from bot.commands.handlers import tasks as task_handlers
from bot.commands.handlers.help import help_handlers
from bot.commands.tree import CommandTree, build_command_tree
from bot.config import Settings
from bot.db.engine import is_sqlite, make_engine, make_session_factory
from bot.db.migrate import upgrade
from bot.db.models import OutboxDelivery, PlatformMessage
from bot.db.prepare import prepare_sqlite
from bot.db.status import schema_status
from bot.dispatch import Dispatcher
from bot.invocation import Actor, Invocation, RoomRef
from bot.metrics import Metrics
from bot.operator_errors import OperatorError
from bot.render.document import Reply
from bot.services import outbox, registry_sync
from bot.services.context import Context
from bot.services.coops import coop_for_room, setup
from bot.services.registry_sync import RoleHolder, SyncResult
from bot.services.suggest import suggestions

log = logging.getLogger(__name__)


def all_handlers(tree: CommandTree) -> dict[str, Handler]:
    """Every command's handler, keyed by command name; the dispatcher checks none is missing."""
    handlers: dict[str, Handler] = {}
    for part in (
        coop_handlers.handlers(),
        decision_handlers.handlers(),
        task_handlers.handlers(),
        contribution_handlers.handlers(),
        report_handlers.handlers(),
        help_handlers(tree),
    ):
        handlers.update(part)
    return handlers


class Core:
    """The bot core as adapters see it (adapters.base.CoreAPI)."""

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
        self.dispatcher = Dispatcher(
            sessions,
            clock,
            settings,
            self.tree,
            all_handlers(self.tree),
            observe=self.metrics.command_done,
        )
        self._listeners: list[Callable[[], Awaitable[None]]] = []

    def after_commands(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call `listener` after every handled command (the scheduler re-plans its next
        run, since a command may have set or moved a deadline)."""
        self._listeners.append(listener)

    async def handle(self, invocation: Invocation) -> Sequence[Reply]:
        replies = await self.dispatcher.handle(invocation)
        for listener in self._listeners:
            await listener()
        return replies

    async def pending_deliveries(self, platform: str, limit: int = 50) -> Sequence[Delivery]:
        async with self.sessions() as session, session.begin():
            leased = await outbox.lease_pending(session, self.clock, platform, limit)
        return [Delivery(d.delivery_id, d.room, d.reply) for d in leased]

    async def mark_delivered(self, delivery_id: int, platform_message_id: str | None) -> None:
        async with self.sessions() as session, session.begin():
            await outbox.mark_delivered(session, self.clock, delivery_id, platform_message_id)

    async def release_delivery(self, delivery_id: int) -> None:
        """A send failed: let the next attempt retry it at once."""
        async with self.sessions() as session, session.begin():
            row = await session.get(OutboxDelivery, delivery_id)
            await outbox.release(session, delivery_id)
        if row is not None:
            self.metrics.outbox_failures.labels(platform=row.platform).inc()

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

    async def run_due_work(self) -> int:
        from bot.scheduling import run_due_work

        return await run_due_work(self.sessions, self.clock, self.settings)

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
            return await suggestions(session, coop.id, kind, prefix, limit)

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
        """Bring the registry of the room's co-op in line with platform role holders, one
        transaction per page (so a 10,000-member server is never one huge transaction);
        after the last page, members known only on that platform who hold no role leave.
        Without `manage_roles` (no steward role configured) existing roles are kept."""
        result = SyncResult()
        present: set[str] = set()
        async for page in pages:
            present.update(holder.identity for holder in page)
            async with self.sessions() as session, session.begin():
                ctx = Context(session=session, clock=self.clock, settings=self.settings)
                ctx.coop = await coop_for_room(ctx, room)
                if ctx.coop is None:
                    return result
                await registry_sync.apply_page(ctx, page, result, manage_roles=manage_roles)
        async with self.sessions() as session, session.begin():
            ctx = Context(session=session, clock=self.clock, settings=self.settings)
            ctx.coop = await coop_for_room(ctx, room)
            if ctx.coop is not None:
                await registry_sync.remove_missing(ctx, room.platform, present, result)
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
