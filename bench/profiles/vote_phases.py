"""Where a vote's time goes, phase by phase (`python -m bench.profiles.vote_phases <url>
[runs]`, on a database seeded at full size: `python -m bench.seed <url> 1.0`): the median
ms of each phase of Core.handle over `runs` new votes, each phase timed by wrapping the
function that does it; `SQL` is the time from each statement's before_cursor_execute to
its after_cursor_execute (the driver and the database, for aiosqlite its thread hop too).
Phases nest (the handler holds the vote's statement and its audit): read them as a tree;
what the transaction holds beyond its phases is the commit and the connection's return.
The database is changed (votes cast): seed afresh, or copy the SQLite file, between runs."""

from __future__ import annotations

import asyncio
import functools
import logging
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.measure import Speaker, _baseline, open_core
from bench.scenarios import scenarios
from bench.seed.plan import Plan


class Phases:
    """Milliseconds spent per phase in the current run."""

    def __init__(self) -> None:
        self.now: dict[str, float] = defaultdict(float)
        self.runs: list[dict[str, float]] = []

    def wrap_async(self, owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        @functools.wraps(inner)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await inner(*args, **kwargs)
            finally:
                self.now[label] += (time.perf_counter() - began) * 1000

        setattr(owner, name, timed)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.now[label] += (time.perf_counter() - began) * 1000

        setattr(owner, name, timed)

    def next_run(self) -> None:
        self.runs.append(dict(self.now))
        self.now.clear()


async def run(url: str, runs: int) -> str:
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot import dispatch
    from bot.commands.args import VoteArgs
    from bot.services import decisions
    from bot.services.context import Context

    logging.disable(logging.WARNING)
    core = await open_core(url)
    speaker = Speaker(core)
    phases = Phases()
    dispatcher = core.dispatcher
    phases.wrap(dispatch, "parse", "parse")
    phases.wrap(dispatch, "checked", "check invocation")
    phases.wrap(dispatch, "authorise", "authorise")
    phases.wrap_async(dispatcher, "_seen", "dedupe insert (SQLite)")
    phases.wrap_async(dispatcher, "_context", "context read")
    phases.wrap_async(dispatcher, "_seen_or_context", "dedupe + context")
    phases.wrap_async(dispatcher, "_run", "transaction (Dispatcher._run)")
    phases.wrap_async(dispatcher, "handle", "Dispatcher.handle")
    phases.wrap_async(decisions, "cast_vote", "  cast_vote")
    phases.wrap_async(decisions, "_store_vote", "    vote statement (+ audit)")
    phases.wrap_async(Context, "audit_now", "      audit insert (SQLite)")
    phases.wrap_async(AsyncSession, "close", "session close")
    handler = dispatcher._handlers[VoteArgs]

    async def timed_handler(ctx: Any, args: Any) -> Any:
        began = time.perf_counter()
        try:
            return await handler(ctx, args)
        finally:
            phases.now["handler (vote)"] += (time.perf_counter() - began) * 1000

    dispatcher._handlers = {**dispatcher._handlers, VoteArgs: timed_handler}
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, *_: object) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *_: object) -> None:
        spent = (time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000
        phases.now["SQL (all statements)"] += spent
        phases.now[f"SQL: {' '.join(statement.split())[:40]}"] += spent

    for engine in core.engines:  # SQLite's writer thread has an engine of its own
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
    try:
        base = (await _baseline(core, speaker, 200))["samples_ms"]
        phases.now.clear()
        found = {s.key: s for s in scenarios(Plan.at(1.0))}
        calls = found["vote_new"].calls[: runs + 1]
        totals = []
        for k, call in enumerate(calls):
            spent, _, _, first, _ = await speaker.say(call.user, call.text)
            assert found["vote_new"].expect in first, first
            phases.now["Core.handle"] = spent
            if k:
                phases.next_run()
                totals.append(spent)
            else:
                phases.now.clear()
    finally:
        await core.close()
    labels = sorted({label for r in phases.runs for label in r}, key=lambda x: x.startswith("SQL"))
    lines = [
        f"bare insert+commit p50 {statistics.median(base):.2f} ms; "
        f"vote (new) p50 {statistics.median(totals):.2f} ms ({len(totals)} runs)"
    ]
    for label in labels:
        median = statistics.median(r.get(label, 0.0) for r in phases.runs)
        lines.append(f"{median:7.3f} ms  {label}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    print(asyncio.run(run(argv[0], int(argv[1]) if len(argv) > 1 else 200)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
