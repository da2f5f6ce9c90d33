"""Handled messages are remembered for the retention window (a redelivered message stays
ignored) and forgotten after it; links to cards of long-closed decisions go too."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Coop, HandledMessage, PlatformMessage, Vote
from bot.invocation import RoomRef
from bot.render.plain import render_plain
from bot.scheduling import Scheduler
from bot.services import retention
from tests.support import invocation, say, setup_coop

WINDOW = timedelta(days=30)  # the default message_retention_days


async def _handled(core: Core) -> set[str]:
    async with core.sessions() as session:
        return set((await session.scalars(select(HandledMessage.message_id))).all())


async def _votes(core: Core) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Vote)) or 0)


async def test_a_redelivered_message_is_ignored_inside_the_window_and_forgotten_after_it(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Fix the roof closes:60d")
    vote = invocation("bob", "!vote 1 yes", message_id="evt-old-vote")
    (answer,) = await core.handle(vote)
    assert "recorded" in render_plain(answer)

    clock.advance(WINDOW - timedelta(minutes=1))
    await core.handle(invocation("carol", "!vote 1 no", message_id="evt-recent-vote"))
    assert await core.prune_history() == retention.Pruned(handled=0, links=0)
    # Still inside the window: the platform redelivers bob's message, nothing happens.
    assert await core.handle(vote) == []
    assert await _votes(core) == 2

    clock.advance(timedelta(minutes=2))
    pruned = await core.prune_history()
    assert pruned.handled >= 1
    handled = await _handled(core)
    assert "evt-old-vote" not in handled
    assert "evt-recent-vote" in handled  # handled 29 days ago: kept
    clock.advance(WINDOW)
    await core.prune_history()
    assert await _handled(core) == set()


async def test_pruning_works_in_small_batches_until_everything_old_is_gone(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    for index in range(7):
        await core.handle(invocation("alice", "!member list", message_id=f"evt-{index}"))
    clock.advance(WINDOW + timedelta(seconds=1))
    await core.handle(invocation("alice", "!member list", message_id="evt-new"))
    pruned = await retention.prune(core.sessions, clock, WINDOW, batch=2)
    assert pruned.handled == 7 + 3  # and the three setup commands
    assert await _handled(core) == {"evt-new"}


async def test_links_to_cards_of_long_closed_decisions_go_and_the_others_stay(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    matrix_room = RoomRef("matrix", "!workshop:example.org")
    issued = re.search(r"code[^:]*: (\S+)", await say(core, "alice", "!coop code"))
    assert issued is not None
    assert "now bound" in await say(core, "zoe", f"!coop bind {issued.group(1)}", matrix_room)
    await say(core, "alice", "!propose Fix the roof closes:1h")
    await say(core, "alice", "!propose Keep the bees closes:60d")
    async with core.sessions() as session:
        coop_id = await session.scalar(select(Coop.id))
    links = {
        ("discord", "card-1"): ("123", f"decision:{coop_id}:1"),
        ("matrix", "$poll-1"): (matrix_room.room_id, f"decision:{coop_id}:1"),
        ("matrix", "$secret-1"): (matrix_room.room_id, "secret-ballot:1"),
        ("discord", "card-2"): ("123", f"decision:{coop_id}:2"),
        ("discord", "other"): ("123", "something-else:1"),
    }
    for (platform, message_id), (room_id, subject) in links.items():
        await core.link_message(platform, room_id, message_id, subject)

    clock.advance(timedelta(hours=1))
    assert await core.run_due_work() == 1  # #1 closes
    clock.advance(WINDOW - timedelta(minutes=1))
    scheduler = Scheduler(core, clock)
    await scheduler.prune()  # what the hourly job runs
    assert await core.subject_of("discord", "card-1") == f"decision:{coop_id}:1"

    clock.advance(timedelta(minutes=2))  # #1 closed more than the window ago
    await scheduler.prune()
    async with core.sessions() as session:
        left = set((await session.scalars(select(PlatformMessage.message_id))).all())
    # #2 is still open; an unknown subject is never guessed at.
    assert left == {"card-2", "other"}
    assert await core.subject_of("discord", "card-2") == f"decision:{coop_id}:2"
