"""Stopping background tasks safely: a cancellation is never swallowed or replaced (a
loop that logs and retries a failed round re-raises while its task is being cancelled),
and a stop waits for the task it cancels, at most a given time."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


def being_cancelled() -> bool:
    """Whether the current task has been asked to stop (a cancellation not taken back):
    an error caught while it is must not keep a loop running. False outside a task."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return False
    return task is not None and task.cancelling() > 0


def reraise_if_cancelled() -> None:
    """In an `except Exception` block of a loop that outlives a failed round: if the
    current task is being cancelled, the error replaced the cancellation (a listener that
    failed while the transaction was rolled back): end the task cancelled, as asked."""
    if being_cancelled():
        raise asyncio.CancelledError


async def cancel_and_wait(task: asyncio.Task[Any] | None, within: float) -> bool:
    """Cancel `task` and wait until it has ended, at most `within` seconds, then cancel it
    once more and wait as long again; True if it has ended (however: its error, if any, is
    logged, not raised). The second cancellation ends what the first let finish shielded:
    SQLAlchemy closes an invalidated aiosqlite connection gracefully, shielded, which waits
    for the connection's thread (busy in SQLite while another connection holds the lock);
    cancelled again, it closes it at once. A caller that is cancelled meanwhile stops
    waiting and is cancelled too (never swallowed here)."""
    if task is None:
        return True
    for attempt in ("", " again"):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=within)
        if done:
            break
        log.warning(
            "%s did not stop within %.1f s of being cancelled%s", task.get_name(), within, attempt
        )
    else:
        return False
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("%s failed as it stopped: %r", task.get_name(), error)
    return True
