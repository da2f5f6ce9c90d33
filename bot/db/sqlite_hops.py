"""SQLite statements in one hop to aiosqlite's thread each: SQLAlchemy's aiosqlite cursor
makes four (open the cursor, execute, fetch the rows, close), each a hand-over between the
event loop and that thread (~0.05 ms, far more on a loaded machine); a vote sends five."""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import EMPTY_DICT

# (description, rowcount, lastrowid, rows) of one statement, as a DB-API cursor has them
_Done = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> _Done:
    """In aiosqlite's thread: the whole life of a cursor, its rows fetched."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        # After the rows: an INSERT … RETURNING counts its rows as they are fetched.
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor whose statement runs in one call on aiosqlite's thread; its
    description, row count, last row id and rows are kept here."""

    __slots__ = ("_done",)

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor: the statement opens and closes its own in `_run`.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._done: _Done = (None, -1, None, [])

    @property
    def description(self) -> Any:
        return self._done[0]

    @property
    def rowcount(self) -> int:
        return self._done[1]

    @property
    def lastrowid(self) -> Any:
        return self._done[2]

    async def _async_soft_close(self) -> None:
        return None  # nothing open: the rows are here already

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._in_thread(False, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._in_thread(True, operation, seq_of_parameters)

    async def _in_thread(self, many: bool, operation: Any, parameters: Any) -> None:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            self._done = await driver._execute(_run, driver._conn, many, operation, parameters)
        self._rows = collections.deque(self._done[3])


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection with `OneHopCursor` for client-side cursors
    (server-side ones, for streamed results, are SQLAlchemy's own)."""

    __slots__ = ()
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = OneHopCursor


def _fits(driver: Any) -> bool:
    """Whether this aiosqlite runs functions on its thread as `OneHopCursor` needs."""
    return callable(getattr(driver, "_execute", None)) and isinstance(
        getattr(driver, "_conn", None), sqlite3.Connection
    )


def one_hop_statements(engine: AsyncEngine) -> None:
    """Every new connection of `engine` (SQLite through aiosqlite) runs each statement in
    one hop to its thread; an aiosqlite without the calls it needs keeps the stock cursor."""

    @event.listens_for(engine.sync_engine, "connect")
    def _one_hop(dbapi_connection: Any, _record: Any) -> None:
        if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection and _fits(
            dbapi_connection._connection
        ):
            dbapi_connection.__class__ = OneHopConnection
