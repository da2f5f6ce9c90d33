"""Starts the configured adapters around one core, with the scheduler, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.base import ChatAdapter
from adapters.console.adapter import ConsoleAdapter
from bot.app import Core, create_core
from bot.clock import Clock, OffsetClock, SystemClock
from bot.config import Settings
from bot.scheduling import Scheduler

log = logging.getLogger(__name__)

LOCAL_COOP_NAME = "Local co-op"


def default_clock(settings: Settings) -> Clock:
    if settings.clock_offset_seconds:
        return OffsetClock(timedelta(seconds=settings.clock_offset_seconds))
    return SystemClock()


async def run_console(settings: Settings, clock: Clock | None = None) -> int:
    """The console adapter on stdin/stdout; returns the exit status (0 at end of input)."""
    clock = clock or default_clock(settings)
    core = await create_core(settings, clock)
    adapter = ConsoleAdapter(
        user=settings.console.user,
        prefix=settings.command_prefix,
        attachments_dir=Path(settings.attachments_dir),
        room=settings.console.room,
        poll_seconds=min(settings.outbox_poll_seconds, 1.0),
    )
    scheduler = Scheduler(core, clock)
    try:
        await core.bootstrap_room(
            adapter.room, adapter.actor(settings.console.user), LOCAL_COOP_NAME
        )
        await scheduler.start()
        await adapter.run(core)
    finally:
        await scheduler.stop()
        await core.close()
    return 0


def _platform_adapters(settings: Settings, core: Core) -> list[ChatAdapter]:
    found: list[ChatAdapter] = []
    for name, section in (("matrix", settings.matrix), ("discord", settings.discord)):
        if section.configured:
            module: Any = importlib.import_module(f"adapters.{name}")
            found.append(module.create_adapter(settings, core.clock))
    return found


async def run_bot(settings: Settings, clock: Clock | None = None) -> int:
    """Every configured platform adapter; the console when none is configured."""
    clock = clock or default_clock(settings)
    if not (settings.matrix.configured or settings.discord.configured):
        log.info("no Discord or Matrix credentials configured: starting the console adapter")
        return await run_console(settings, clock)
    core = await create_core(settings, clock)
    adapters = _platform_adapters(settings, core)
    scheduler = Scheduler(core, clock)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await scheduler.start()
        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(a.run(core), name=a.platform) for a in adapters
        ]
        stopper: asyncio.Task[object] = asyncio.create_task(stop.wait())
        waiting: list[asyncio.Task[object]] = [*tasks, stopper]
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for adapter in adapters:
            await adapter.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stopper.cancel()
        failed = [t for t in done if t is not stopper and t.exception() is not None]
        for task in failed:
            log.error("adapter %s stopped: %r", task.get_name(), task.exception())
        return 1 if failed else 0
    finally:
        await scheduler.stop()
        await core.close()


async def export_csv(settings: Settings, kind: str, period: str, coop_id: int | None) -> str:
    """CSV text of one export (`coopbot export`)."""
    from sqlalchemy import select

    from bot.db.models import Coop
    from bot.domain.periods import parse_period
    from bot.errors import UserError
    from bot.services.coop_config import effective
    from bot.services.exports import export_csv as build

    core = await create_core(settings, SystemClock())
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
            return await build(session, coop_id, kind, parse_period(period, tz, core.clock.now()))
    finally:
        await core.close()
