"""SQLite's one writer (bot.db.one_writer) is given back however a connection leaves its
transaction: checked in, detached, or collected unclosed
(the pool of an async engine detaches it). Before, only a checkin gave it back: the next
transaction then waited for the lock until it failed, and a stopping bot hung on it."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import make_engine
from bot.db.one_writer import one_writer

# The lock's wait in these tests: a leaked lock fails the next transaction after it.
WAIT_SECONDS = 5.0


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    built = make_engine(f"sqlite+aiosqlite:///{tmp_path}/writer.db")
    one_writer(built, wait_seconds=WAIT_SECONDS)
    try:
        yield built
    finally:
        await built.dispose()


async def _a_write_runs(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        await conn.execute(text("INSERT INTO probe VALUES (1)"))


async def test_a_connection_detached_in_its_transaction_gives_the_writer_back(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        await conn.begin()
        await conn.execute(text("SELECT 1"))
        await conn.run_sync(lambda sync: sync.connection.dbapi_connection.rollback())
        await conn.run_sync(lambda sync: sync.detach())
    await _a_write_runs(engine)


async def _abandoned(engine: AsyncEngine) -> None:
    conn = await engine.connect()
    await conn.begin()
    await conn.execute(text("SELECT 1"))
    await conn.run_sync(lambda sync: sync.connection.dbapi_connection.rollback())


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
async def test_a_connection_collected_unclosed_gives_the_writer_back(engine: AsyncEngine) -> None:
    await _abandoned(engine)
    gc.collect()
    await asyncio.sleep(0)
    await _a_write_runs(engine)


class ParkedInSqlite:
    """A SQL function `parked()` that blocks SQLite's thread until released: the query
    that calls it is running in SQLite when its task is cancelled."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.entered = asyncio.Event()
        self.released = threading.Event()

    def __call__(self) -> int:
        self.loop.call_soon_threadsafe(self.entered.set)
        self.released.wait(60)
        return 1

    def install(self, engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "connect")
        def _function(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.create_function("parked", 0, self)


async def test_a_query_cancelled_in_sqlite_leaves_no_transaction_behind(
    engine: AsyncEngine,
) -> None:
    """SQLAlchemy leaves the cancelled query's cursor open when it invalidates the
    connection: closed so, SQLite kept its transaction (and the write lock) until that
    cursor was collected, and the next writer waited in the busy handler."""
    parked = ParkedInSqlite(asyncio.get_running_loop())
    parked.install(engine)

    async def reads_in_a_transaction() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT parked() FROM (SELECT 1 UNION ALL SELECT 2)"))

    reading = asyncio.create_task(reads_in_a_transaction())
    await asyncio.wait_for(parked.entered.wait(), WAIT_SECONDS)
    reading.cancel()
    parked.released.set()  # the query returns its first row: its statement stays open
    done, _ = await asyncio.wait({reading}, timeout=WAIT_SECONDS)
    assert done and reading.cancelled()
    # `reading` keeps its cancellation's traceback, and with it the cursor, alive.
    await asyncio.wait_for(_a_write_runs(engine), WAIT_SECONDS)
