"""Signals, said by the services that change them, that a transaction changed what is due
(the scheduler re-plans), queued outbox deliveries no sender holds yet (the pumps wake up)
or changed which co-op a room belongs to (lookups cached by room are forgotten); each is
acted on once the transaction has ended.

The services say so explicitly (`due_changed`, `mark_queued`, `rooms_changed`): nothing
reads the SQL a transaction runs. tests/write_signals.py checks, in every test, that
a write to a column the due work reads came with `due_changed` (DUE_COLUMNS), and a
binding change with `rooms_changed`.

The callbacks touch the event loop's objects (events, tasks), which are not thread-safe: a
transaction that ends in another thread (SQLite's writer thread, bot.db.writer_thread) has
them handed to the loop `watch` was called on, never run in that thread. What an engine is
watched by is kept in the engine itself (one of its execution options), not here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncSession

# The columns bot.services.due reads to find the next due moment, by table: a service that
# inserts or deletes a row of these tables, or writes one of these columns, calls
# `due_changed`. A write to any other column (a vote count, a title) leaves the plan as it was.
DUE_COLUMNS = {
    "decisions": frozenset({"status", "opens_at", "closes_at", "opened_at", "reminded_at"}),
    "tasks": frozenset({"status", "claimed_at", "claim_reminded_at"}),
    "coops": frozenset({"settings", "next_summary_at"}),
}
# Writing these binds, unbinds or moves a room (any write to room_bindings, deleting a
# co-op): a service that does calls `rooms_changed`.
ROOM_TABLES = frozenset({"room_bindings", "coops"})
_DUE = "coopbot_due_changed"
_QUEUED = "coopbot_outbox_queued"
_ROOMS = "coopbot_rooms_changed"
# The execution option of a watched engine that holds its `_Watch`.
_WATCH = "coopbot_write_watch"


@dataclass(frozen=True)
class _Watch:
    """What `watch` calls for one engine, and the loop whose thread they run on."""

    loop: asyncio.AbstractEventLoop
    due_changed: Callable[[], None]
    outbox_queued: Callable[[], None]
    rooms_changed: Callable[[], None]

    def call(self, callback: Callable[[], None]) -> None:
        """`callback` now when this runs in the loop's thread (the loop running), else
        handed to the loop (a transaction that ended in another thread): it runs there
        before whatever the loop is handed after it, such as that thread's result."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            callback()
            return
        # A closed loop has nobody left to tell (the engine outlived the bot).
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(callback)


def _watch_of(engine: Engine) -> _Watch | None:
    found = engine.get_execution_options().get(_WATCH)
    return found if isinstance(found, _Watch) else None


async def _connection(session: AsyncSession) -> Any:
    return (await session.connection()).sync_connection


def mark_due(connection: Any) -> None:
    """Say, on the connection of the transaction (a synchronous one), that it changes what
    is due: the scheduler re-plans once it has committed."""
    connection.info[_DUE] = True


async def due_changed(session: AsyncSession) -> None:
    """Say, in the transaction of `session`, that it changes what is due (a row of
    DUE_COLUMNS' tables inserted or deleted, or one of those columns written): the
    scheduler re-plans once the transaction has committed."""
    mark_due(await _connection(session))


def mark_queued(connection: Any) -> None:
    """Say, on the connection of the transaction that queues them, that outbox deliveries
    no sender holds yet were written (announcements to the co-op's other rooms); the
    pumps wake once it has ended."""
    connection.info[_QUEUED] = True


async def outbox_queued(session: AsyncSession) -> None:
    """`mark_queued` on the connection of `session`'s transaction."""
    mark_queued(await _connection(session))


def mark_rooms_changed(connection: Any) -> None:
    """Say, on the connection of the transaction (a synchronous one), that it binds,
    unbinds or moves a room or deletes a co-op: lookups cached by room are forgotten now
    (handed to the loop, from another thread) and again once the transaction has ended."""
    connection.info[_ROOMS] = True
    watching = _watch_of(connection.engine)
    if watching is not None:
        watching.call(watching.rooms_changed)


async def rooms_changed(session: AsyncSession) -> None:
    """Say, in the transaction of `session`, that it binds, unbinds or moves a room or
    deletes a co-op: lookups cached by room are forgotten now (one that starts meanwhile
    must not keep what it read) and again once the transaction has ended."""
    mark_rooms_changed(await _connection(session))


def watched(engine: Engine) -> bool:
    """Whether `watch` listens on `engine` (a sync engine)."""
    return _watch_of(engine) is not None


def watch(
    engine: Engine,
    *,
    due_changed: Callable[[], None],
    outbox_queued: Callable[[], None],
    rooms_changed: Callable[[], None],
) -> None:
    """Call `due_changed` / `outbox_queued` / `rooms_changed` after a transaction on
    `engine` that said so ended: when its connection goes back to the pool, so a reader
    started by the callback sees the commit. A rolled-back transaction calls the first two
    nothing. No per-statement hook: the services say what they changed. `engine` is a
    synchronous one: an async engine's `sync_engine`, or SQLite's writer thread's. Called
    on the running event loop, once per engine: the callbacks always run in its thread,
    at once for a transaction that ended there, else handed to it (`_Watch.call`)."""
    if watched(engine):
        raise ValueError(f"{engine!r} is watched already")
    watching = _Watch(asyncio.get_running_loop(), due_changed, outbox_queued, rooms_changed)
    engine.update_execution_options(**{_WATCH: watching})

    @event.listens_for(engine, "rollback")
    def _undone(conn: Any) -> None:
        if conn.closed or conn.invalidated:
            # Its connection is gone already (a cancelled query invalidates it): `conn.info`
            # would raise, and that error would replace the CancelledError rolling it back.
            # What it said stays for the checkin: a needless re-plan or wake-up at worst
            # (cancelled at COMMIT, the commit may well have happened).
            return
        conn.info.pop(_DUE, None)
        conn.info.pop(_QUEUED, None)

    @event.listens_for(engine.pool, "checkin")
    def _ended(_dbapi_connection: Any, record: Any) -> None:
        if record is None:
            return
        info = record.info
        if info.pop(_DUE, False):
            watching.call(watching.due_changed)
        if info.pop(_QUEUED, False):
            watching.call(watching.outbox_queued)
        if info.pop(_ROOMS, False):
            watching.call(watching.rooms_changed)


def said(connection: Any) -> tuple[bool, bool]:
    """(due changed, rooms changed) as said so far in `connection`'s transaction (tests)."""
    return bool(connection.info.get(_DUE)), bool(connection.info.get(_ROOMS))
