"""One live card per decision on Matrix: the notice a decision opened with is edited in
place (m.replace) as votes arrive, a burst costs a bounded number of edits, a secret card
shows its turnout and never a choice, and the last edit shows the result. Real clients
against a real Synapse; the pace is measured on the injected clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, cast

import pytest

from bot.app import Core
from bot.clock import ManualClock
from bot.live import EDITS_PER_WINDOW, WINDOW
from tests.matrix.conftest import BotFactory, PersonFactory, RunningBot
from tests.matrix.matrix_people import Person, Predicate, reply_to
from tests.matrix.matrix_story import body, coop_room, matching, sentinel

pytestmark = pytest.mark.synapse


def edit_of(event_id: str, bot_id: str, showing: str = "") -> Predicate:
    """The bot's edit (m.replace) of `event_id` whose new content shows `showing`."""

    def check(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        relates = content.get("m.relates_to", {})
        return (
            event.get("sender") == bot_id
            and relates.get("rel_type") == "m.replace"
            and relates.get("event_id") == event_id
            and showing in str(content.get("m.new_content", {}).get("body", ""))
        )

    return check


async def edits(person: Person, room: str, event_id: str, bot_id: str) -> list[str]:
    """The new bodies of every edit of `event_id`, oldest first."""
    found = await matching(person, room, edit_of(event_id, bot_id))
    return [str(e["content"]["m.new_content"]["body"]) for e in found]


BURST = 12


async def test_a_burst_of_votes_costs_a_bounded_number_of_card_edits(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    clock = cast(ManualClock, core.clock)
    bot = await matrix_bot(core, clock=clock)
    coop = await coop_room(alice, [bob, carol], bot.user_id)
    card = await coop.run(alice, "!propose Paint the door")
    assert "Paint the door" in body(card)

    # bob and carol change their minds back and forth; the last two votes are new choices.
    votes = [
        (bob if n % 2 == 0 else carol, "yes" if n % 4 in (0, 3) else "no") for n in range(BURST - 2)
    ]
    votes += [(bob, "abstain"), (carol, "yes")]
    for person, choice in votes:
        await coop.run(person, f"!vote 1 {choice}")
    await sentinel(alice, coop.room_id, bot.user_id)
    assert len(await edits(alice, coop.room_id, card["event_id"], bot.user_id)) == EDITS_PER_WINDOW

    clock.advance(WINDOW)  # the window lets the card catch up: one edit shows the rest
    final = "yes 1 · no 0 · abstain 1"
    await alice.wait_for(coop.room_id, edit_of(card["event_id"], bot.user_id, final))

    shown = await edits(alice, coop.room_id, card["event_id"], bot.user_id)
    assert len(shown) == EDITS_PER_WINDOW + 1, shown
    print(f"{BURST} votes cost {len(shown)} card edits")


async def test_a_secret_card_shows_its_turnout_and_its_last_edit_the_result(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core, clock=core.clock)
    coop = await coop_room(alice, [bob], bot.user_id)
    card = await coop.run(alice, "!propose Raise the dues secret:yes")

    await coop.run(bob, "!vote 1 no")
    turnout = await alice.wait_for(
        coop.room_id, edit_of(card["event_id"], bot.user_id, "turnout 1/2")
    )
    assert "no 1" not in turnout["content"]["m.new_content"]["body"]  # who voted, never how

    await coop.run(alice, "!close 1")
    shown = await edits(alice, coop.room_id, card["event_id"], bot.user_id)
    assert "REJECTED" in shown[-1], shown[-1]  # bob's no, counted at the close
    assert all("REJECTED" not in s for s in shown[:-1])


VOTERS = 5
CHANGES = 100  # 5 members × 100 votes = a burst of 500 votes
SECONDS_PER_VOTE = timedelta(milliseconds=100)  # the burst lasts 50 s on the bot's clock


def edit_bound(span: timedelta) -> int:
    """At most EDITS_PER_WINDOW edits fall in any WINDOW, so a span of time holds at most
    EDITS_PER_WINDOW × (⌊span / WINDOW⌋ + 1) of them, whatever the number of votes."""
    return EDITS_PER_WINDOW * (span // WINDOW + 1)


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_burst_of_500_votes_costs_at_most_the_edits_its_duration_allows(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice = await people("alice")
    voters = [await people(f"voter{n}") for n in range(VOTERS)]
    clock = cast(ManualClock, core.clock)
    bot = await matrix_bot(core, clock=clock)
    coop = await coop_room(alice, voters, bot.user_id)
    card = await coop.run(alice, "!propose Paint the door closes:3d")
    choices = ("yes", "no", "abstain")
    started = clock.now()

    # Through the real path: each vote is a message in the room, answered by the bot;
    # the bot's clock moves on as the burst goes.
    async def vote(index: int, voter: Person) -> None:
        for change in range(CHANGES):  # each member's votes in order, members at once
            await voter.say(coop.room_id, f"!vote 1 {choices[(change + index) % 3]}")
            clock.advance(SECONDS_PER_VOTE)

    await asyncio.gather(*(vote(index, voter) for index, voter in enumerate(voters)))
    for voter in voters:  # the bot answers each member's messages in order: once this
        asked = await voter.say(coop.room_id, "!help")  # is answered, all their votes are
        await voter.wait_for(coop.room_id, reply_to(asked, bot.user_id), within=240)
    clock.advance(WINDOW)  # the window lets the card catch up with the last votes
    final = "yes 2 · no 2 · abstain 1"
    await alice.wait_for(coop.room_id, edit_of(card["event_id"], bot.user_id, final), within=60)
    span = clock.now() - started

    await sentinel(alice, coop.room_id, bot.user_id)
    shown = await edits(alice, coop.room_id, card["event_id"], bot.user_id)
    assert final in shown[-1], shown[-1]  # the last edit shows where the burst ended
    bound = edit_bound(span)
    print(f"{VOTERS * CHANGES} votes over {span} cost {len(shown)} card edits (bound {bound})")
    assert len(shown) <= bound, (len(shown), bound)


async def test_a_refresh_left_waiting_when_the_holder_dies_is_made_by_the_next_one(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    clock = cast(ManualClock, core.clock)  # stands still: the window never lets a refresh out
    bot = await matrix_bot(core, clock=clock)
    coop = await coop_room(alice, [bob, carol], bot.user_id)
    behind = await coop.run(alice, "!propose Paint the door")
    current = await coop.run(alice, "!propose Fix the gate")
    await coop.run(bob, "!vote 2 yes")
    for choice in ("yes", "no", "yes", "no", "abstain"):
        await coop.run(bob, f"!vote 1 {choice}")
    await coop.run(carol, "!vote 1 no")
    await sentinel(alice, coop.room_id, bot.user_id)
    final = "yes 0 · no 1 · abstain 1"
    shown = await edits(alice, coop.room_id, behind["event_id"], bot.user_id)
    assert len(shown) == EDITS_PER_WINDOW and final not in shown[-1], shown
    before = await edits(alice, coop.room_id, current["event_id"], bot.user_id)
    assert len(before) == 1 and "yes 1" in before[0], before

    # The holder dies with the last refresh waiting (as SIGKILL would: nothing flushed);
    # the next holder, a new adapter on the same account and database, takes over.
    assert bot.task is not None
    bot.task.cancel()
    await asyncio.gather(bot.task, return_exceptions=True)
    bot.task = bot.adapter = None  # gone: nothing of it to stop
    successor = RunningBot(bot.settings, core, clock=clock)
    await successor.start()
    try:
        await alice.wait_for(coop.room_id, edit_of(behind["event_id"], bot.user_id, final))
        await sentinel(alice, coop.room_id, bot.user_id)
        after = await edits(alice, coop.room_id, behind["event_id"], bot.user_id)
        assert len(after) == EDITS_PER_WINDOW + 1, after  # one refresh, no more
        # A card that already showed its decision is not edited again.
        assert await edits(alice, coop.room_id, current["event_id"], bot.user_id) == before
    finally:
        await successor.stop()
