"""An export (`coopbot export`, a read-only core in its own process) reads a snapshot on
SQLite without taking the database's write lock: the running bot's votes go on while a
1M-row export streams for seconds, and a write by mistake through that core fails at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from bot.app import create_core
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.models import Coop


def _write_elsewhere(path: str) -> None:
    """A write from another connection that refuses to wait for the lock."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO handled_messages (platform, message_id, handled_at) "
            "VALUES ('elsewhere', 'm1', '2026-11-16 09:00:00')"
        )
        other.execute("COMMIT")
    finally:
        other.close()


async def test_an_open_export_transaction_leaves_the_write_lock_free(
    tmp_path: Path, clock: ManualClock
) -> None:
    # SQLite only: PostgreSQL readers never block writers.
    path = str(tmp_path / "coopbot.db")
    settings = load_settings(
        None, database_url=f"sqlite+aiosqlite:///{path}", attachments_dir=str(tmp_path / "files")
    )
    writer = await create_core(settings, clock)  # creates and upgrades the file
    reader = await create_core(settings, clock, read_only=True)
    try:
        async with reader.sessions() as session, session.begin():
            await session.execute(select(func.count()).select_from(Coop))  # mid-export
            _write_elsewhere(path)  # on BEGIN IMMEDIATE: "database is locked"
            with pytest.raises(OperationalError, match=r"readonly"):
                await session.execute(text("DELETE FROM handled_messages"))
        async with writer.sessions() as session:
            stored = await session.scalar(
                text("SELECT count(*) FROM handled_messages WHERE platform = 'elsewhere'")
            )
        assert stored == 1
    finally:
        await reader.close()
        await writer.close()
