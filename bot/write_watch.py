"""Signals, said by the services that change them, that a transaction changed what is due
(the scheduler re-plans), queued outbox deliveries no sender holds yet (the pumps wake up)
or changed which co-op a room belongs to (lookups cached by room are forgotten); each is
acted on once the transaction has ended.

The services say so explicitly (`due_changed`, `mark_queued`, `rooms_changed`): nothing
reads the SQL a transaction runs. tests/write_signals.py checks, in every test, that
a write to a column the due work reads came with `due_changed` (DUE_COLUMNS), and a
binding change with `rooms_changed`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

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


@dataclass(frozen=True)
class _Listeners:
    due_changed: Callable[[], None]
    outbox_queued: Callable[[], None]
    rooms_changed: Callable[[], None]


_WATCHED: WeakKeyDictionary[Engine, _Listeners] = WeakKeyDictionary()


async def _connection(session: AsyncSession) -> Any:
    return (await session.connection()).sync_connection


async def due_changed(session: AsyncSession) -> None:
    """Say, in the transaction of `session`, that it changes what is due (a row of
    DUE_COLUMNS' tables inserted or deleted, or one of those columns written): the
    scheduler re-plans once the transaction has committed."""
    (await _connection(session)).info[_DUE] = True


def mark_queued(connection: Any) -> None:
    """Say, on the connection of the transaction that queues them, that outbox deliveries
    no sender holds yet were written (announcements to the co-op's other rooms); the
    pumps wake once it has ended."""
    connection.info[_QUEUED] = True


async def outbox_queued(session: AsyncSession) -> None:
    """`mark_queued` on the connection of `session`'s transaction."""
    mark_queued(await _connection(session))


async def rooms_changed(session: AsyncSession) -> None:
    """Say, in the transaction of `session`, that it binds, unbinds or moves a room or
    deletes a co-op: lookups cached by room are forgotten now (one that starts meanwhile
    must not keep what it read) and again once the transaction has ended."""
    connection = await _connection(session)
    connection.info[_ROOMS] = True
    listeners = _WATCHED.get(connection.engine)
    if listeners is not None:
        listeners.rooms_changed()


def watched(engine: Engine) -> bool:
    """Whether `watch` listens on `engine` (a sync engine)."""
    return engine in _WATCHED


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
    synchronous one: an async engine's `sync_engine`, or SQLite's writer thread's."""
    _WATCHED[engine] = _Listeners(due_changed, outbox_queued, rooms_changed)

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
            due_changed()
        if info.pop(_QUEUED, False):
            outbox_queued()
        if info.pop(_ROOMS, False):
            rooms_changed()


def said(connection: Any) -> tuple[bool, bool]:
    """(due changed, rooms changed) as said so far in `connection`'s transaction (tests)."""
    return bool(connection.info.get(_DUE)), bool(connection.info.get(_ROOMS))
