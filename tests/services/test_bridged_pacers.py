"""Every live-card pacer hears of every vote (bot.live_hub): in one process, the pacers of
all running adapters hear each command's answers; across processes on one database, a
pacer hears of a vote another process handled at its next look, once the window has
passed on the injected clock. Observed through the pacers' refresh callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.intents import DecisionRef
from bot.live import WINDOW, LiveCards
from bot.outgoing import Answer
from tests.support import say, setup_coop

pytestmark = pytest.mark.database

DOOR = DecisionRef(coop_id=1, number=1)  # the new database's co-op, its first decision


class Cards:
    """A platform's posted cards, as its pacer refreshes them."""

    def __init__(self, clock: ManualClock) -> None:
        self.refreshed: list[DecisionRef] = []
        self.pacer = LiveCards(self.refresh, clock)

    async def refresh(self, ref: DecisionRef) -> bool:
        self.refreshed.append(ref)
        return True


@pytest.fixture
async def other_process(settings: Settings, clock: ManualClock) -> AsyncIterator[Core]:
    """The core of a second process on the same database (its own hub, its own pacers)."""
    other = await create_core(settings, clock)
    yield other
    await other.close()


async def tick(core: Core, cards: Cards) -> None:
    """One round of the adapter's timer: the hub's look, then the pacer's flush."""
    await core.live_cards.settled()
    await core.live_cards.look()
    await cards.pacer.flush()


async def test_a_vote_on_one_platform_refreshes_the_cards_of_every_running_platform(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    assert "opened" in await say(core, "alice", "!propose Paint the door")
    matrix, discord = Cards(clock), Cards(clock)
    core.live_cards.join(matrix.pacer)
    core.live_cards.join(discord.pacer)

    await say(core, "bob", "!vote 1 yes")  # on whichever platform: one core answers it
    await core.live_cards.settled()  # the pacers hear it off the reply path
    assert matrix.refreshed == discord.refreshed == [DOOR]

    core.live_cards.leave(matrix.pacer)  # its adapter stopped
    await say(core, "carol", "!vote 1 no")
    await core.live_cards.settled()
    assert matrix.refreshed == [DOOR] and discord.refreshed == [DOOR, DOOR]


async def test_a_pacer_that_left_before_its_fan_out_ran_hears_nothing(
    core: Core, clock: ManualClock
) -> None:
    """The vote is answered, its fan-out to the pacers is on its way, and an adapter stops
    (leaves) before it runs: that pacer hears nothing (an edit then would go out on the
    connection its adapter is closing), the pacers still joined hear it."""
    await setup_coop(core)
    assert "opened" in await say(core, "alice", "!propose Paint the door")
    matrix, discord = Cards(clock), Cards(clock)
    core.live_cards.join(matrix.pacer)
    core.live_cards.join(discord.pacer)
    hub_answered = core.live_cards.answered

    def answered_then_matrix_stops(answers: Sequence[Answer]) -> None:
        hub_answered(answers)  # the fan-out task is created, not yet run
        core.live_cards.leave(matrix.pacer)

    core.live_cards.answered = answered_then_matrix_stops  # type: ignore[method-assign]
    await say(core, "bob", "!vote 1 yes")
    await core.live_cards.settled()
    assert matrix.refreshed == [] and discord.refreshed == [DOOR]


async def test_a_vote_another_process_handled_refreshes_the_card_after_the_window(
    core: Core, other_process: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    assert "opened" in await say(core, "alice", "!propose Paint the door")
    cards = Cards(clock)
    core.live_cards.join(cards.pacer)
    await tick(core, cards)  # the first look takes note of the open decisions
    assert cards.refreshed == []

    await say(other_process, "bob", "!vote 1 yes")
    await tick(core, cards)
    assert cards.refreshed == []  # within the window: this process has not looked again

    clock.advance(WINDOW)
    await tick(core, cards)
    assert cards.refreshed == [DOOR]
    clock.advance(WINDOW)
    await tick(core, cards)
    assert cards.refreshed == [DOOR]  # nothing changed since: no edit

    # A changed vote (the same turnout) shows too.
    await say(other_process, "bob", "!vote 1 no")
    clock.advance(WINDOW)
    await tick(core, cards)
    assert cards.refreshed == [DOOR, DOOR]


async def test_the_look_reads_only_open_decisions(
    core: Core, other_process: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    for title in ("Paint the door", "Fix the gate"):
        assert "opened" in await say(core, "alice", f"!propose {title}")
    assert "NO QUORUM" in await say(core, "alice", "!close 2")
    cards = Cards(clock)
    core.live_cards.join(cards.pacer)
    await tick(core, cards)

    await say(other_process, "bob", "!vote 1 yes")
    clock.advance(WINDOW)
    assert await core.live_cards.look() == 1
    await cards.pacer.flush()
    assert cards.refreshed == [DOOR]


async def test_the_reply_is_not_held_for_a_card_edit(core: Core, clock: ManualClock) -> None:
    """A pacer whose edit is slow (the platform rate-limits it) does not hold the vote's
    answer: the pacers hear it once the command has answered."""
    await setup_coop(core)
    assert "opened" in await say(core, "alice", "!propose Paint the door")
    release = asyncio.Event()
    edited: list[DecisionRef] = []

    async def slow_refresh(ref: DecisionRef) -> bool:
        await release.wait()
        edited.append(ref)
        return True

    core.live_cards.join(LiveCards(slow_refresh, clock))
    # Answered while the edit waits (the bound only keeps a regression from hanging).
    assert "yes" in await asyncio.wait_for(say(core, "bob", "!vote 1 yes"), timeout=60)
    assert edited == []
    release.set()
    await core.live_cards.settled()
    assert edited == [DOOR]
