"""Ending a background task from the code that stops it, without swallowing a cancellation
of that code's own caller."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has ended. Its cancellation is the expected end and
    is not raised; any other error it ended with is. A cancellation of the caller while it
    waits ends the caller cancelled (the task goes on winding down by itself).

    Not `task.cancel(); with suppress(CancelledError): await task`: when the caller is
    cancelled while awaiting the task, both cancellations reach the caller as one
    CancelledError, the suppress swallows the caller's along with the task's, and the
    caller carries on as if it had never been cancelled (a stop whose grace ran out went
    on stopping; a cancelled shutdown did not end). `asyncio.wait` raises only a
    cancellation of its caller, never the task's own."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.result()  # what ended it, if not the cancel (an error it raised)
