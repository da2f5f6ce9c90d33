"""On SQLite each statement is one hand-over to aiosqlite's thread (bot.db.sqlite_hops), and
what a statement gives back through it is what a DB-API cursor gives: rows, row counts,
the last row id, the errors SQLAlchemy turns into its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.app import Core
from bot.db.engine import make_engine
from tests.support import say, setup_coop


@contextmanager
def _hops() -> Iterator[list[str]]:
    """The name of each function aiosqlite's thread runs inside the block."""
    ran: list[str] = []
    inner = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        ran.append(getattr(fn, "__name__", repr(fn)))
        return await inner(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        aiosqlite.Connection._execute = inner  # type: ignore[method-assign]


async def test_a_vote_hands_each_statement_to_the_sqlite_thread_once(core: Core) -> None:
    if core.engine.dialect.name != "sqlite":
        pytest.skip("aiosqlite's thread is SQLite's")
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")
    with _hops() as ran:
        assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")
    # BEGIN, the dedupe insert, the context read, the vote, its audit: one call each; then
    # the commit and the pool's rollback of the connection it takes back. SQLAlchemy's own
    # aiosqlite cursor made four calls a statement (open, execute, fetch, close): 22.
    assert ran == ["_run"] * 5 + ["commit", "rollback"], ran


async def test_a_statement_gives_back_what_a_cursor_gives(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
            inserted = await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
            assert inserted.lastrowid == 1
            assert inserted.rowcount == 1
            many = await connection.execute(
                text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}]
            )
            assert many.rowcount == 2
            returned = await connection.execute(
                text("UPDATE t SET v = v || '!' WHERE v != 'a' RETURNING id, v")
            )
            assert sorted(returned.all()) == [(2, "b!"), (3, "c!")]
            assert returned.rowcount == 2
            nothing = await connection.execute(
                text("INSERT INTO t (v) VALUES ('a') ON CONFLICT (v) DO NOTHING")
            )
            assert nothing.rowcount == 0
            rows = await connection.execute(text("SELECT id, v FROM t ORDER BY id"))
            assert rows.keys() == ["id", "v"]
            assert rows.all() == [(1, "a"), (2, "b!"), (3, "c!")]
            streamed = await connection.stream(text("SELECT v FROM t ORDER BY id"))
            assert [row.v async for row in streamed] == ["a", "b!", "c!"]
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        async with engine.connect() as connection:  # the failed transaction left nothing
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 3
    finally:
        await engine.dispose()
