"""However many summaries are asked for at once (several stewards, or one sending many), at
most one chart child (some 80 MB each) is alive at a time in the bot's process: the others
wait their turn, and one that waits too long is posted without its chart, saying so in one
log line. A summary cancelled while it waits, or while its child draws, holds no turn and
leaves no child behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Coop
from bot.outgoing import Answer
from bot.render.chart_input import chart_input
from bot.render.chart_process import ChartSlots
from bot.render.plain import render_plain
from bot.services.context import Context
from bot.services.summaries import weekly_summary
from tests.services.test_summary import _rows
from tests.services.test_summary_chart_child import (
    LOGGER,
    _child,
    _children,
    _until,
    _week_of_work,
    coop_context,
)
from tests.support import invocation

AT_ONCE = 1  # the bot's default (bot.render.chart_process.CHARTS_AT_ONCE)
SUMMARIES = 4
HEADING = "Week 47 (16–22 Nov 2026) at Riverside Co-op"
NO_SLOT = "no chart child slot came free within"


@asynccontextmanager
async def most_children_alive(before: set[int]) -> AsyncIterator[list[int]]:
    """[the most child processes of this test (beyond `before`) seen alive at once], seen by
    looking at /proc every few milliseconds while the block runs (a child lives ~1 s)."""
    most = [0]
    done = asyncio.Event()

    async def look() -> None:
        while not done.is_set():
            most[0] = max(most[0], len(_children() - before))
            await asyncio.sleep(0.005)

    looking = asyncio.create_task(look())
    try:
        yield most
    finally:
        done.set()
        await looking


def _posted_with_or_without_chart(
    shown: list[tuple[str, bool]], caplog: pytest.LogCaptureFixture
) -> None:
    """Every summary posted; each one without its chart said so (it waited too long)."""
    assert len(shown) == SUMMARIES
    assert all(text.startswith(HEADING) and "@bob" in text for text, _ in shown)
    assert any(chart for _, chart in shown)
    said = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert all(NO_SLOT in line and "posted without it" in line for line in said), said
    assert len(said) == sum(not chart for _, chart in shown)


async def test_stewards_asking_at_once_never_run_more_than_one_chart_child(
    core: Core, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    # The command path: on PostgreSQL the summaries run side by side (on SQLite they take
    # turns on the writer lock anyway).
    await _week_of_work(core, clock)
    before = _children()

    async def summary() -> Answer:
        (answer,) = await core.answer(invocation("alice", "!summary"))
        return answer

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with most_children_alive(before) as most:
            answers = await asyncio.gather(*(summary() for _ in range(SUMMARIES)))
    assert 1 <= most[0] <= AT_ONCE, most
    shown = [(render_plain(a.reply), bool(a.reply.attachments)) for a in answers]
    _posted_with_or_without_chart(shown, caplog)
    assert all(
        a.reply.attachments[0].data.startswith(b"\x89PNG") for a in answers if a.reply.attachments
    )
    assert _children() <= before


async def _coop(core: Core) -> Coop:
    async with core.sessions() as session:
        coop: Coop | None = await session.scalar(select(Coop))
    assert coop is not None
    return coop


async def test_scheduled_summaries_at_once_never_run_more_than_one_chart_child(
    core: Core, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    # As the due pass builds its unit of work (with the core's chart children), each in its
    # own transaction: the child is started before the first statement, so that on SQLite
    # too the summaries start their children side by side, as they would without a cap.
    await _week_of_work(core, clock)
    coop = await _coop(core)
    before = _children()

    async def summary() -> tuple[str, bool]:
        async with core.sessions() as session, session.begin():
            ctx = Context(
                session=session,
                clock=core.clock,
                settings=core.settings,
                coop=coop,
                charts=core.charts,
            )
            reply = await weekly_summary(ctx, clock.now())
        return render_plain(reply), bool(reply.attachments)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with most_children_alive(before) as most:
            shown = await asyncio.gather(*(summary() for _ in range(SUMMARIES)))
    assert 1 <= most[0] <= AT_ONCE, most
    _posted_with_or_without_chart(list(shown), caplog)
    assert _children() <= before


def _hanging(fed: Path) -> str:
    """A child that takes its input, says so (the file `fed`), then never answers."""
    return f"import sys, time; sys.stdin.buffer.read(); open({str(fed)!r}, 'w'); time.sleep(120)"


async def _drawing(charts: ChartSlots) -> bytes | None:
    """Another summary's chart, drawn by one of `charts` (outside any transaction: on SQLite
    a summary holds the writer lock while its child draws, and the next one could not
    even begin before it ends)."""
    async with charts.started() as child:
        return await child.draw(chart_input(_rows(3), "Contributions"))


async def test_a_summary_that_gets_no_turn_in_time_is_posted_without_its_chart(
    core: Core, clock: ManualClock, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    fed = tmp_path / "fed"
    charts = ChartSlots(_child(_hanging(fed)), at_once=1, wait=0.2)
    await _week_of_work(core, clock)
    before = _children()
    holding = asyncio.create_task(_drawing(charts))
    await _until(lambda: fed.exists() or holding.done())
    assert not holding.done()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with coop_context(core, charts) as ctx:
            reply = await weekly_summary(ctx, clock.now())
    shown = render_plain(reply)
    assert shown.startswith(HEADING) and "@bob" in shown and "chart attached" not in shown
    assert reply.attachments == ()
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "weekly chart not drawn: no chart child slot came free within 0.2 s (1 at a time);"
        " the summary is posted without it"
    )
    assert len(_children() - before) == 1  # the other one's, still drawing
    holding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holding
    assert _children() <= before


async def test_summaries_cancelled_while_waiting_or_drawing_give_their_turn_back(
    core: Core, clock: ManualClock, tmp_path: Path
) -> None:
    fed = tmp_path / "fed"
    charts = ChartSlots(_child(_hanging(fed)), at_once=1, wait=60.0)
    await _week_of_work(core, clock)
    before = _children()

    async def summary() -> None:
        async with coop_context(core, charts) as ctx:
            await weekly_summary(ctx, clock.now())

    drawing = asyncio.create_task(_drawing(charts))
    await _until(lambda: fed.exists() or drawing.done())
    waiting = asyncio.create_task(summary())
    # Until it waits for its turn (no event says so): the semaphore's queue holds it.
    await _until(lambda: bool(charts._free._waiters) or waiting.done())
    assert not waiting.done() and len(_children() - before) == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert len(_children() - before) == 1  # the waiter started none
    drawing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await drawing
    # The drawing child is killed and reaped, and only then is its turn given back.
    await _until(lambda: not charts._free.locked())
    assert _children() <= before
    # Neither kept a turn: the next child starts at once.
    async with asyncio.timeout(30), charts.started() as child:
        assert child.process is not None
    assert _children() <= before
