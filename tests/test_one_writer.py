"""SQLite's one writer (bot.db.one_writer): a transaction waiting for the writer's lock that
is cancelled just as the lock comes free ends cancelled and leaves the lock free. (With
asyncio.wait_for, Python 3.11 handed it the lock and swallowed the cancellation: a stopped
outbox pump carried on for ever, holding the lock, and a console bot never exited.) A
connection lost mid-transaction gives the lock back too, whether or not the pool ever
sees it come back."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import pytest

from bot.db.engine import make_engine
from bot.db.one_writer import _acquire, one_writer


async def test_a_wait_cancelled_as_the_lock_comes_free_ends_cancelled() -> None:
    lock = asyncio.Lock()
    await lock.acquire()  # another transaction holds the writer's lock
    waiting = asyncio.create_task(_acquire(lock, 10))
    for _ in range(100):  # a few turns of the loop: until it waits for the lock
        if lock._waiters:
            break
        await asyncio.sleep(0)
    assert lock._waiters
    lock.release()  # its transaction ends: the lock comes free for the waiter…
    waiting.cancel()  # …as the waiter is cancelled (a pump being stopped)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not lock.locked()


async def test_a_wait_past_its_time_fails_and_leaves_the_lock_to_its_holder() -> None:
    lock = asyncio.Lock()
    await lock.acquire()
    with pytest.raises(TimeoutError):
        await _acquire(lock, 0.01)
    assert lock.locked()  # still the holder's
    lock.release()
    await _acquire(lock, 1)  # and free for the next one
    assert lock.locked()


async def test_a_transaction_lost_to_the_garbage_collector_leaves_the_writer_free(
    tmp_path: Path,
) -> None:
    # A connection nothing returned to the pool (its task was destroyed mid-transaction)
    # is detached and closed by the collector: no checkin comes, yet the lock is free.
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/one.db")
    one_writer(engine)
    try:
        lost = await engine.connect()
        await lost.begin()  # takes the writer's lock
        await lost.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        del lost
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy warns of the unreturned connection
            gc.collect()
        async with asyncio.timeout(10), engine.begin() as connection:  # not 30 s of waiting
            await connection.exec_driver_sql("CREATE TABLE u (x INTEGER)")
    finally:
        await engine.dispose()
