"""bot.tasks: a stop waits for the task it cancels, cancels once more what the first
cancellation left finishing (SQLAlchemy's shielded close of an invalidated connection),
and never hangs on a task that ignores both."""

from __future__ import annotations

import asyncio

import pytest

from bot.tasks import cancel_and_wait, reraise_if_cancelled


async def test_a_task_still_finishing_after_the_first_cancellation_is_cancelled_again() -> None:
    finishing = asyncio.Event()

    async def closes_shielded() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            finishing.set()
            await asyncio.Event().wait()  # a close that waits for ever, until cancelled

    task = asyncio.create_task(closes_shielded())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, 0.05)
    assert finishing.is_set() and task.cancelled()


async def test_a_task_that_ignores_cancellation_does_not_hang_the_stop() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert not await cancel_and_wait(task, 0.05)
    release.set()
    await task


async def test_an_error_that_replaced_a_cancellation_ends_the_task_cancelled() -> None:
    async def round_that_fails_as_it_is_cancelled() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            try:
                raise RuntimeError("a listener failed on the rollback")
            except RuntimeError:
                reraise_if_cancelled()
                raise

    task = asyncio.create_task(round_that_fails_as_it_is_cancelled())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
