"""Scheduled work: APScheduler runs the due-work pass at the next due moment and as a
safety net every minute; the database, not the scheduler, says what is due."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.services import due
from bot.services.retention import Pruned

log = logging.getLogger(__name__)

SAFETY_NET = timedelta(seconds=60)
# Old handled-message rows and card links are deleted this often (and soon after start).
PRUNE_EVERY = timedelta(hours=1)
OPTIMIZE_EVERY = timedelta(days=1)  # SQLite `PRAGMA optimize`, as its documentation advises
PRUNE_FIRST = timedelta(minutes=1)
# Work that falls due while a pass runs is picked up by a few more passes, not a busy loop.
MAX_PASSES = 3


class Schedulable(Protocol):
    """What the scheduler needs of the core (bot.app.Core has it)."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]

    def after_commands(self, listener: Callable[[], Awaitable[None]]) -> None: ...

    async def run_due_work(self) -> int: ...

    async def prune_history(self) -> Pruned: ...

    async def optimize_database(self) -> None: ...


class Scheduler:
    """Wraps an AsyncIOScheduler whose jobs carry no state: they ask the database."""

    def __init__(self, core: Schedulable, clock: Clock) -> None:
        self._core = core
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running = asyncio.Lock()
        self._jobs: set[asyncio.Task[object]] = set()  # passes APScheduler runs now
        self._stopping = False

    async def start(self) -> None:
        # Reconcile first: work that fell due while the bot was down runs now, once.
        await self._run()
        self._scheduler.add_job(
            self._job(self._run),
            IntervalTrigger(seconds=SAFETY_NET.total_seconds()),
            id="due-work-safety-net",
            replace_existing=True,
            coalesce=True,
            max_instances=3,
        )
        self._scheduler.add_job(
            self._job(self.prune),
            IntervalTrigger(seconds=PRUNE_EVERY.total_seconds()),
            id="prune-history",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC) + PRUNE_FIRST,
        )
        self._scheduler.add_job(
            self._job(self.optimize),
            IntervalTrigger(seconds=OPTIMIZE_EVERY.total_seconds()),
            id="optimize-database",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.start()
        self._core.after_commands(self.reschedule)
        await self.reschedule()

    async def stop(self) -> None:
        """Stop the timers, and the passes running now: cancelled here and waited for, so
        APScheduler does not report them as failed jobs (it would log each with a
        traceback); what they did not finish is done again at the next start."""
        self._stopping = True
        running = list(self._jobs)
        for job in running:
            job.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def _job(self, work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`work` as an APScheduler job that `stop` can end without an error report."""

        @functools.wraps(work)  # APScheduler names the job after it
        async def job() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._jobs.add(task)
            try:
                await work()
            except asyncio.CancelledError:
                if not self._stopping:
                    raise
                # `stop` cancelled it, and waits for it to end: it ends quietly.
            finally:
                self._jobs.discard(task)

        return job

    async def reschedule(self) -> None:
        """Put the next due-work run at the earliest moment something falls due."""
        when = await due.next_due(self._core.sessions, self._clock, self._core.settings)
        if when is None or not self._scheduler.running:
            return
        # APScheduler waits on the wall clock; the injected clock may be offset from it.
        delay = max(when - self._clock.now(), timedelta(0))
        self._scheduler.add_job(
            self._job(self._run),
            DateTrigger(run_date=datetime.now(UTC) + delay),
            id="due-work-next",
            replace_existing=True,
            coalesce=True,
            max_instances=3,
            misfire_grace_time=None,
        )

    async def _run(self) -> None:
        # Overlapping runs (the timer and the safety net) queue here instead of racing;
        # the second finds nothing left to do.
        async with self._running:
            for _ in range(MAX_PASSES):
                try:
                    changed = await self._core.run_due_work()
                except Exception:
                    log.exception("scheduled work failed; it will be retried")
                    break
                if changed:
                    log.info("scheduled work: %d transition(s)", changed)
                when = await due.next_due(self._core.sessions, self._clock, self._core.settings)
                if when is None or when > self._clock.now():
                    break
        if self._scheduler.running:
            await self.reschedule()

    async def prune(self) -> None:
        """Delete what the retention window no longer needs (batched, see
        bot.services.retention); a failure is logged and retried on the next run."""
        try:
            pruned = await self._core.prune_history()
        except Exception:
            log.exception("pruning old handled messages failed; it will be retried")
            return
        if pruned.handled or pruned.links:
            log.info(
                "pruned %d handled message(s) and %d card link(s) past the retention window",
                pruned.handled,
                pruned.links,
            )

    async def optimize(self) -> None:
        """Daily: keep SQLite's planner statistics fresh as the tables grow."""
        try:
            await self._core.optimize_database()
        except Exception:
            log.exception("refreshing the database statistics failed; it will be retried")

    def next_run(self) -> datetime | None:
        job = self._scheduler.get_job("due-work-next")
        return job.next_run_time if job else None
