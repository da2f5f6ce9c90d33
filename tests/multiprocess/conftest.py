"""Fixtures for several bot processes on one database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from tests.conftest import PG_ENV, fresh_postgres
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

    async def migrate(database: str) -> None:
        engine = make_engine(database)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    with fresh_postgres(url) as database:
        asyncio.run(migrate(database))
        yield database
