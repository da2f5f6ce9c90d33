"""A background loop stopped while its transaction runs (an outbox pump's round cancelled at
its BEGIN, a query or its COMMIT) ends cancelled, not with another error in its place, so
the loop stops and the bot exits; and the database's writer is free afterwards: the next
write goes through at once. (Cancelled inside a query, the connection was invalidated,
bot.write_watch's rollback listener then raised on it, and the pump took that error for a
failed round and went on for ever; the writer's lock, and on SQLite the file's write lock,
could stay held by the lost connection.)

Each case stops the round at an exact point, from an engine event on the statement it
reaches: no race against a timer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event

from bot.app import Core
from bot.clock import ManualClock
from bot.ports import Delivery
from bot.services.outbox import LEASE
from tests.support import invocation, setup_coop

# The points of a pump's round at which it is cancelled: a statement's first words, or
# "COMMIT" for the commit. PostgreSQL sends its BEGIN outside any cursor.
POINTS = ["BEGIN", "SELECT", "UPDATE", "COMMIT"]
# A bound for what happens at once when it works, so that a hang fails the test instead of
# hanging it (the writer's lock waits 30 s before it gives up).
PROMPTLY = 10.0


async def _sent_nowhere(_delivery: Delivery) -> str | None:
    return None


@dataclass
class Cancellation:
    """Where the stop came (at most one point), and the stop itself once started."""

    points: list[str] = field(default_factory=list)
    stopping: asyncio.Future[object] | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.contextmanager
def stopped_at(
    core: Core, point: str, chosen: Callable[[], bool], stop: Callable[[], Awaitable[object]]
) -> Iterator[Cancellation]:
    """Start `stop()` the first time the running task reaches `point` of a transaction on
    `core`'s engine while `chosen()` says it is the task to stop. The stop's cancellation
    lands in the statement's own await: the stop runs before the query's result can come
    back (both are callbacks of the loop, the stop's first)."""
    engine = core.engine.sync_engine
    cancellation = Cancellation()

    def stop_here() -> None:
        if not cancellation.points and chosen():
            cancellation.points.append(point)
            cancellation.stopping = asyncio.ensure_future(stop())
            cancellation.started.set()

    def before_statement(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith(point):
            stop_here()

    def before_commit(_conn: object) -> None:
        if point == "COMMIT":
            stop_here()

    event.listen(engine, "before_cursor_execute", before_statement)
    event.listen(engine, "commit", before_commit)
    try:
        yield cancellation
    finally:
        event.remove(engine, "before_cursor_execute", before_statement)
        event.remove(engine, "commit", before_commit)


def _skip_where_not_sent(core: Core, point: str) -> None:
    if point == "BEGIN" and core.engine.dialect.name != "sqlite":
        pytest.skip("asyncpg's BEGIN is not a statement an engine event sees")


async def _one_delivery_due(core: Core, clock: ManualClock) -> None:
    """An answer stored for sending whose sender died: the pump leases it (an UPDATE)."""
    await setup_coop(core)
    (answer,) = await core.answer(invocation("alice", "!propose Buy a kiln"))
    assert answer.delivery is not None
    clock.advance(LEASE * 2)


async def _writer_is_free(core: Core) -> None:
    """The next write transaction goes through at once (SQLite: no connection, not even a
    lost one, holds the file's write lock; then this process's writer lock is free)."""
    url = core.engine.url
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(str(url.database), timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" at once if it is held
            other.rollback()
        finally:
            other.close()
    async with asyncio.timeout(PROMPTLY):
        await core.pending_deliveries("console")


@pytest.mark.parametrize("point", POINTS)
async def test_a_round_cancelled_inside_its_transaction_ends_cancelled(
    core: Core, clock: ManualClock, point: str
) -> None:
    _skip_where_not_sent(core, point)
    await _one_delivery_due(core, clock)
    pump = core.pump("console", _sent_nowhere, every=60)
    round_task: asyncio.Task[int] | None = None

    async def cancel_the_round() -> None:
        assert round_task is not None
        round_task.cancel()

    def the_round() -> bool:
        return asyncio.current_task() is round_task

    with stopped_at(core, point, the_round, cancel_the_round) as stop:
        round_task = asyncio.create_task(pump.round())
        await asyncio.wait({round_task}, timeout=PROMPTLY)
    assert stop.points == [point]
    assert round_task.done(), "the cancelled round did not end"
    # The CancelledError itself, not an error raised while rolling back in its place.
    assert round_task.cancelled(), repr(round_task.exception())
    await _writer_is_free(core)


@pytest.mark.parametrize("point", POINTS)
async def test_a_pump_stopped_inside_its_transaction_stops_and_its_core_closes(
    core: Core, clock: ManualClock, point: str, caplog: pytest.LogCaptureFixture
) -> None:
    _skip_where_not_sent(core, point)
    await _one_delivery_due(core, clock)
    caplog.set_level(logging.ERROR, logger="bot")
    pump = core.pump("console", _sent_nowhere, every=60)

    def the_pump() -> bool:
        task = asyncio.current_task()
        return task is not None and task.get_name() == "console-outbox"

    with stopped_at(core, point, the_pump, pump.stop) as stop:
        pump.start()
        async with asyncio.timeout(PROMPTLY):
            await stop.started.wait()  # the pump's first round reached the point
        assert stop.stopping is not None
        # Not awaited directly: a timeout here would cancel the stop itself, which then
        # ends the pump with a second cancellation.
        await asyncio.wait({stop.stopping}, timeout=PROMPTLY)
    assert stop.stopping.done(), "the pump did not stop: it took its stop for a failure"
    assert stop.points == [point]
    assert not _errors(caplog), caplog.text
    await _writer_is_free(core)
    async with asyncio.timeout(PROMPTLY):
        await core.close()


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the bot logged as an error (another test may have left its loggers chattier)."""
    return [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.ERROR]
