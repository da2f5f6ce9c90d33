"""Notices, from the SQL a transaction ran, whether it changed what is due (the scheduler
re-plans), queued outbox deliveries no sender holds yet (the pumps wake up) or changed
which co-op a room belongs to (lookups cached by room are forgotten), and says so once the
transaction has ended."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# The columns bot.services.due reads to find the next due moment, by table. A write to any
# other column of these tables (a vote count, a title) leaves the plan as it was.
DUE_COLUMNS = {
    "decisions": frozenset({"status", "opens_at", "closes_at", "opened_at", "reminded_at"}),
    "tasks": frozenset({"status", "claimed_at", "claim_reminded_at"}),
    "coops": frozenset({"settings", "next_summary_at"}),
}
_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_SET = re.compile(r"\bSET\b(.*?)(?:\bWHERE\b|\bFROM\b|\bRETURNING\b|$)", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r'"?(\w+)"?\s*=')
_DUE = "coopbot_due_changed"
_QUEUED = "coopbot_outbox_queued"
_ROOMS = "coopbot_rooms_changed"
ROOM_TABLES = frozenset({"room_bindings", "coops"})


def changes_due(statement: str) -> bool:
    """Whether `statement` inserts or deletes a row the due work reads, or updates one of
    the columns it reads."""
    found = _WRITE.match(statement)
    if found is None:
        return False
    columns = DUE_COLUMNS.get(found.group(2).lower())
    if columns is None:
        return False
    if not found.group(1).upper().startswith("UPDATE"):
        return True
    assigned = _SET.search(statement)
    if assigned is None:
        return True  # not understood: re-planning once too often is harmless
    return any(name.lower() in columns for name in _ASSIGNED.findall(assigned.group(1)))


def mark_queued(connection: Any) -> None:
    """Say, on the connection of the transaction that queues them, that outbox deliveries
    no sender holds yet were written (announcements to the co-op's other rooms); the
    pumps wake once it has ended. Said by the writer, not read off the SQL: a bulk insert
    may name every column, held or not."""
    connection.info[_QUEUED] = True


def rebinds_rooms(statement: str) -> bool:
    """Whether `statement` binds, unbinds or moves a room, or deletes a co-op."""
    found = _WRITE.match(statement)
    if found is None or found.group(2).lower() not in ROOM_TABLES:
        return False
    return found.group(2).lower() == "room_bindings" or found.group(1).upper().startswith("DEL")


def watch(
    engine: AsyncEngine,
    *,
    due_changed: Callable[[], None],
    outbox_queued: Callable[[], None],
    rooms_changed: Callable[[], None],
) -> None:
    """Call `due_changed` / `outbox_queued` / `rooms_changed` after a transaction on
    `engine` that did so ended: when its connection goes back to the pool, so a reader
    started by the callback sees the commit. A rolled-back transaction calls the first two
    nothing; `rooms_changed` is called as soon as the statement runs too (a lookup that
    starts meanwhile must not keep what it read)."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _seen(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if changes_due(statement):
            conn.info[_DUE] = True
        if rebinds_rooms(statement):
            conn.info[_ROOMS] = True
            rooms_changed()

    @event.listens_for(sync_engine, "rollback")
    def _undone(conn: Any) -> None:
        conn.info.pop(_DUE, None)
        conn.info.pop(_QUEUED, None)

    @event.listens_for(sync_engine.pool, "checkin")
    def _ended(_dbapi_connection: Any, record: Any) -> None:
        if record is None:
            return
        if record.info.pop(_DUE, False):
            due_changed()
        if record.info.pop(_QUEUED, False):
            outbox_queued()
        if record.info.pop(_ROOMS, False):
            rooms_changed()
