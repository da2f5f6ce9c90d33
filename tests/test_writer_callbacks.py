"""What a transaction run in SQLite's writer thread (bot.db.writer_thread) says to
bot.write_watch is acted on in the event loop's thread, once it has committed, never in the
writer thread: the callbacks (a re-plan's task, a pump's event, the lookups cached by room)
are the loop's objects, not thread-safe. A rolled-back transaction re-plans and wakes
nothing. (They ran in the writer thread: a re-plan found no running loop there and was
dropped, and a pump's event was set from the wrong thread.)"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from bot import write_watch
from bot.app import Core
from bot.db.engine import make_engine, make_sync_twin
from bot.db.writer_thread import WriterThread, writer_thread

INSERT = text("INSERT INTO kept (x) VALUES (:x)")


@dataclass
class Heard:
    """Each callback write_watch called: its name, the thread it ran in and the rows of
    `kept` a reader of the file saw then (what was committed)."""

    path: Path
    calls: list[tuple[str, int, int]] = field(default_factory=list)

    def hears(self, name: str) -> Callable[[], None]:
        def heard() -> None:
            with sqlite3.connect(self.path) as reader:
                rows = reader.execute("SELECT count(*) FROM kept").fetchone()[0]
            self.calls.append((name, threading.get_ident(), rows))

        return heard


@dataclass
class Watched:
    writer: WriterThread
    heard: Heard


@pytest.fixture
async def watched(tmp_path: Path) -> AsyncIterator[Watched]:
    """A writer thread on a real SQLite file holding the table `kept`, its twin engine
    watched as bot.app.Core watches it."""
    path = tmp_path / "watched.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    writer = writer_thread(engine)
    assert writer is not None
    await writer.run(lambda c: c.execute(text("CREATE TABLE kept (x INTEGER)")))
    heard = Heard(path)
    write_watch.watch(
        writer.engine,
        due_changed=heard.hears("due"),
        outbox_queued=heard.hears("queued"),
        rooms_changed=heard.hears("rooms"),
    )
    try:
        yield Watched(writer, heard)
    finally:
        await writer.close()
        await engine.dispose()


def _writes_and_says(connection: Connection) -> None:
    connection.execute(INSERT, {"x": 1})
    write_watch.mark_due(connection)
    write_watch.mark_queued(connection)


async def test_a_committed_writer_transaction_is_acted_on_in_the_loops_thread(
    watched: Watched,
) -> None:
    loop_thread = threading.get_ident()
    await watched.writer.run(_writes_and_says)
    # Handed to the loop before the thread's result: done by the time the caller resumes,
    # in the loop's thread, and after the commit (a reader sees the row).
    assert watched.heard.calls == [("due", loop_thread, 1), ("queued", loop_thread, 1)]


async def test_a_writer_transaction_that_moves_a_room_forgets_the_lookups_in_the_loops_thread(
    watched: Watched,
) -> None:
    loop_thread = threading.get_ident()

    def moves_a_room(connection: Connection) -> None:
        write_watch.mark_rooms_changed(connection)  # forgotten now, and again at its end
        connection.execute(INSERT, {"x": 1})

    await watched.writer.run(moves_a_room)
    # The first is handed over while the thread may still be in the transaction.
    assert [(name, thread) for name, thread, _ in watched.heard.calls] == [
        ("rooms", loop_thread),
        ("rooms", loop_thread),
    ]
    assert watched.heard.calls[-1][2] == 1


async def test_a_rolled_back_writer_transaction_re_plans_and_wakes_nothing(
    watched: Watched,
) -> None:
    def fails(connection: Connection) -> None:
        _writes_and_says(connection)
        raise RuntimeError("the work failed")

    def rolls_back(connection: Connection) -> None:  # as FastVote leaves a vote to the full path
        _writes_and_says(connection)
        connection.rollback()

    with pytest.raises(RuntimeError, match="the work failed"):
        await watched.writer.run(fails)
    await watched.writer.run(rolls_back)
    await watched.writer.run(lambda c: c.execute(INSERT, {"x": 2}))  # says nothing
    await asyncio.sleep(0)  # anything handed over meanwhile has run
    assert watched.heard.calls == []


async def test_a_writer_transaction_that_changes_what_is_due_re_plans_the_core(
    core: Core,
) -> None:
    """The core's own callbacks: its re-plan (Replans.changed starts a task on the running
    loop) runs after a due change committed in the writer thread."""
    if core.writer is None:
        pytest.skip("PostgreSQL has no single writer: no writer thread")
    loop_thread = threading.get_ident()
    replans: list[int] = []

    async def replan() -> None:
        replans.append(threading.get_ident())

    core.after_commands(replan)

    def changes_what_is_due(connection: Connection) -> None:
        connection.execute(text("UPDATE coops SET next_summary_at = NULL"))
        write_watch.mark_due(connection)

    await core.writer.run(changes_what_is_due)
    await core.replanned()
    assert replans == [loop_thread]


def test_a_transaction_ending_after_the_loop_closed_tells_nobody(tmp_path: Path) -> None:
    """The engine can outlive the loop its callbacks belong to: what a late transaction
    says is dropped, the transaction is not failed by it."""
    engine = make_sync_twin(make_engine(f"sqlite+aiosqlite:///{tmp_path}/late.db"))
    calls: list[str] = []

    async def watch() -> None:
        write_watch.watch(
            engine,
            due_changed=lambda: calls.append("due"),
            outbox_queued=lambda: calls.append("queued"),
            rooms_changed=lambda: calls.append("rooms"),
        )

    asyncio.run(watch())
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE kept (x INTEGER)"))
        _writes_and_says(connection)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM kept")).scalar() == 1
    engine.dispose()
    assert calls == []


async def test_an_engine_is_watched_once(watched: Watched) -> None:
    assert write_watch.watched(watched.writer.engine)
    with pytest.raises(ValueError, match="watched already"):
        write_watch.watch(
            watched.writer.engine,
            due_changed=lambda: None,
            outbox_queued=lambda: None,
            rooms_changed=lambda: None,
        )
