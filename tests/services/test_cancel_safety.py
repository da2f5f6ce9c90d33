"""A bot told to stop always stops: an outbox pump cancelled while its transaction awaits
the database ends cancelled at once (SQLAlchemy invalidates the connection, and no
listener on the rollback that follows may replace the cancellation with an error the
pump's loop would log and retry for ever), and the next transaction on the engine runs
(SQLite's in-process writer lock is not kept by the invalidated connection)."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from adapters.console.adapter import ConsoleAdapter
from bot.app import Core
from bot.clock import ManualClock
from bot.delivery import Pump
from bot.ports import Delivery
from bot.services.outbox import LEASE
from tests.support import invocation, setup_coop

# Long enough never to be reached by a test that passes; a test that fails waits it out
# instead of hanging.
PROMPTLY = 10.0
AFTER_THE_LEASE = LEASE + timedelta(seconds=1)


class Parked:
    """Parks the first statement on `engine` that reads `table` inside its transaction
    until released: `arrived` is set while it waits there."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.arrived = asyncio.Event()
        self.released = asyncio.Event()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.table in statement and not self.arrived.is_set():
            self.arrived.set()
            await_only(self.released.wait())


@contextmanager
def parked_on(engine: AsyncEngine, table: str) -> Iterator[Parked]:
    parked = Parked(table)
    event.listen(engine.sync_engine, "before_cursor_execute", parked)
    try:
        yield parked
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", parked)


async def _nothing_sent(_delivery: Delivery) -> str | None:
    return None


async def _ends_cancelled(task: asyncio.Task[Any]) -> None:
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=PROMPTLY)
    assert done, "the cancelled task is still running"
    with pytest.raises(asyncio.CancelledError):
        task.result()


async def _a_write_runs(core: Core) -> None:
    async def write() -> None:
        async with core.sessions() as session, session.begin():
            await session.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            await session.execute(text("INSERT INTO probe VALUES (1)"))

    await asyncio.wait_for(write(), PROMPTLY)


async def test_a_pump_cancelled_inside_its_transaction_stops(core: Core) -> None:
    pump = core.pump("console", _nothing_sent, every=3600)
    with parked_on(core.engine, "outbox_deliveries") as parked:
        running = asyncio.create_task(pump.run(), name="console-outbox")
        await asyncio.wait_for(parked.arrived.wait(), PROMPTLY)
        await _ends_cancelled(running)
    await _a_write_runs(core)


async def test_a_round_cancelled_inside_its_transaction_ends_cancelled(core: Core) -> None:
    pump = core.pump("console", _nothing_sent, every=3600)
    with parked_on(core.engine, "outbox_deliveries") as parked:
        ticking = asyncio.create_task(pump.tick())
        await asyncio.wait_for(parked.arrived.wait(), PROMPTLY)
        await _ends_cancelled(ticking)
    await _a_write_runs(core)


async def _ends_promptly(work: asyncio.Task[Any]) -> None:
    """`work` (a stop) completes; one that hangs is cancelled to clean up, and fails."""
    done, _ = await asyncio.wait({work}, timeout=PROMPTLY)
    if not done:
        work.cancel()
        await asyncio.wait({work}, timeout=PROMPTLY)
    assert done, "stopping hung"
    work.result()


async def test_a_pump_stopped_inside_its_transaction_stops_and_frees_the_writer(
    core: Core,
) -> None:
    pump: Pump = core.pump("console", _nothing_sent, every=3600)
    with parked_on(core.engine, "outbox_deliveries") as parked:
        pump.start()
        await asyncio.wait_for(parked.arrived.wait(), PROMPTLY)
        await _ends_promptly(asyncio.create_task(pump.stop()))
    await _a_write_runs(core)
    async with core.sessions() as session:
        assert await session.scalar(select(text("count(*)")).select_from(text("probe"))) == 1


async def test_a_console_bot_stopped_while_its_pump_is_in_a_transaction_exits(
    core: Core, tmp_path: Path
) -> None:
    reading, writing = os.pipe()
    with os.fdopen(reading) as stdin, parked_on(core.engine, "outbox_deliveries") as parked:
        adapter = ConsoleAdapter(
            user="alice",
            prefix="!",
            attachments_dir=tmp_path,
            stdin=stdin,
            stdout=io.StringIO(),
            poll_seconds=3600,
        )
        running = asyncio.create_task(adapter.run(core))
        await asyncio.wait_for(parked.arrived.wait(), PROMPTLY)
        await adapter.stop()
        os.close(writing)  # end of input: the console stops its pump and returns
        await _ends_promptly(running)
    await _a_write_runs(core)


async def test_a_round_stays_cancelled_when_an_error_replaces_the_cancellation(
    core: Core,
) -> None:
    """Any listener of the rollback that fails on the invalidated connection (as
    write_watch's did) turns the cancellation into its error: the pump still stops."""

    def failing(conn: Any) -> None:
        if conn.invalidated:
            raise RuntimeError("a rollback listener that cannot read the connection")

    pump = core.pump("console", _nothing_sent, every=3600)
    event.listen(core.engine.sync_engine, "rollback", failing)
    try:
        with parked_on(core.engine, "outbox_deliveries") as parked:
            running = asyncio.create_task(pump.run(), name="console-outbox")
            await asyncio.wait_for(parked.arrived.wait(), PROMPTLY)
            await _ends_cancelled(running)
    finally:
        event.remove(core.engine.sync_engine, "rollback", failing)
    await _a_write_runs(core)


class SlowToStop:
    """A platform whose send, when cancelled, takes until `finish` to end (a client
    closing its request): a pump's stop waits for it meanwhile."""

    def __init__(self) -> None:
        self.sending = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.finish = asyncio.Event()

    async def __call__(self, _delivery: Delivery) -> str | None:
        self.sending.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.cancelled.set()
            await self.finish.wait()
        return None


async def test_a_stop_cancelled_while_it_waits_for_its_pump_ends_cancelled(
    core: Core, clock: ManualClock
) -> None:
    """The stop's own caller being stopped (a supervisor past its grace) is not
    swallowed by the wait for the pump."""
    await setup_coop(core)
    await core.answer(invocation("alice", "!propose Buy a kiln"))
    clock.advance(AFTER_THE_LEASE)  # the answer's lease runs out: the pump sends it
    platform = SlowToStop()
    pump = core.pump("console", platform, every=3600)
    pump.start()
    await asyncio.wait_for(platform.sending.wait(), PROMPTLY)
    stopping = asyncio.create_task(pump.stop())
    await asyncio.wait_for(platform.cancelled.wait(), PROMPTLY)  # the stop waits for it
    stopping.cancel()
    try:
        done, _ = await asyncio.wait({stopping}, timeout=PROMPTLY)
        assert done
        assert stopping.cancelled()
    finally:
        platform.finish.set()
