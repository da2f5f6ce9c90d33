"""SQLite's one writer (bot.db.one_writer) is given back however a connection leaves its
transaction: checked in, detached, or collected unclosed
(the pool of an async engine detaches it). Before, only a checkin gave it back: the next
transaction then waited for the lock until it failed, and a stopping bot hung on it."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
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
