"""The oracle for bot.write_watch's signals: it reads every statement a watched engine runs
(as write_watch once did, to decide) and, at each commit, records a transaction that wrote
a column the due work reads without saying `due_changed`, or bound, unbound or moved a room
without saying `rooms_changed`. tests/conftest.py installs it for the whole suite and
fails a test that left such a transaction, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.write_watch import DUE_COLUMNS, ROOM_TABLES, said, watched

_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_SET = re.compile(r"\bSET\b(.*?)(?:\bWHERE\b|\bFROM\b|\bRETURNING\b|$)", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r'"?(\w+)"?\s*=')
_SEEN_DUE = "test_oracle_due"
_SEEN_ROOMS = "test_oracle_rooms"

# "<what> without <signal>: <statement>", one per transaction found so.
missing: list[str] = []


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
        return True
    return any(name.lower() in columns for name in _ASSIGNED.findall(assigned.group(1)))


def rebinds_rooms(statement: str) -> bool:
    """Whether `statement` binds, unbinds or moves a room, or deletes a co-op."""
    found = _WRITE.match(statement)
    if found is None or found.group(2).lower() not in ROOM_TABLES:
        return False
    table = found.group(2).lower()
    if table == "coops":
        return found.group(1).upper().startswith("DEL")
    if found.group(1).upper().startswith("UPDATE"):
        assigned = _SET.search(statement)
        names = {n.lower() for n in _ASSIGNED.findall(assigned.group(1))} if assigned else set()
        return not assigned or bool(names & {"coop_id", "platform", "room_id"})
    return True


def _seen(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if not watched(conn.engine):
        return
    if changes_due(statement):
        conn.info.setdefault(_SEEN_DUE, " ".join(statement.split())[:120])
    if rebinds_rooms(statement):
        conn.info.setdefault(_SEEN_ROOMS, " ".join(statement.split())[:120])


def _committing(conn: Any) -> None:
    due_seen, rooms_seen = conn.info.pop(_SEEN_DUE, None), conn.info.pop(_SEEN_ROOMS, None)
    due_said, rooms_said = said(conn)
    if due_seen and not due_said:
        missing.append(f"a due change without write_watch.due_changed: {due_seen}")
    if rooms_seen and not rooms_said:
        missing.append(f"a binding change without write_watch.rooms_changed: {rooms_seen}")


def _rolled_back(conn: Any) -> None:
    if conn.closed or conn.invalidated:
        return  # its connection is gone, and what was seen on it (the pool clears it)
    conn.info.pop(_SEEN_DUE, None)
    conn.info.pop(_SEEN_ROOMS, None)


def install() -> None:
    """Check every watched engine of this process (idempotent)."""
    if event.contains(Engine, "after_cursor_execute", _seen):
        return
    event.listen(Engine, "after_cursor_execute", _seen)
    event.listen(Engine, "commit", _committing)
    event.listen(Engine, "rollback", _rolled_back)


def take_missing() -> list[str]:
    found = list(missing)
    missing.clear()
    return found
