"""The weekly chart is drawn in a short-lived child process, so that the bot's own process
never imports matplotlib (some 50 MB that CPython never gives back; issue 11: ≤ 150 MB
peak). A child that cannot start, fails, crashes, hangs or writes garbage costs the summary
its chart and one log line, nothing more; however the summary ends, no child outlives it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Coop
from bot.render.chart import contributions_chart
from bot.render.chart_input import chart_input
from bot.render.chart_process import ChartChild, ChartSlots
from bot.render.plain import render_plain
from bot.services.context import Context
from bot.services.summaries import gather, weekly_summary
from tests.services.test_summary import _rows
from tests.support import say, setup_coop

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LOGGER = "bot.render.chart_process"
# Monday 23 Nov 2026, 09:30 UTC: the morning after week 47 (16–22 Nov).
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _children() -> set[int]:
    """This process's child processes, zombies included (their parent is still this one);
    a test compares them with those it found at its start (a session's Synapse, say)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == os.getpid():
            found.add(int(entry.name))
    return found


async def _week_of_work(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    clock.set(datetime(2026, 11, 17, 10, 0, tzinfo=UTC))
    assert "Logged" in await say(core, "bob", "!log 11.5 built the gate")
    assert "Logged" in await say(core, "carol", "!log 3 wrote the newsletter")
    assert "kudos" in await say(core, "alice", "!kudos @carol points:2 lovely newsletter")
    clock.set(MONDAY)


@asynccontextmanager
async def coop_context(core: Core, charts: ChartSlots | None = None) -> AsyncIterator[Context]:
    """The scheduled-work unit of work for the (only) co-op, as the due pass builds it (with
    the core's chart children, or `charts`)."""
    async with core.sessions() as session, session.begin():
        coop = await session.scalar(select(Coop))
        yield Context(
            session=session,
            clock=core.clock,
            settings=core.settings,
            coop=coop,
            charts=charts or core.charts,
        )


def _child(code: str, timeout: float = 30.0, max_png: int = 4 * 1024 * 1024) -> ChartChild:
    return ChartChild(argv=(sys.executable, "-c", code), timeout=timeout, max_png=max_png)


# --- the bot's own process -----------------------------------------------------------------

_SUMMARY_WITH_CHART = """
import asyncio, json, sys
from datetime import UTC, datetime
from bot.app import create_core
from bot.clock import ManualClock
from bot.config import load_settings
from tests.support import invocation, say, setup_coop

async def main() -> None:
    clock = ManualClock(datetime(2026, 11, 17, 10, 0, tzinfo=UTC))
    settings = load_settings(None, database_url=sys.argv[1], attachments_dir=sys.argv[2])
    core = await create_core(settings, clock)
    try:
        await setup_coop(core)
        assert "Logged" in await say(core, "bob", "!log 4 painted the fence")
        clock.set(datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
        (answer,) = await core.answer(invocation("alice", "!summary"))
    finally:
        await core.close()
    png = answer.reply.attachments[0].data if answer.reply.attachments else b""
    heavy = ("matplotlib", "numpy", "PIL", "pyparsing")
    print(json.dumps({
        "chart": png.startswith(b"\\x89PNG"),
        "heavy": sorted(m for m in sys.modules if m.split(".")[0] in heavy),
    }))

asyncio.run(main())
"""


def test_the_bot_process_posts_a_summary_with_its_chart_and_never_imports_matplotlib(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _SUMMARY_WITH_CHART,
            f"sqlite+aiosqlite:///{tmp_path}/coopbot.db",
            str(tmp_path / "files"),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"chart": True, "heavy": []}


# --- the same chart ------------------------------------------------------------------------


async def test_the_childs_chart_is_byte_for_byte_the_in_process_drawing(
    core: Core, clock: ManualClock
) -> None:
    before = _children()
    await _week_of_work(core, clock)
    async with coop_context(core) as ctx:
        reply = await weekly_summary(ctx, clock.now())
        data = await gather(ctx, clock.now())
    (chart,) = reply.attachments
    title = f"Contributions — {data.period.label}"
    assert chart.data == contributions_chart(data.contributions, title, data.contributions_total)
    assert _children() <= before


async def test_awkward_names_and_many_members_draw_the_same_in_the_child() -> None:
    rows = _rows(200)
    rows[0].member.name = "cash$money$ and a name far longer than any label"
    rows[1].member.name = 'żółć ★ \\n"quoted"'
    for shown, total in ((rows[:2], None), (rows, None), (rows[:45], 1000), ([], None)):
        async with ChartChild().started() as child:
            png = await child.draw(chart_input(shown, "Contributions — Week 47", total))
        assert png == contributions_chart(shown, "Contributions — Week 47", total)


# --- a child that gives no chart -----------------------------------------------------------

FAILING = {
    "exits with an error": (
        "import sys; sys.stderr.write('Traceback\\nMemoryError: out of memory\\n'); sys.exit(3)",
        "exited with status 3: 'MemoryError: out of memory'",
    ),
    "is killed": ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "status -9"),
    "writes garbage": (
        "import sys; sys.stdin.read(); sys.stdout.write('<html>not a chart</html>')",
        "24 bytes that are not a whole PNG",
    ),
    "writes a cut-off PNG": (
        "import sys; sys.stdout.buffer.write(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(40))",
        "that are not a whole PNG",
    ),
    "writes too much": (
        "import sys; sys.stdout.buffer.write(b'\\x89PNG\\r\\n\\x1a\\n' * 100000)",
        "more than 65536 bytes",
    ),
    "never answers": ("import time; time.sleep(120)", "no chart within 0.5 s"),
    "cannot start": ("", "could not start"),
}


@pytest.mark.parametrize("how", list(FAILING))
async def test_a_child_that_gives_no_chart_costs_the_summary_only_its_chart(
    core: Core, clock: ManualClock, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    code, said = FAILING[how]
    child = _child(code, timeout=0.5, max_png=65536)
    if how == "cannot start":
        child = ChartChild(argv=(str(ROOT / "no-such-python"),))
    before = _children()
    await _week_of_work(core, clock)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with coop_context(core, ChartSlots(child)) as ctx:
            reply = await weekly_summary(ctx, clock.now())
    shown = render_plain(reply)
    assert shown.startswith("Week 47 (16–22 Nov 2026) at Riverside Co-op")
    assert "@bob" in shown and "chart attached" not in shown
    assert reply.attachments == ()
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING
    assert said in record.getMessage(), record.getMessage()
    assert "posted without it" in record.getMessage()
    assert _children() <= before  # killed where needed, and reaped


async def test_a_summary_without_contributions_leaves_no_child(
    core: Core, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    before = _children()
    await setup_coop(core)
    clock.set(MONDAY)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with coop_context(core) as ctx:
            reply = await weekly_summary(ctx, clock.now())
    assert "none logged" in render_plain(reply)
    assert reply.attachments == ()
    assert [r for r in caplog.records if r.name == LOGGER] == []
    assert _children() <= before


async def _until(condition: object, seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def test_a_summary_cancelled_while_its_chart_is_drawn_leaves_no_child_alive(
    core: Core, clock: ManualClock, tmp_path: Path
) -> None:
    fed = tmp_path / "fed"
    # A child that takes its input, says so, and then never answers.
    code = f"import sys, time; sys.stdin.buffer.read(); open({str(fed)!r}, 'w'); time.sleep(120)"
    before = _children()
    await _week_of_work(core, clock)

    async def summary() -> None:
        async with coop_context(core, ChartSlots(_child(code))) as ctx:
            await weekly_summary(ctx, clock.now())

    task = asyncio.create_task(summary())
    await _until(lambda: fed.exists() or task.done())
    assert not task.done() and _children() - before
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _children() <= before


async def test_a_real_child_cancelled_while_it_starts_is_killed_and_reaped() -> None:
    before = _children()

    async def chart() -> bytes | None:
        async with ChartChild().started() as child:
            return await child.draw(chart_input(_rows(40), "Contributions"))

    task = asyncio.create_task(chart())
    await _until(lambda: bool(_children() - before) or task.done())
    assert not task.done()  # matplotlib's import alone takes longer than this
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _children() <= before


# --- what the child itself accepts ---------------------------------------------------------


def _run_child(data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot.render.chart_child"],
        input=data,
        capture_output=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=120,
    )


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"heading": "x", "bars": [["@a", NaN, 0, 0]]}',
        b'{"heading": "x", "bars": [["@a", 1, 0]]}',
        b'{"heading": "x", "bars": [], "extra": 1}',
        json.dumps({"heading": "x", "bars": [["@a", 1, 1, 1]] * 41}).encode(),
        b" " * (64 * 1024 + 1),
    ],
)
def test_the_child_refuses_input_it_will_not_draw(data: bytes) -> None:
    done = _run_child(data)
    assert done.returncode == 2
    assert done.stdout == b""
    assert b"input refused" in done.stderr


def test_the_child_with_no_input_draws_nothing_and_exits() -> None:
    done = _run_child(b"")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


async def test_a_child_that_wrote_more_than_was_read_is_still_reaped() -> None:
    # The caller stopped reading (it had more than it takes, or it never asked for the
    # chart): asyncio pauses the pipe once its buffer is full, and on Python 3.11 reports
    # the exit only when every pipe has closed. The reaping reads the rest: it used to hang.
    before = _children()
    child = _child("import sys; sys.stdout.buffer.write(b'x' * 64 * 1024 * 1024)")
    async with asyncio.timeout(60):
        async with child.started() as running:
            assert running.process is not None and running.process.stdout is not None
            stdout = running.process.stdout
            # Until the pipe is paused (the state this test is about; it has no event):
            # the loop reads the child's output meanwhile.
            while not stdout._paused:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    assert running.process.returncode is not None
    assert _children() <= before
