"""The async engine and session factory for SQLite (WAL) or PostgreSQL, chosen by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, read_only: bool = False) -> AsyncEngine:
    """An engine for `url`; SQLite files get WAL, a busy timeout, foreign keys and secure
    delete. No error it raises quotes the statement's parameters (a ballot, a code's hash,
    a message). A `read_only` engine (exports) reads a snapshot and never takes SQLite's
    write lock, so a long export does not hold up the running bot's writes."""
    if is_sqlite(url):
        engine = create_async_engine(url, hide_parameters=True, connect_args={"timeout": 30})
        _sqlite_settings(engine.sync_engine, read_only=read_only)
        return engine
    # A server that does not answer is reported after 10 s, not asyncpg's default minute.
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={"timeout": 10},
    )


def make_sync_twin(engine: AsyncEngine) -> Engine:
    """A synchronous engine (the pysqlite driver) on the SQLite file of `engine`, set up as
    `make_engine` set up those of `engine` (pragmas, BEGIN IMMEDIATE, or read-only, hidden
    parameters), for work that runs a whole transaction in one thread (bot.db.writer_thread)."""
    read_only = event.contains(engine.sync_engine, "begin", _begin)
    twin = create_engine(
        engine.url.set(drivername="sqlite+pysqlite"),
        hide_parameters=True,
        connect_args={"timeout": 30},
        pool_size=1,  # used from one thread, one transaction at a time
    )
    _sqlite_settings(twin, read_only=read_only)
    return twin


def _sqlite_settings(engine: Engine, *, read_only: bool) -> None:
    """The pragmas and the BEGIN of every connection of the SQLite `engine`."""

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten, not left in free space: a secret decision's
        # vote rows, deleted when it closes, must not be readable from the file after.
        cursor.execute("PRAGMA secure_delete=ON")
        if read_only:  # a write by mistake fails at once instead of taking the lock
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    event.listen(engine, "begin", _begin if read_only else _begin_immediate)


def _begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN, so concurrent read-modify-write transactions queue up
    # instead of failing with "database is locked" on upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _begin(conn: Any) -> None:
    # A reader begins DEFERRED: in WAL mode it reads its snapshot while writers go on.
    conn.exec_driver_sql("BEGIN")


def begin_last(engine: Engine) -> None:
    """Send the BEGIN of the SQLite `engine` after every `begin` listener added so far:
    SQLAlchemy runs an engine's listeners in the order they were added (it ignores
    `insert=True` there), and bot.db.one_writer's lock must be taken before the BEGIN."""
    for begin in (_begin_immediate, _begin):
        if event.contains(engine, "begin", begin):
            event.remove(engine, "begin", begin)
            event.listen(engine, "begin", begin)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
