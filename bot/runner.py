"""Starts the configured adapters around one core, each under its own supervisor, with
the scheduler and the optional health endpoint, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.app import Core, create_core
from bot.clock import Clock, OffsetClock, SystemClock
from bot.config import Settings
from bot.db.lock import DatabaseLock
from bot.files import private_dir, sqlite_path
from bot.heap import start_up_objects_frozen
from bot.holders import HolderRole, Holders, discord_role, matrix_role, process_name
from bot.operator_errors import OperatorError
from bot.platforms import load
from bot.ports import ChatAdapter, HomeRoom
from bot.preflight import preflight
from bot.scheduling import Scheduler
from bot.supervise import Backoff, Supervisor

log = logging.getLogger(__name__)

LOCAL_COOP_NAME = "Local co-op"
PLATFORMS = ("matrix", "discord")
# How long a stopping adapter may take to send what is pending and close its client.
STOP_GRACE_SECONDS = 15.0


def default_clock(settings: Settings) -> Clock:
    if settings.clock_offset_seconds:
        return OffsetClock(timedelta(seconds=settings.clock_offset_seconds))
    return SystemClock()


@contextlib.asynccontextmanager
async def running_core(settings: Settings, clock: Clock) -> AsyncIterator[Core]:
    """The core of a running bot: its SQLite file locked (so `db restore` can tell, and so
    that no second bot process runs on it) and private, its state folders private."""
    path = sqlite_path(settings.database_url)
    lock = DatabaseLock(path) if path is not None and path.parent.is_dir() else None
    refused = lock.take(sole=True) if lock is not None else None
    if refused == "restoring":
        raise OperatorError(
            f"{path} is being restored by `coopbot db restore`", "start the bot when it is done"
        )
    if refused == "running":
        raise OperatorError(
            f"another coopbot process is running on {path}: on SQLite only one process "
            "may run the bot",
            "stop the other one, or move to PostgreSQL to run several (docs/DEPLOY.md)",
        )
    try:
        core = await create_core(settings, clock)
        try:
            with start_up_objects_frozen():
                yield core
        finally:
            await core.close()
    finally:
        if lock is not None:
            lock.release()


async def run_console(settings: Settings, clock: Clock | None = None) -> int:
    """The console adapter on stdin/stdout; returns the exit status (0 at end of input)."""
    clock = clock or default_clock(settings)
    make = adapter_factory(settings, clock, "console")
    async with running_core(settings, clock) as core:
        if private_dir(Path(settings.attachments_dir)):
            log.debug("attachments folder %s made private", settings.attachments_dir)
        adapter = make()
        scheduler = Scheduler(core, clock)
        try:
            if isinstance(adapter, HomeRoom):
                await core.bootstrap_room(adapter.room, adapter.founder(), LOCAL_COOP_NAME)
            await scheduler.start()
            await adapter.run(core)
        finally:
            await scheduler.stop()
    return 0


def adapter_factory(settings: Settings, clock: Clock, platform: str) -> Callable[[], ChatAdapter]:
    """A maker of fresh adapters for `platform`, found by name among the installed
    adapters (bot.platforms; its extra must be installed)."""
    found = load(platform)

    def make() -> ChatAdapter:
        return found.create_adapter(settings, clock)

    return make


async def _start_checks(settings: Settings, options: dict[str, Any]) -> None:
    """The pre-flight checks; a failure that retrying cannot fix stops the start."""
    report = await preflight(settings, will_create=True, **options)
    for finding in report.findings:
        if finding.level == "fail" and finding.transient:
            log.warning("%s: %s (retrying once started)", finding.subject, finding.message)
        elif finding.level == "warn":
            log.warning("%s: %s%s", finding.subject, finding.message, _hint(finding.hint))
    fatal = [f for f in report.failed if not f.transient]
    if fatal:
        first = fatal[0]
        more = f" (and {len(fatal) - 1} more: run `coopbot check`)" if len(fatal) > 1 else ""
        raise OperatorError(f"{first.subject}: {first.message}{more}", first.hint)


def _hint(hint: str | None) -> str:
    return f" ({hint})" if hint else ""


async def run_bot(
    settings: Settings,
    clock: Clock | None = None,
    *,
    interactive: bool | None = None,
    backoff: Backoff | None = None,
    check_options: dict[str, Any] | None = None,
) -> int:
    """Every configured platform adapter, each supervised; the console when none is
    configured and a person is at the terminal. Returns the exit status."""
    clock = clock or default_clock(settings)
    platforms = [name for name in PLATFORMS if getattr(settings, name).configured]
    if not platforms:
        if not (sys.stdin.isatty() if interactive is None else interactive):
            raise OperatorError(
                "no chat platform is configured, and standard input is not a terminal",
                "configure [matrix] or [discord] (see docs/DEPLOY.md), "
                "or use `coopbot console` to read commands from a pipe",
                exit_code=2,
            )
        log.info("no Discord or Matrix credentials configured: starting the console adapter")
        return await run_console(settings, clock)
    factories = {name: adapter_factory(settings, clock, name) for name in platforms}
    await _start_checks(settings, check_options or {})
    if settings.matrix.configured and private_dir(Path(settings.matrix.store_path)):
        log.info("Matrix store %s is private (0700)", settings.matrix.store_path)
    holders = Holders(
        settings.database_url,
        process_name(settings.process_name),
        keepalive_seconds=settings.holder_keepalive_seconds,
        poll_seconds=settings.standby_poll_seconds,
    )
    async with running_core(settings, clock) as core:
        supervisors = [
            Supervisor(
                name, factories[name], core, backoff, holders=holders, role=role_of(settings, name)
            )
            for name in platforms
        ]
        try:
            return await _serve(settings, core, clock, supervisors)
        finally:
            await holders.close()


def role_of(settings: Settings, platform: str) -> HolderRole | None:
    """What only one process on the database may hold of `platform`: the Matrix account's
    session; the Discord shards of this process (all of them without `shard_ids`)."""
    if platform == "matrix":
        return matrix_role(settings.matrix.user_id)
    if platform == "discord":
        return discord_role(settings.discord.shard_ids)
    return None


async def _serve(
    settings: Settings, core: Core, clock: Clock, supervisors: list[Supervisor]
) -> int:
    scheduler = Scheduler(core, clock)
    endpoint = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(s.run(), name=s.platform) for s in supervisors]
    try:
        await scheduler.start()
        if settings.http.listen:
            from bot.http_server import HttpEndpoint

            endpoint = HttpEndpoint(core, supervisors, settings.http.listen)
            await endpoint.start()
        stopper: asyncio.Task[Any] = asyncio.create_task(stop.wait())
        waiting: list[asyncio.Task[Any]] = [*tasks, stopper]
        while not stop.is_set() and any(not task.done() for task in tasks):
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            waiting = [task for task in waiting if not task.done()]
        stopper.cancel()
        if stop.is_set():
            log.info("stopping: delivering what is pending, then closing the connections")
        for supervisor in supervisors:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await supervisor.stop()
        _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
        for task in pending:
            log.warning("%s did not stop in time; cancelling it", task.get_name())
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        failed = [s.platform for s in supervisors if s.state == "failed"]
        if failed and not stop.is_set():
            log.error("no platform left running (%s failed); exiting", ", ".join(failed))
        return 1 if failed else 0
    finally:
        # The handlers stay until the loop closes: a second SIGTERM while the bot closes
        # its database must not kill it half-way.
        if endpoint is not None:
            await endpoint.stop()
        await scheduler.stop()


async def export_csv(
    settings: Settings, kind: str, period: str, coop_id: int | None, out: TextIO
) -> None:
    """Write one export (`coopbot export`) to `out` as CSV, row by row as it is read (memory
    stays flat however large the co-op); reads only, never creates a database."""
    from sqlalchemy import select

    from bot.db.models import Coop
    from bot.domain.periods import parse_period
    from bot.errors import UserError
    from bot.services.coop_config import effective
    from bot.services.exports import write_csv

    core = await create_core(settings, SystemClock(), read_only=True)
    try:
        async with core.sessions() as session:
            ids = list((await session.scalars(select(Coop.id).order_by(Coop.id))).all())
            if coop_id is None:
                if len(ids) != 1:
                    raise UserError(f"there are {len(ids)} co-ops here", "name one with --coop ID")
                coop_id = ids[0]
            elif coop_id not in ids:
                raise UserError(f"there is no co-op {coop_id}")
            coop = await session.get(Coop, coop_id)
            assert coop is not None
            tz = effective(settings.defaults, coop.settings).timezone
            window = parse_period(period, tz, core.clock.now())
            await write_csv(session, coop_id, kind, out, window)
    finally:
        await core.close()
