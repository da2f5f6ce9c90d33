"""Runs the most expensive inputs we know of through Core.handle and reports the CPU time of
each command (SPEC §7: no input may make one command cost more than ~50 ms of CPU).

`python -m bench.worst_inputs` (from the repository, with the test extras installed). The
exit status is 1 when any input's median CPU time is over the budget. CPU time (not wall
time) is measured for the whole process, so the database thread's work counts too."""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.models import Coop
from bot.invocation import Actor, RoomRef, build_invocation
from bot.render.plain import render_plain

ROOM = RoomRef("console", "local")
BUDGET_MS = 50.0
RUNS = 5
MATRIX_EVENT_TEXT = 60_000  # a Matrix message can carry about 64 KB of text
LONGEST_ALLOWED = 8_000  # bot.domain.limits.MESSAGE_MAX: longer is refused before parsing

OPTIONS = [f"{chr(65 + i)}" + "o" * 199 for i in range(20)]


def worst_inputs() -> list[tuple[str, str]]:
    """(who, command text) pairs: hostile numbers, far dates, huge texts, long ballots."""
    far = "9999-12-31 23:59"
    return [
        # Numbers that exact arithmetic would expand (before: minutes to hours of CPU).
        ("alice", "coop settings reserve_share:1e-99999999"),
        ("alice", "coop settings reserve_share:" + "9" * 190),
        ("alice", "coop settings quorum:0." + "3" * 14),
        ("alice", "coop settings max_claims:" + "9" * 190),
        ("alice", "coop settings min_voting_time:999999999w"),
        ("alice", "coop settings colour:" + "x" * 199),
        ("alice", "propose X quorum:1e-99999999"),
        ("alice", "propose X method:supermajority threshold:9999/9999"),
        ("alice", "log 1e99999999 x"),
        ("alice", "log " + "9" * 200 + " x"),
        ("alice", "patronage 1e999999999"),
        ("alice", "patronage 9999999999999.99"),
        ("alice", "kudos @bob points:" + "9" * 200 + " thanks"),
        ("alice", "task add X points:" + "9" * 200),
        ("alice", "tally period:" + "9" * 200),
        ("alice", "vote 2 " + ",".join(f"{chr(65 + i)}=5" for i in range(20))),
        ("alice", "vote 2 A=" + "9" * 900),
        # Dates and durations past the calendar (before: OverflowError).
        ("alice", f'propose X closes:"{far}"'),
        ("alice", f'task add X due:"{far}"'),
        ("alice", "extend 1 99999999d"),
        ("alice", "extend 1 999999999w999999999d"),
        # Long ballots and polls at their bounds.
        ("alice", "vote 3 " + ">".join(OPTIONS[:5])),
        ("alice", "vote 3 " + ">".join("ABCDEFGHIJKLMNOPQRST")),
        ("alice", "vote 3 " + "A>" * 499 + "A"),
        ("alice", 'poll Which? options:"' + " | ".join(OPTIONS) + '" method:ranked'),
        # Text as large as a platform delivers, and hostile characters.
        ("alice", "propose " + '"' * MATRIX_EVENT_TEXT),
        ("alice", "propose X " + "k:v " * (MATRIX_EVENT_TEXT // 4)),
        ("alice", "propose " + "word " * (MATRIX_EVENT_TEXT // 5)),
        ("alice", "help " + "x" * MATRIX_EVENT_TEXT),
        ("alice", "member add @" + "x" * MATRIX_EVENT_TEXT),
        ("alice", "propose " + "\u202e" * MATRIX_EVENT_TEXT),
        ("alice", "propose " + "\u2028" * MATRIX_EVENT_TEXT),
        ("alice", "propose X body:" + '"' + "line\n" * 800 + '"'),
        # Just under the message bound: the parser's own worst cases.
        ("alice", "propose " + '"' * (LONGEST_ALLOWED - 10)),
        ("alice", "propose X " + "k:v " * ((LONGEST_ALLOWED - 12) // 4)),
        ("alice", "propose " + "word " * ((LONGEST_ALLOWED - 10) // 5)),
        ("alice", "propose X reason:" + "'" * (LONGEST_ALLOWED - 20)),
        ("alice", "propose X\x00" + "y" * MATRIX_EVENT_TEXT),
        ("alice", "propose " + "\udce9" * MATRIX_EVENT_TEXT),
        ("alice", "vote 1 no reason:" + "@here " * 83),
        # Reading a hostile value stored by an older release (before: parsed every command).
        ("alice", "coop settings"),
        ("alice", "patronage 1000 period:all"),
        ("alice", "show 1"),
    ]


class Runner:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.n = 0

    async def cpu_ms(self, user: str, text: str) -> tuple[float, str]:
        """CPU milliseconds of one command through Core.handle, and its first reply line."""
        self.n += 1
        inv = build_invocation(ROOM, user, text, f"w{self.n}", is_room_admin=True)
        start = time.process_time()
        replies = await self.core.handle(inv)
        spent = (time.process_time() - start) * 1000
        first = render_plain(replies[0]).splitlines()[0] if replies else "(no reply)"
        return spent, first


async def _prepare(core: Core, runner: Runner) -> None:
    await core.bootstrap_room(ROOM, Actor("console", "alice", "alice", True), "Bench co-op")
    for text in (
        "member add @bob",
        "propose Bench closes:3d",
        'poll Score? options:"' + " | ".join("ABCDEFGHIJKLMNOPQRST") + '" method:score',
        'poll Rank? options:"' + " | ".join(OPTIONS) + '" method:ranked',
        "log 2 work",
        "coop settings timezone:America/New_York",
    ):
        await runner.cpu_ms("alice", text)
    # What an older release let a steward store: re-read on every command since.
    async with core.sessions() as session, session.begin():
        await session.execute(
            update(Coop).values(
                settings={"timezone": "America/New_York", "reserve_share": "1e-99999999"}
            )
        )


async def main(report: Callable[[str], None] = print) -> int:
    # The hostile stored setting is logged on every command; the report is what matters here.
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            None,
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'worst.db'}",
            attachments_dir=str(Path(folder) / "attachments"),
        )
        core = await create_core(settings, ManualClock(datetime(2026, 11, 16, 9, tzinfo=UTC)))
        runner = Runner(core)
        try:
            await _prepare(core, runner)
            rows = []
            for user, text in worst_inputs():
                samples = []
                first = ""
                for _ in range(RUNS):
                    spent, first = await runner.cpu_ms(user, text)
                    samples.append(spent)
                rows.append((statistics.median(samples), max(samples), text, first))
        finally:
            await core.close()
    rows.sort(key=lambda row: row[0], reverse=True)
    report(f"{'median':>8} {'max':>8}  input → first line of the reply")
    for median, most, text, first in rows:
        shown = text if len(text) <= 60 else f"{text[:45]}… ({len(text)} chars)"
        report(f"{median:6.1f}ms {most:6.1f}ms  {shown!r} → {first[:70]}")
    worst = rows[0][0]
    over = [row for row in rows if row[0] > BUDGET_MS]
    report(
        f"worst median {worst:.1f} ms of CPU per command over {len(rows)} inputs "
        f"(budget {BUDGET_MS:.0f} ms): {'OVER BUDGET' if over else 'ok'}"
    )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
