"""Measures the bot's hot paths as ratios to a baseline measured in the same run.

Absolute times depend on the machine; ratios say whether the code adds cost beyond the
unavoidable work (a bare transaction, a plain count). Run with `make bench`."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import polls
from bot.invocation import Actor, Invocation, RoomRef

ROOM = RoomRef("console", "local")
REPEATS = 5


def _best(samples: list[float]) -> float:
    return min(samples)


async def _timed(action: Callable[[], Awaitable[object]], n: int) -> float:
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(n):
            await action()
        runs.append((time.perf_counter() - start) / n)
    return _best(runs)


class Speaker:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.n = 0

    async def say(self, user: str, command: str) -> None:
        self.n += 1
        await self.core.handle(
            Invocation(ROOM, Actor("console", user, user, True), command, f"b{self.n}")
        )


async def command_overhead(core: Core, speaker: Speaker) -> tuple[float, float]:
    """A `vote` command (parse, dedupe, authorise, count, reply) vs a bare write
    transaction on the same database."""

    async def bare() -> None:
        async with core.sessions() as session, session.begin():
            await session.execute(text("UPDATE coops SET name = name WHERE id = 1"))

    async def vote() -> None:
        await speaker.say("bob", "vote 1 yes")

    return await _timed(vote, 50), await _timed(bare, 50)


def ranked_count(ballots: int, options: int) -> tuple[float, float]:
    """Instant-runoff over many ballots vs a single-choice count of the same ballots."""
    rng = random.Random(7)
    ranked = [
        polls.Ballot(polls.PollMethod.RANKED, tuple(rng.sample(range(options), options)))
        for _ in range(ballots)
    ]
    single = [polls.Ballot(polls.PollMethod.SINGLE, (b.picks[0],)) for b in ranked]

    def timed(method: polls.PollMethod, cast: list[polls.Ballot]) -> float:
        runs = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            polls.count_poll(method, options, cast)
            runs.append(time.perf_counter() - start)
        return _best(runs)

    return timed(polls.PollMethod.RANKED, ranked), timed(polls.PollMethod.SINGLE, single)


async def tally_cost(core: Core, speaker: Speaker) -> tuple[float, float]:
    """`tally period:all` over the ledger vs a raw SUM over the same rows."""

    async def raw() -> None:
        async with core.sessions() as session:
            await session.execute(
                text("SELECT member_id, kind, SUM(amount) FROM contributions GROUP BY 1, 2")
            )

    async def tally() -> None:
        await speaker.say("alice", "tally period:all")

    return await _timed(tally, 10), await _timed(raw, 10)


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            None, database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        )
        core = await create_core(settings, ManualClock(datetime(2026, 11, 16, 9, tzinfo=UTC)))
        speaker = Speaker(core)
        await core.bootstrap_room(ROOM, Actor("console", "alice", "alice", True), "Bench co-op")
        for i in range(50):
            await speaker.say("alice", f"member add @m{i}")
        await speaker.say("alice", "member add @bob")
        await speaker.say("alice", "propose Benchmark closes:3d")
        for i in range(50):
            for _ in range(20):
                await speaker.say(f"m{i}", f"log 1.5 work {i}")

        rows = []
        vote, bare = await command_overhead(core, speaker)
        rows.append(("vote command / bare write transaction", vote, bare))
        ranked, single = ranked_count(10_000, 8)
        rows.append(("ranked count / single count (10k ballots, 8 options)", ranked, single))
        tally, raw = await tally_cost(core, speaker)
        rows.append(("tally (51 members, 1000 entries) / raw SUM", tally, raw))
        await core.close()

    print(f"{'measure':58} {'ratio':>8} {'value':>10} {'baseline':>10}")
    for name, value, baseline in rows:
        ratio = value / baseline if baseline else float("inf")
        print(f"{name:58} {ratio:8.1f} {value * 1e3:8.2f}ms {baseline * 1e3:8.2f}ms")


if __name__ == "__main__":
    asyncio.run(main())
