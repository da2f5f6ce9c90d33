"""Closing what runs in the background does not swallow the closer's own cancellation: a
caller cancelled while a close() waits for its background task to end (a stop grace period
running out, a shutdown cancelled) ends cancelled too, instead of carrying on as if it had
never been cancelled (bot.tasks.cancel_and_wait)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.app import Core
from bot.clock import ManualClock
from bot.ports import Delivery
from bot.replan import Replans
from bot.services.outbox import LEASE
from bot.tasks import cancel_and_wait
from tests.support import invocation, setup_coop

PROMPTLY = 10.0  # a bound on what happens at once, so that a hang fails


def running_task(name: str) -> asyncio.Task[Any]:
    """The background task called `name` (each kind names its own)."""
    (task,) = [task for task in asyncio.all_tasks() if task.get_name() == name]
    return task


async def cancel_while_it_closes(
    close: Callable[[], Awaitable[None]], background: asyncio.Task[Any]
) -> asyncio.Task[None]:
    """Start `close`, cancel it once it has told `background` to stop (it waits for it to
    end), and return the closer once it has ended."""

    async def closing() -> None:
        await close()

    closer = asyncio.create_task(closing())
    async with asyncio.timeout(PROMPTLY):
        while not background.cancelling():  # noqa: ASYNC110 (a task's state, no event)
            await asyncio.sleep(0)  # one turn of the loop: the closer runs its step
    assert not closer.done()
    closer.cancel()  # the closer's caller gives up waiting
    await asyncio.wait({closer}, timeout=PROMPTLY)
    assert closer.done(), "the close hung"
    return closer


async def test_a_caller_cancelled_while_the_task_winds_down_ends_cancelled() -> None:
    told_to_stop, wound_down = asyncio.Event(), asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            told_to_stop.set()
            await wound_down.wait()

    task = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)  # it starts, and waits
    closer = asyncio.create_task(cancel_and_wait(task))
    async with asyncio.timeout(PROMPTLY):
        await told_to_stop.wait()
    closer.cancel()
    await asyncio.wait({closer}, timeout=PROMPTLY)
    assert closer.cancelled(), "the caller's cancellation was swallowed"
    assert not task.done()  # it goes on winding down by itself
    wound_down.set()
    await asyncio.wait({task}, timeout=PROMPTLY)
    assert task.cancelled()


async def test_the_tasks_own_cancellation_is_quiet_and_its_error_is_raised() -> None:
    async def waits() -> None:
        await asyncio.Event().wait()

    quiet = asyncio.create_task(waits())
    await asyncio.sleep(0)
    await cancel_and_wait(quiet)  # no CancelledError: the cancel was ours
    assert quiet.cancelled()

    async def fails_when_stopped() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("could not wind down") from None

    failing = asyncio.create_task(fails_when_stopped())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="could not wind down"):
        await cancel_and_wait(failing)


async def test_closing_the_replans_cancelled_ends_cancelled() -> None:
    replans = Replans()
    replanning = asyncio.Event()

    async def replan() -> None:
        replanning.set()
        await asyncio.Event().wait()  # a re-plan still running when the core closes

    replans.listen(replan)
    replans.changed()
    async with asyncio.timeout(PROMPTLY):
        await replanning.wait()
    closer = await cancel_while_it_closes(replans.close, running_task("re-plan-due-work"))
    assert closer.cancelled(), "the closer's cancellation was swallowed"


async def test_closing_the_courier_cancelled_ends_cancelled(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    (answer,) = await core.answer(invocation("alice", "!propose Buy a kiln"))
    assert answer.delivery is not None
    clock.advance(LEASE * 2)  # its sender died: this process sends it
    sending = asyncio.Event()

    async def hangs(_delivery: Delivery) -> str | None:
        sending.set()
        await asyncio.Event().wait()
        return None

    delivering = asyncio.create_task(core.deliver_pending("console", hangs))
    try:
        async with asyncio.timeout(PROMPTLY):
            await sending.wait()  # a delivery in hand: its lease is renewed in the background
        heartbeat = running_task("outbox-lease-heartbeat")
        closer = await cancel_while_it_closes(core.courier.close, heartbeat)
        assert closer.cancelled(), "the closer's cancellation was swallowed"
    finally:
        await cancel_and_wait(delivering)
