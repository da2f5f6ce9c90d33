"""A SQLite write transaction in one call: a synchronous twin of the engine (same file, same
settings) used from one dedicated thread, which runs the whole transaction while this
process's writer turn (bot.db.one_writer) is held, instead of a round trip per step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import make_sync_twin
from bot.db.one_writer import WriterTurn, one_writer
from bot.files import sqlite_path

T = TypeVar("T")


class WriterThread:
    """Runs `work(connection)` in one transaction (BEGIN IMMEDIATE … COMMIT; rolled back
    if it raises) on the twin `engine`, in its own thread, holding the writer turn from
    before the BEGIN until the commit or rollback is done, even when the task that
    awaits it is cancelled meanwhile. Its owner closes it before disposing the engine.
    What a transaction says to bot.write_watch is acted on in the event loop's thread
    (`watch` hands it over), before `run` returns."""

    def __init__(self, engine: AsyncEngine, turn: WriterTurn) -> None:
        self.engine: Engine = make_sync_twin(engine)
        self._turn = turn
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._closed = False

    async def run(self, work: Callable[[Connection], T]) -> T:
        """What `work` returned, once its transaction has ended; `work` may roll it back
        itself (`connection.rollback()`), and what it raises is raised here."""
        await self._turn.take()
        loop = asyncio.get_running_loop()
        try:
            done = self._thread.submit(self._transaction, work)
        except BaseException:
            self._turn.give_back()
            raise

        def ended(_: Future[T]) -> None:  # in the thread, once the transaction ended
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._turn.give_back)

        done.add_done_callback(ended)
        outcome = asyncio.wrap_future(done, loop=loop)
        try:
            # Shielded: a cancelled caller leaves the transaction to end as it would.
            return await asyncio.shield(outcome)
        except asyncio.CancelledError:
            outcome.add_done_callback(_outcome_seen)
            raise

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        with self.engine.connect() as connection, connection.begin():
            return work(connection)

    async def close(self) -> None:
        """Wait for the transaction under way, if any, close the twin's connections (in
        the thread that opened them) and stop the thread; once."""
        if self._closed:
            return
        self._closed = True
        await asyncio.wrap_future(self._thread.submit(self.engine.dispose))
        self._thread.shutdown(wait=True)


def _outcome_seen(outcome: asyncio.Future[Any]) -> None:
    """Nobody awaits a cancelled caller's outcome: its error, if any, is not reported
    again (the transaction was rolled back)."""
    if not outcome.cancelled():
        outcome.exception()


def writer_thread(engine: AsyncEngine) -> WriterThread | None:
    """On a SQLite file: one writer at a time on `engine` (bot.db.one_writer), and the
    thread that runs a transaction under the same turn; None on any other database."""
    if engine.dialect.name != "sqlite":
        return None
    turn = one_writer(engine)
    if sqlite_path(engine.url.render_as_string(hide_password=False)) is None:
        return None  # an in-memory database: a second engine would open another one
    return WriterThread(engine, turn)
