"""Stopping an outbox pump does not swallow the stopper's own cancellation: a caller
cancelled while it waits for the pump to end (a stop grace period running out) ends
cancelled too, instead of carrying on as if it had never been cancelled."""

from __future__ import annotations

import asyncio

from bot.app import Core
from bot.clock import ManualClock
from bot.ports import Delivery
from bot.services.outbox import LEASE
from tests.support import invocation, setup_coop

PROMPTLY = 10.0  # a bound on what happens at once, so that a hang fails


async def test_a_stop_cancelled_while_the_pump_winds_down_ends_cancelled(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    (answer,) = await core.answer(invocation("alice", "!propose Buy a kiln"))
    assert answer.delivery is not None
    clock.advance(LEASE * 2)  # its sender died: the pump sends it
    sending, told_to_stop, wound_down = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow_to_stop(_delivery: Delivery) -> str | None:
        sending.set()
        try:
            await asyncio.Event().wait()  # a send that hangs until stopped
        finally:
            told_to_stop.set()
            await wound_down.wait()  # and takes a while to wind down
        return None

    pump = core.pump("console", slow_to_stop, every=60)
    pump.start()
    async with asyncio.timeout(PROMPTLY):
        await sending.wait()
    stopper = asyncio.create_task(pump.stop())
    async with asyncio.timeout(PROMPTLY):
        await told_to_stop.wait()  # the stop has cancelled the pump and waits for it
    stopper.cancel()  # the stop's caller gives up waiting
    wound_down.set()
    await asyncio.wait({stopper}, timeout=PROMPTLY)
    assert stopper.done()
    assert stopper.cancelled(), "the stopper's own cancellation was swallowed"
