"""`python -m bench.profile <url> "<command>" [member] [runs]`: where one command's time goes
on a seeded database: cProfile of Core.handle, the slowest SQL statements, the top functions.

Seed first (`python -m bench.seed <url> 1.0`); the member defaults to the steward m00000."""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import sys
import time
from typing import Any

from bench.measure import Speaker, open_core


async def profile(url: str, command: str, user: str, runs: int) -> str:
    from sqlalchemy import event

    core = await open_core(url)
    speaker = Speaker(core)
    slow: list[tuple[float, str]] = []
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, *_: object) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *_: object) -> None:
        spent = (time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000
        slow.append((spent, " ".join(statement.split())[:160]))

    for engine in core.engines:  # SQLite's writer thread has an engine of its own
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
    await speaker.say(user, "help")  # connect first
    profiler = cProfile.Profile()
    last = 0
    slow.clear()
    out = io.StringIO()
    try:
        for _ in range(runs):
            before_run = len(slow)
            profiler.enable()
            spent, cpu, statements, first, size = await speaker.say(user, command)
            profiler.disable()
            last = len(slow) - before_run
            out.write(
                f"{spent:.0f} ms wall, {cpu:.0f} ms CPU, {statements} statements, "
                f"{size:,} characters: {first[:90]}\n"
            )
    finally:
        await core.close()
    out.write("\nstatements of the last run (ms, cursor execute only):\n")
    for spent, sql in slow[-last:]:
        out.write(f"{spent:8.1f}  {sql}\n")
    out.write("\nslowest statements (ms, cursor execute only; fetching rows is not in it):\n")
    for spent, sql in sorted(slow, reverse=True)[:8]:
        out.write(f"{spent:8.1f}  {sql}\n")
    out.write("\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"(bot|adapters|sqlalchemy/orm|pydantic)", 35)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    user = argv[2] if len(argv) > 2 else "m00000"
    runs = int(argv[3]) if len(argv) > 3 else 1
    print(asyncio.run(profile(argv[0], argv[1], user, runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
