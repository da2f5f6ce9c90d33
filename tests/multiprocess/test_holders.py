"""Electing the process that holds a platform connection, through PostgreSQL: one holder,
standbys that take over within seconds when it closes, dies or loses the database, and
`coopbot check` / /healthz naming who holds what. Each Holders object has its own database
connection, as a process does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.config import load_settings
from bot.holders import Holders, describe, discord_role, holdings, matrix_role
from bot.preflight import Report, check_topology
from bot.supervise import Backoff, Supervisor

MATRIX = matrix_role("@coopbot:example.org")
FAST = {"keepalive_seconds": 0.5, "poll_seconds": 0.1}


async def _until(condition: Callable[[], bool], within: float = 10.0) -> float:
    """Wait (real time) until `condition` holds; returns how long it took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        assert loop.time() - started < within, "the condition never held"
        await asyncio.sleep(0.02)
    return loop.time() - started


async def _cut_off(pg_url: str, name: str) -> int:
    """End the database session of process `name`; returns how many were ended."""
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                f"coopbot {name}",
            )
        )
    finally:
        await admin.close()


@pytest.fixture
async def processes(pg_url: str) -> AsyncIterator[Callable[[str], Holders]]:
    made: list[Holders] = []

    def make(name: str) -> Holders:
        holders = Holders(pg_url, name, **FAST)  # type: ignore[arg-type]
        made.append(holders)
        return holders

    yield make
    for holders in made:
        await holders.close()


async def test_one_process_holds_the_matrix_session_and_a_standby_takes_over(
    pg_url: str, processes: Callable[[str], Holders]
) -> None:
    first, second = processes("bot-a"), processes("bot-b")
    assert await first.claim(MATRIX)
    assert not await second.claim(MATRIX)
    assert not await second.claim(MATRIX)  # asking again changes nothing
    assert describe(await holdings(pg_url)) == {"matrix": "bot-a"}

    stopping = asyncio.Event()
    standby = asyncio.create_task(second.wait_for(MATRIX, stopping))
    await asyncio.sleep(0.3)
    assert not standby.done()
    await first.close()  # the holder stops (or dies: its connection closes)
    assert await asyncio.wait_for(standby, 5)
    assert describe(await holdings(pg_url)) == {"matrix": "bot-b"}
    assert not await first.claim(MATRIX) or not second.holds(MATRIX)


async def test_a_holder_cut_off_from_the_database_gives_up_and_is_replaced(
    pg_url: str, processes: Callable[[str], Holders]
) -> None:
    holder, standby = processes("bot-a"), processes("bot-b")
    assert await holder.claim(MATRIX)
    lost = holder.lost(MATRIX)
    # The database ends the holder's session (a failover, a network cut, an operator).
    assert await _cut_off(pg_url, "bot-a") == 1
    took = await _until(lost.is_set, within=5)
    assert took < 2.0  # within a few keep-alives: it must stop syncing and sending
    assert not holder.holds(MATRIX)
    assert await standby.wait_for(MATRIX, asyncio.Event())
    assert describe(await holdings(pg_url)) == {"matrix": "bot-b"}


async def test_discord_shard_sets_are_held_once_each(
    pg_url: str, processes: Callable[[str], Holders]
) -> None:
    a, b, c = processes("bot-a"), processes("bot-b"), processes("bot-c")
    assert await a.claim(discord_role([0, 1]))
    assert await b.claim(discord_role([2]))
    # A process configured with an overlapping set waits: it takes none of its shards.
    assert not await c.claim(discord_role([1, 2, 3]))
    assert describe(await holdings(pg_url)) == {"discord": {"bot-a": [0, 1], "bot-b": [2]}}
    # The same set as bot-a: a standby for exactly those shards.
    assert not await c.claim(discord_role([0, 1]))
    await a.close()
    assert await asyncio.wait_for(c.wait_for(discord_role([0, 1]), asyncio.Event()), 5)
    assert describe(await holdings(pg_url)) == {"discord": {"bot-b": [2], "bot-c": [0, 1]}}


