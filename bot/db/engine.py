"""The async engine and session factory for SQLite (WAL) or PostgreSQL, chosen by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
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

        @event.listens_for(engine.sync_engine, "connect")
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

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN, so concurrent read-modify-write transactions
            # queue up instead of failing with "database is locked" on upgrade. A reader
            # begins DEFERRED: in WAL mode it reads its snapshot while writers go on.
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

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


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
