"""SQLite's writer thread (bot.db.writer_thread): a whole transaction in one call, under this
process's one writer turn, held until the transaction has ended even when the caller was
cancelled; the common vote runs there, its statements seen by the core's listeners."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import OperationalError

from bot.app import Core
from bot.db.engine import make_engine, make_sync_twin
from bot.db.models import HandledMessage
from bot.db.writer_thread import WriterThread
from tests.support import listening, say, setup_coop

INSERT = text(
    "INSERT INTO handled_messages (platform, message_id, handled_at) "
    "VALUES ('test', :id, '2026-01-01 00:00:00')"
)


def _writer(core: Core) -> WriterThread:
    if core.writer is None:
        pytest.skip("PostgreSQL has no single writer: no writer thread")
    return core.writer


async def _handled(core: Core, message_id: str) -> bool:
    async with core.sessions() as session:
        found = await session.scalar(
            select(HandledMessage.message_id).where(HandledMessage.message_id == message_id)
        )
    return found is not None


async def test_a_sqlite_vote_runs_its_statements_in_one_call_to_the_writer_thread(
    core: Core,
) -> None:
    writer = _writer(core)
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")
    threads: list[tuple[str, str]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        threads.append((threading.current_thread().name, " ".join(statement.split())[:30]))

    with listening(core, "before_cursor_execute", record):
        assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")
    names = {name for name, _ in threads}
    assert len(threads) == 5, threads  # BEGIN, dedupe, read, vote, audit
    assert len(names) == 1 and next(iter(names)).startswith("sqlite-writer"), threads
    assert writer.engine.url.database == core.engine.url.database


async def test_the_writer_turn_is_held_until_a_cancelled_callers_transaction_ends(
    core: Core,
) -> None:
    writer = _writer(core)
    lock = writer._turn.lock
    started, gate = threading.Event(), threading.Event()

    def slow(connection: Connection) -> None:
        connection.execute(INSERT, {"id": "cancelled-caller"})
        started.set()
        assert gate.wait(10)

    caller = asyncio.create_task(writer.run(slow))
    assert await asyncio.to_thread(started.wait, 10)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert lock.locked()  # the transaction is still under way in the thread
    # A transaction of the async engine waits for the turn meanwhile.
    waiting = asyncio.create_task(_handled(core, "cancelled-caller"))
    gate.set()
    # The thread commits, then gives the turn back: the next writer sees its row.
    assert await writer.run(lambda c: c.execute(INSERT, {"id": "next"}).rowcount) == 1
    assert await waiting
    assert not lock.locked()
    assert await _handled(core, "cancelled-caller")


async def test_a_failing_transaction_is_rolled_back_and_gives_the_turn_back(core: Core) -> None:
    writer = _writer(core)

    def failing(connection: Connection) -> None:
        connection.execute(INSERT, {"id": "rolled-back"})
        raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError, match="the work failed"):
        await writer.run(failing)
    assert not writer._turn.lock.locked()
    assert not await _handled(core, "rolled-back")
    async with core.sessions() as session, session.begin():  # the turn is free
        await session.execute(INSERT, {"id": "after"})
    assert await _handled(core, "after")


async def test_closing_stops_the_thread_and_its_connections(core: Core) -> None:
    writer = _writer(core)
    assert await writer.run(lambda c: c.execute(INSERT, {"id": "one"}).rowcount) == 1
    thread_names = {t.name for t in threading.enumerate()}
    assert any(name.startswith("sqlite-writer") for name in thread_names)
    await writer.close()
    assert writer.engine.pool.checkedout() == 0
    assert not any(t.name.startswith("sqlite-writer") for t in threading.enumerate())


async def test_a_transaction_waits_for_the_writer_turn_before_it_sends_its_begin(
    core: Core,
) -> None:
    """Else a transaction of the async engine could hold SQLite's lock while it waits for
    the turn the writer thread holds, and the thread's BEGIN wait for that lock: each
    would wait for the other until SQLite's busy timeout (30 s)."""
    writer = _writer(core)
    lock = writer._turn.lock
    sent: list[str] = []
    await writer._turn.take()
    with listening(core, "before_cursor_execute", lambda *a: sent.append(a[2])):
        other = asyncio.create_task(_handled(core, "anything"))
        for _ in range(10_000):  # until it waits for the turn
            if lock._waiters:
                break
            await asyncio.sleep(0.001)
        assert lock._waiters
        assert sent == []  # no BEGIN IMMEDIATE yet: SQLite's lock is free for the holder
        writer._turn.give_back()
        assert not await other
    assert sent[0] == "BEGIN IMMEDIATE"


async def test_the_twin_of_a_read_only_engine_writes_nothing(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/twin.db"
    writable = make_sync_twin(make_engine(url))
    with writable.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    twin = make_sync_twin(make_engine(url, read_only=True))
    with pytest.raises(OperationalError), twin.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    writable.dispose()
    twin.dispose()
