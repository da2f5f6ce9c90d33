"""Fixtures for several bot processes on one database."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from tests.conftest import PG_ENV, _admin_url
from tests.console.conftest import Console
from tests.matrix.conftest import homeserver, people

__all__ = ["homeserver", "people"]  # Matrix fixtures, shared (Synapse: tests/conftest.py)


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return Console(tmp_path)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (these tests need several connections to one
    server; skipped where COOPBOT_TEST_DATABASE_URL is not set)."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: several processes need PostgreSQL")
    name = f"coopbot_{uuid.uuid4().hex[:12]}"
    dsn = _admin_url(url, "postgres").replace("postgresql+asyncpg", "postgresql")

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def migrate(database: str) -> None:
        engine = make_engine(database)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        database = _admin_url(url, name)
        asyncio.run(migrate(database))
        yield database
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