class _Connection:
    """A stand-in platform connection: runs until stopped, and says whether it was."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self._stop = asyncio.Event()

    async def run(self, core: object) -> None:
        self.log.append(f"{self.name} connected")
        try:
            await self._stop.wait()
        except asyncio.CancelledError:
            self.log.append(f"{self.name} cut off")
            raise
        self.log.append(f"{self.name} stopped")

    async def stop(self) -> None:
        self._stop.set()


async def test_supervisors_keep_one_connection_across_processes(
    processes: Callable[[str], Holders], pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.supervise")
    log: list[str] = []
    a, b = processes("bot-a"), processes("bot-b")
    backoff = Backoff(first=0.05, cap=0.1)
    one = Supervisor("matrix", lambda: _Connection(log, "a"), None, backoff, holders=a, role=MATRIX)
    two = Supervisor("matrix", lambda: _Connection(log, "b"), None, backoff, holders=b, role=MATRIX)
    first = asyncio.create_task(one.run())
    await _until(lambda: log == ["a connected"])
    second = asyncio.create_task(two.run())
    await _until(lambda: two.state == "standby")
    assert one.holding and not two.holding

    # The holder stops (SIGTERM): it lets go, and the standby connects within a poll.
    await one.stop()
    await first
    took = await _until(lambda: log[-1:] == ["b connected"], within=5)
    assert took < 2.0 and log == ["a connected", "a stopped", "b connected"]
    assert "matrix: bot-b now holds matrix" in caplog.text

    # The new holder loses the database: its connection is cut at once, not drained.
    again = Supervisor(
        "matrix", lambda: _Connection(log, "a"), None, backoff, holders=a, role=MATRIX
    )
    third = asyncio.create_task(again.run())  # bot-a comes back, as a standby
    await _until(lambda: again.state == "standby")
    assert await _cut_off(pg_url, "bot-b") == 1
    # (The server freed the lock at once; bot-b notices at its next keep-alive.)
    await _until(lambda: "b cut off" in log and log.count("a connected") == 2, within=5)
    assert "matrix: bot-b lost matrix; stopped syncing and sending" in caplog.text
    await _until(lambda: two.state == "standby")
    assert describe(await holdings(pg_url)) == {"matrix": "bot-a"}
    await again.stop()
    await two.stop()
    await asyncio.gather(second, third)


async def test_a_holder_that_stops_answering_is_replaced_by_the_server(
    pg_url: str, processes: Callable[[str], Holders]
) -> None:
    frozen, standby = processes("bot-a"), processes("bot-b")
    assert await frozen.claim(MATRIX)
    # The holder freezes (a stopped VM, a cut network): it sends no more keep-alives, and
    # the server never hears its connection close.
    assert frozen._beat is not None
    frozen._beat.cancel()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await asyncio.wait_for(standby.wait_for(MATRIX, asyncio.Event()), 10)
    # The server ended the silent session after about 3 keep-alives (0.5 s each here).
    assert loop.time() - started < 5
    assert describe(await holdings(pg_url)) == {"matrix": "bot-b"}


async def test_coopbot_check_says_who_holds_the_session_and_the_shards(
    pg_url: str, processes: Callable[[str], Holders]
) -> None:
    settings = load_settings(
        None,
        database_url=pg_url,
        matrix={"homeserver": "http://localhost:1", "user_id": "@bot:x", "password": "p"},
        discord={"token": "t", "shard_count": 4, "shard_ids": [0, 1]},
    )
    report = Report()
    await check_topology(settings, report)
    assert [f.message for f in report.findings] == [
        "matrix session not held by any process now",
        "discord: no process holds a shard now",
    ]
    a, b = processes("bot-a"), processes("bot-b")
    assert await a.claim(matrix_role("@bot:x")) and await a.claim(discord_role([0, 1]))
    assert await b.claim(discord_role([2, 3]))
    report = Report()
    await check_topology(settings, report)
    assert [f.message for f in report.findings] == [
        "matrix session held by bot-a",
        "discord: bot-a holds shards 0,1; bot-b holds shards 2,3",
    ]
