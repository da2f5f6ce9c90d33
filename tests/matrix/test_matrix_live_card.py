"""One live card per decision on Matrix: the notice a decision opened with is edited in
place (m.replace) as votes arrive, a burst costs a bounded number of edits, a secret card
shows its turnout and never a choice, and the last edit shows the result. Real clients
against a real Synapse; the pace is measured on the injected clock."""

from __future__ import annotations

from typing import Any, cast

import pytest

from bot.app import Core
from bot.clock import ManualClock
from bot.live import EDITS_PER_WINDOW, WINDOW
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import Person, Predicate
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
