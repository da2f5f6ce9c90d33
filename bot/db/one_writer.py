"""SQLite has one writer, and every transaction here begins IMMEDIATE (bot.db.engine): this
process's transactions queue for it on an asyncio lock instead of in SQLite's busy handler,
which sleeps in steps of up to 100 ms and so leaves the database idle while work waits."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from bot.db.engine import begin_last

# As long as SQLite's own busy timeout (bot.db.engine): a transaction that waits longer
# fails the same way, it does not hang.
WAIT_SECONDS = 30.0
_HELD = "coopbot_holds_writer"


async def _acquire(lock: asyncio.Lock, wait_seconds: float) -> None:
    """`lock`, waited for at most `wait_seconds` (TimeoutError after). Not wait_for: on
    Python 3.11 it returns the lock to a task cancelled just as the lock came free, and the
    task carries on as if never cancelled (a stopped outbox pump then ran for ever, and its
    bot never exited)."""
    async with asyncio.timeout(wait_seconds):
        await lock.acquire()


def one_writer(engine: AsyncEngine, wait_seconds: float = WAIT_SECONDS) -> WriterTurn:
    """Let one transaction of `engine` at a time run, from its BEGIN until its connection
    goes back to the pool (just after the commit or rollback) or is lost; the turn
    returned lets a transaction run elsewhere (bot.db.writer_thread) take the same lock."""
    lock = asyncio.Lock()
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "begin", insert=True)  # before BEGIN IMMEDIATE runs
    def _take(conn: Any) -> None:
        if conn.info.get(_HELD):
            return  # a second transaction on a connection that holds the lock already
        try:
            await_only(_acquire(lock, wait_seconds))
        except TimeoutError as exc:
            raise OperationalError("BEGIN", None, Exception("database is locked")) from exc
        conn.info[_HELD] = True

    def _give_back(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        if record is not None and record.info.pop(_HELD, False):
            lock.release()

    # The connection goes back to the pool; or it is invalidated (a query was cancelled or
    # failed), closed or detached, after which its checkin may never come: whichever
    # comes first gives the lock back, once.
    for name in ("checkin", "invalidate", "close", "detach"):
        event.listen(sync_engine.pool, name, _give_back)

    @event.listens_for(sync_engine.pool, "invalidate", insert=True)
    def _roll_back(dbapi_connection: Any, _record: Any, _exception: Any) -> None:
        # Before the pool closes it: SQLite keeps a closed connection's transaction, and the
        # file's write lock, while a cancelled query's cursor lives (until garbage
        # collection). Not possible, nor needed, when the collector itself closes it.
        with contextlib.suppress(Exception):
            dbapi_connection.rollback()

    begin_last(sync_engine)  # the lock is taken before BEGIN IMMEDIATE runs, not after

    return WriterTurn(lock, wait_seconds)


@dataclass(frozen=True)
class WriterTurn:
    """This process's one writer turn, for a transaction that runs outside `engine`'s pool
    (bot.db.writer_thread): `take` waits for it as a BEGIN on `engine` does, `give_back`
    ends it once that transaction has committed or rolled back."""

    lock: asyncio.Lock
    wait_seconds: float

    async def take(self) -> None:
        try:
            await _acquire(self.lock, self.wait_seconds)
        except TimeoutError as exc:
            raise OperationalError("BEGIN", None, Exception("database is locked")) from exc

    def give_back(self) -> None:
        self.lock.release()
