"""Stopping the scheduler while a pass of due work runs ends that pass quietly: APScheduler
does not report a cancelled job as an error with its traceback at every shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.util import await_only

from bot.app import Core
from bot.clock import ManualClock
from bot.scheduling import Scheduler
from tests.support import say, setup_coop

PROMPTLY = 10.0  # a bound on what happens at once, so that a hang fails


class _JobLog(logging.Handler):
    """APScheduler's job reports: `ended` is set when a job ends, either way."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ended = asyncio.Event()
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "executed successfully" in message or record.levelno >= logging.ERROR:
            self.ended.set()
        if record.levelno >= logging.ERROR:
            self.errors.append(message)


@contextlib.contextmanager
def pass_held_at_its_first_statement(core: Core) -> Iterator[asyncio.Event]:
    """Holds the first statement a job of APScheduler sends until the job is cancelled;
    yields an event set when it is held."""
    held = asyncio.Event()
    never = asyncio.Event()
    engine = core.engine.sync_engine

    def hold(_conn: object, _cursor: object, _statement: str, *_: object) -> None:
        task = asyncio.current_task()
        if task is None or held.is_set():
            return
        if task.get_coro().__qualname__ == "run_coroutine_job":  # type: ignore[union-attr]
            held.set()
            await_only(never.wait())

    event.listen(engine, "before_cursor_execute", hold)
    try:
        yield held
    finally:
        event.remove(engine, "before_cursor_execute", hold)


async def test_a_pass_running_when_the_scheduler_stops_ends_without_an_error(
    core: Core, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await setup_coop(core)
    scheduler = Scheduler(core, clock)
    await scheduler.start()
    await say(core, "alice", "!propose Fix the roof closes:1h")
    clock.advance(timedelta(hours=1))
    caplog.set_level(logging.ERROR, logger="bot")
    jobs = _JobLog()
    apscheduler = logging.getLogger("apscheduler")
    apscheduler.addHandler(jobs)
    apscheduler.setLevel(logging.INFO)
    try:
        with pass_held_at_its_first_statement(core) as held:
            async with asyncio.timeout(PROMPTLY):
                await scheduler.reschedule()  # the vote's deadline is now: a pass starts
                await held.wait()
                await scheduler.stop()
                await jobs.ended.wait()
    finally:
        apscheduler.removeHandler(jobs)
        apscheduler.setLevel(logging.NOTSET)
    assert jobs.errors == []
    assert not _errors(caplog), caplog.text


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the bot logged as an error (another test may have left its loggers chattier)."""
    return [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.ERROR]
